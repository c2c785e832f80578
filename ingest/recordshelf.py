"""The sample records and synthesis steps of a lab table, kept on disk so memory does not grow with the samples.

A samples table of 200,000 rows held as RawRecords, with its steps table held as lists of steps by
label and then as one steps fragment per sample, took about 1.8 KB of RSS per sample (440 MiB at
a million rows) before a single sample was built. Here a file's sample records and steps fragments
(``sample`` and ``sample_steps`` records) are rows of a private temporary SQLite database (deleted
when closed; page cache bounded by :data:`CACHE_KIB`; one per thread, shared by the shelves open in it), pickled (an exact round trip) in the order
they were read; the steps rows of its tables wait in a second table until they are joined to
their samples (ingest/tabular.py). What comes back is what was put in, in the same order.
"""

from __future__ import annotations

import pickle
import sqlite3
import threading
from typing import Any, Iterator, NamedTuple

from ionbase.ingest.spill import scratch_sqlite

#: SQLite page cache of a shelf, KiB (the rest lives in its temporary file)
CACHE_KIB = 4 * 1024
#: rows read from the database at a time while iterating
CHUNK = 1000
#: the record kinds a shelf holds
KINDS = ("sample", "sample_steps")


class TakenSteps(NamedTuple):
    """A sample's steps taken from a shelf: the steps, the (sheet, line) of their rows, and their step
    numbers (None when the table has no step column: they are in row order)."""

    steps: list[dict]
    rows: list[tuple[str | None, int]]
    orders: list[float] | None


def _dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)


class _Shared:
    """The one private temporary database every open shelf of a thread keeps its rows in: a SQLite
    connection with its schema costs about 120 KiB of fixed memory, so a connection per file made an
    import of 8,000 one-sample files peak at 1.2 GB (review finding)."""

    def __init__(self) -> None:
        self.conn = scratch_sqlite(CACHE_KIB)
        self.conn.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, shelf INTEGER NOT NULL, kind TEXT NOT NULL, "
                          "rec BLOB NOT NULL)")
        self.conn.execute("CREATE INDEX records_kind ON records (shelf, kind, seq)")
        self.conn.execute("CREATE TABLE steps (seq INTEGER PRIMARY KEY, shelf INTEGER NOT NULL, label TEXT NOT NULL, "
                          "ord NOT NULL, numbered INTEGER NOT NULL, lineno, sheet, step BLOB NOT NULL, issue BLOB)")
        self.conn.execute("CREATE INDEX steps_label ON steps (shelf, label, ord, seq)")
        self.conn.execute("CREATE INDEX steps_seq ON steps (shelf, seq)")
        self.conn.execute("BEGIN")  # never committed: the rows live only as long as the import
        self.users = 0
        self.last_id = 0


#: this thread's shared database while a shelf of it is open (a SQLite connection stays in its thread)
_LOCAL = threading.local()


def _open_shared() -> tuple[_Shared, int]:
    """This thread's shared database (made when none is open) and a new shelf id in it."""
    shared = getattr(_LOCAL, "shared", None)
    if shared is None:
        shared = _LOCAL.shared = _Shared()
    shared.users += 1
    shared.last_id += 1
    return shared, shared.last_id


