"""The sample records and synthesis steps of a lab table, kept on disk so memory does not grow with the samples.

A samples table of 200,000 rows held as RawRecords, with its steps table held as lists of steps by
label and then as one steps fragment per sample, took about 1.8 KB of RSS per sample (440 MiB at
a million rows) before a single sample was built. Here a file's sample records and steps fragments
(``sample`` and ``sample_steps`` records) are rows of a private temporary SQLite database (deleted
when closed; page cache bounded by :data:`CACHE_KIB`), pickled (an exact round trip) in the order
they were read; the steps rows of its tables wait in a second table until they are joined to
their samples (ingest/tabular.py). What comes back is what was put in, in the same order.
"""

from __future__ import annotations

import pickle
import sqlite3
from typing import Any, Iterator

#: SQLite page cache of a shelf, KiB (the rest lives in its temporary file)
CACHE_KIB = 4 * 1024
#: rows read from the database at a time while iterating
CHUNK = 1000
#: the record kinds a shelf holds
KINDS = ("sample", "sample_steps")


def _dumps(obj: Any) -> bytes:
    return pickle.dumps(obj, pickle.HIGHEST_PROTOCOL)


class RecordShelf:
    """A file's ``sample`` and ``sample_steps`` records in reading order, and its steps rows by label."""

    def __init__(self) -> None:
        # "" = a private on-disk temporary database, deleted when the connection closes
        self._db: sqlite3.Connection | None = sqlite3.connect("", isolation_level=None)
        self._db.execute(f"PRAGMA cache_size = -{CACHE_KIB}")
        self._db.execute("PRAGMA journal_mode = OFF")
        self._db.execute("PRAGMA synchronous = OFF")
        self._db.execute("CREATE TABLE records (seq INTEGER PRIMARY KEY, kind TEXT NOT NULL, rec BLOB NOT NULL)")
        self._db.execute("CREATE TABLE steps (seq INTEGER PRIMARY KEY, label TEXT NOT NULL, ord NOT NULL, "
                         "lineno, step BLOB NOT NULL, issue BLOB)")
        self._db.execute("CREATE INDEX steps_label ON steps (label, ord, seq)")
        self._db.execute("BEGIN")  # never committed: the shelf lives only as long as the import
        self.counts = {k: 0 for k in KINDS}

    @property
    def _sql(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("the record shelf was closed")
        return self._db

    def __len__(self) -> int:
        return sum(self.counts.values())

    # ------------------------------------------------------------ records

    def add(self, rec: Any) -> int:
        """Keep a ``sample`` or ``sample_steps`` record (after the ones added before); its row number."""
        self.counts[rec.kind] += 1
        return self._sql.execute("INSERT INTO records (kind, rec) VALUES (?, ?)", (rec.kind, _dumps(rec))).lastrowid

    def records(self, kind: str) -> Iterator[tuple[int, Any]]:
        """(row number, record) of every record of ``kind``, in the order they were added."""
        last = 0
        while self.counts[kind]:
            rows = self._sql.execute("SELECT seq, rec FROM records WHERE seq > ? AND kind = ? ORDER BY seq LIMIT ?",
                                   (last, kind, CHUNK)).fetchall()
            if not rows:
                return
            for seq, blob in rows:
                last = seq
                yield seq, pickle.loads(blob)

    def get(self, seq: int) -> Any:
        return pickle.loads(self._sql.execute("SELECT rec FROM records WHERE seq = ?", (seq,)).fetchone()[0])

    def replace(self, seq: int, rec: Any) -> None:
        """Store ``rec`` (changed: steps attached) in place of the record of row ``seq``."""
        self._sql.execute("UPDATE records SET rec = ? WHERE seq = ?", (_dumps(rec), seq))

    def clear(self, kind: str) -> None:
        """Drop the records of ``kind`` (they were built)."""
        self._sql.execute("DELETE FROM records WHERE kind = ?", (kind,))
        self.counts[kind] = 0

    # ------------------------------------------------------------ steps rows waiting for their samples

    def add_step(self, label: str, order: Any, step: dict, lineno: int, issue: Any = None) -> None:
        """A steps row: its sample's label, its order, the step, its line, and the issue found checking it."""
        if isinstance(order, int) and not -2**63 <= order < 2**63:
            order = float(order)  # SQLite integers are 64-bit
        self._sql.execute("INSERT INTO steps (label, ord, lineno, step, issue) VALUES (?, ?, ?, ?, ?)",
                        (label, order, lineno, _dumps(step), None if issue is None else _dumps(issue)))

    def step_issues(self) -> Iterator[Any]:
        """The issues of the steps rows, by label in order of first appearance, then row order (the
        order of a dict of lists by label)."""
        for (blob,) in self._sql.execute(
                "SELECT issue FROM (SELECT issue, seq, MIN(seq) OVER (PARTITION BY label) AS first FROM steps) "
                "WHERE issue IS NOT NULL ORDER BY first, seq").fetchall():
            yield pickle.loads(blob)

    def has_steps(self) -> bool:
        return self._sql.execute("SELECT 1 FROM steps LIMIT 1").fetchone() is not None

    def drop_steps(self, label: str) -> None:
        self._sql.execute("DELETE FROM steps WHERE label = ?", (label,))

    def take_steps(self, label: str) -> list[dict]:
        """The steps of ``label`` sorted by their order (rows of one order in row order), removed."""
        rows = self._sql.execute("SELECT step FROM steps WHERE label = ? ORDER BY ord, seq", (label,)).fetchall()
        if rows:
            self.drop_steps(label)
        return [pickle.loads(blob) for (blob,) in rows]

    def first_left(self) -> tuple[str, int] | None:
        """(label, line of its first steps row) of the earliest steps row not taken, or None; take
        that label's steps before asking again."""
        return self._sql.execute("SELECT label, lineno FROM steps ORDER BY seq LIMIT 1").fetchone()

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self.counts = {k: 0 for k in KINDS}
