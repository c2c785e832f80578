"""The documents the first pass built, kept in a temporary file for the second pass to write.

The first pass builds and validates every document; instead of building them all again to write
them (which cost as much as the first pass: parsing, unit conversion, validation), it appends each
document of the large collections (properties, measurements, ...) to an anonymous temporary file,
in build order, with the record counts in between for the writing progress bar; then the small
collections' documents the Plan kept (materials, routes); the samples, built before the records
that hang off them, go to a second file written after the first (samples are written last). The
second pass replays the file into the batch writer: the writer receives exactly the documents, in
the order, that a rebuild would have given it, and the second pass holds no per-sample state.

Documents are pickled as built (an exact round trip), without the builders' scratch keys
(``_name`` other than ``_id``), which the writer drops anyway (store/batches.py ``_clean``).
"""

from __future__ import annotations

import pickle
import sqlite3
import tempfile
from typing import Any, Callable, Iterator

from ionbase.schemas.validate import stored_fields


def scratch_sqlite(cache_kib: int | None = None) -> sqlite3.Connection:
    """A private on-disk temporary SQLite database, deleted when its connection closes, without journal
    or fsync (it is never committed and lives only as long as the pass): the first pass's disk-backed
    structures (sample book, key index, record shelves, sample targets) keep memory flat with it."""
    conn = sqlite3.connect("", isolation_level=None)  # "": private, temporary, on disk
    if cache_kib is not None:
        conn.execute(f"PRAGMA cache_size = -{cache_kib}")
    conn.execute("PRAGMA journal_mode = OFF")
    conn.execute("PRAGMA synchronous = OFF")
    return conn


#: collections whose documents are replayed after all others (from a second file)
LAST = ("samples",)


class Spill:
    """An append-only temporary file of ``(collection, document)`` entries and progress ticks (and
    a second one for the collections written last, :data:`LAST`)."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile(prefix="ionbase-import-")
        self._last = tempfile.TemporaryFile(prefix="ionbase-import-last-")
        self._ticks = 0
        self.documents = 0

    def add(self, coll: str, doc: dict) -> None:
        """Keep one built document for the second pass (a Plan sink)."""
        entry = pickle.dumps((coll, stored_fields(doc)), pickle.HIGHEST_PROTOCOL)
        if coll in LAST:
            self._last.write(entry)
        else:
            self._flush_ticks()
            self._fh.write(entry)
        self.documents += 1

    def tick(self, n: int = 1) -> None:
        """Count ``n`` records done (replayed to the writing progress bar between the documents)."""
        self._ticks += n

    def _flush_ticks(self) -> None:
        if self._ticks:
            self._fh.write(pickle.dumps(self._ticks, pickle.HIGHEST_PROTOCOL))
            self._ticks = 0

    def replay(self, sink: Callable[[str, dict], None], progress: Any) -> None:
        """Send every document to ``sink`` in the order it was added, and the record counts to
        ``progress.update`` at the points they were counted."""
        self._flush_ticks()
        for fh in (self._fh, self._last):
            for entry in _entries(fh):
                if isinstance(entry, int):
                    progress.update(entry)
                else:
                    sink(*entry)

    def close(self) -> None:
        """Delete the files (they are anonymous: the system deletes them anyway when the process ends)."""
        self._fh.close()
        self._last.close()


def _entries(fh) -> Iterator[Any]:
    """The entries of one spill file, from its start."""
    fh.flush()
    fh.seek(0)
    while True:  # one unpickler per entry: each entry was pickled on its own, with its own memo
        try:
            yield pickle.load(fh)
        except EOFError:
            return


class TickingProgress:
    """A progress counter that also records its counts in a spill (the first pass's records, in
    order with its documents)."""

    def __init__(self, progress: Any, spill: Spill) -> None:
        self._progress = progress
        self._spill = spill

    def update(self, n: int = 1) -> None:
        self._progress.update(n)
        self._spill.tick(n)