class RecordShelf:
    """A file's ``sample`` and ``sample_steps`` records in reading order, and its steps rows by label."""

    def __init__(self) -> None:
        self._shared: _Shared | None
        self._shared, self._id = _open_shared()
        self.counts = {k: 0 for k in KINDS}

    @property
    def _sql(self) -> sqlite3.Connection:
        if self._shared is None:
            raise RuntimeError("the record shelf was closed")
        return self._shared.conn

    def __len__(self) -> int:
        return sum(self.counts.values())

    # ------------------------------------------------------------ records

    def add(self, rec: Any) -> int:
        """Keep a ``sample`` or ``sample_steps`` record (after the ones added before); its row number."""
        self.counts[rec.kind] += 1
        return self._sql.execute("INSERT INTO records (shelf, kind, rec) VALUES (?, ?, ?)", (self._id, rec.kind, _dumps(rec))).lastrowid

    def records(self, kind: str) -> Iterator[tuple[int, Any]]:
        """(row number, record) of every record of ``kind``, in the order they were added."""
        last = 0
        while self.counts[kind]:
            rows = self._sql.execute("SELECT seq, rec FROM records WHERE shelf = ? AND kind = ? AND seq > ? "
                                   "ORDER BY seq LIMIT ?", (self._id, kind, last, CHUNK)).fetchall()
            if not rows:
                return
            for seq, blob in rows:
                last = seq
                yield seq, pickle.loads(blob)

    def get(self, seq: int) -> Any:
        return pickle.loads(self._sql.execute("SELECT rec FROM records WHERE seq = ? AND shelf = ?", (seq, self._id)).fetchone()[0])

    def replace(self, seq: int, rec: Any) -> None:
        """Store ``rec`` (changed: steps attached) in place of the record of row ``seq``."""
        self._sql.execute("UPDATE records SET rec = ? WHERE seq = ? AND shelf = ?", (_dumps(rec), seq, self._id))

    def clear(self, kind: str) -> None:
        """Drop the records of ``kind`` (they were built)."""
        self._sql.execute("DELETE FROM records WHERE shelf = ? AND kind = ?", (self._id, kind))
        self.counts[kind] = 0

    # ------------------------------------------------------------ steps rows waiting for their samples

    def add_step(self, label: str, order: Any, step: dict, lineno: int, issue: Any = None,
                 sheet: str | None = None, numbered: bool = True) -> None:
        """A steps row: its sample's label, its order (its step number, or its line when the table
        numbers no steps: ``numbered`` False), the step, its line (and workbook sheet), and the issue
        found checking it."""
        if isinstance(order, int) and not -2**63 <= order < 2**63:
            order = float(order)  # SQLite integers are 64-bit
        self._sql.execute("INSERT INTO steps (shelf, label, ord, numbered, lineno, sheet, step, issue) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                        (self._id, label, order, int(numbered), lineno, sheet, _dumps(step), None if issue is None else _dumps(issue)))

    def step_rows(self, label: str) -> list[tuple[str | None, int]]:
        """(sheet, line) of every steps row of ``label``, in row order."""
        return self._sql.execute("SELECT sheet, lineno FROM steps WHERE shelf = ? AND label = ? ORDER BY seq",
                                 (self._id, label)).fetchall()

    def step_issues(self) -> Iterator[Any]:
        """The issues of the steps rows, by label in order of first appearance, then row order (the
        order of a dict of lists by label)."""
        for (blob,) in self._sql.execute(
                "SELECT issue FROM (SELECT issue, seq, MIN(seq) OVER (PARTITION BY label) AS first FROM steps WHERE shelf = ?) "
                "WHERE issue IS NOT NULL ORDER BY first, seq", (self._id,)).fetchall():
            yield pickle.loads(blob)

    def repeated_numbers(self) -> list[tuple[int, str, Any, int, int, str | None]]:
        """(row, label, number, line of the number's first row, line, sheet) of every numbered steps row
        (not already refused) whose sample has the same number on an earlier row of the table."""
        return self._sql.execute(
            "SELECT seq, label, ord, first, lineno, sheet FROM (SELECT seq, label, ord, lineno, sheet, "
            "FIRST_VALUE(lineno) OVER w AS first, ROW_NUMBER() OVER w AS n FROM steps "
            "WHERE shelf = ? AND numbered = 1 AND issue IS NULL WINDOW w AS (PARTITION BY label, ord ORDER BY seq)) "
            "WHERE n > 1 ORDER BY seq", (self._id,)).fetchall()

    def refuse_step(self, seq: int, issue: Any) -> None:
        """Give the steps row ``seq`` an issue (:meth:`step_issues`)."""
        self._sql.execute("UPDATE steps SET issue = ? WHERE seq = ?", (_dumps(issue), seq))

    def has_steps(self) -> bool:
        return self._sql.execute("SELECT 1 FROM steps WHERE shelf = ? LIMIT 1", (self._id,)).fetchone() is not None

    def drop_steps(self, label: str) -> None:
        self._sql.execute("DELETE FROM steps WHERE shelf = ? AND label = ?", (self._id, label))

    def take_steps(self, label: str) -> TakenSteps:
        """The steps of ``label`` sorted by their order (rows of one order in row order), removed, with
        the (sheet, line) of their rows and their step numbers (None when the table numbers none)."""
        rows = self._sql.execute("SELECT step, sheet, lineno, ord, numbered FROM steps WHERE shelf = ? AND label = ? "
                                 "ORDER BY ord, seq", (self._id, label)).fetchall()
        if rows:
            self.drop_steps(label)
        numbered = all(row[4] for row in rows)
        return TakenSteps([pickle.loads(row[0]) for row in rows], [(row[1], row[2]) for row in rows],
                          [row[3] for row in rows] if numbered else None)

    def first_left(self) -> tuple[str, int] | None:
        """(label, line of its first steps row) of the earliest steps row not taken, or None; take
        that label's steps before asking again."""
        return self._sql.execute("SELECT label, lineno FROM steps WHERE shelf = ? ORDER BY seq LIMIT 1",
                                 (self._id,)).fetchone()

    def close(self) -> None:
        """Drop this shelf's rows; the last shelf of the thread to close closes the shared database."""
        shared, self._shared = self._shared, None
        self.counts = {k: 0 for k in KINDS}
        if shared is None:
            return
        shared.users -= 1
        if shared.users > 0:
            shared.conn.execute("DELETE FROM records WHERE shelf = ?", (self._id,))
            shared.conn.execute("DELETE FROM steps WHERE shelf = ?", (self._id,))
            return
        shared.conn.close()
        if getattr(_LOCAL, "shared", None) is shared:
            _LOCAL.shared = None
