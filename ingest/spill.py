"""The documents the first pass built, kept for the second pass to write.

The first pass builds and validates every document once. The import hands the documents of the
large collections (samples, properties, measurements, ...) to a writer thread as they are built
(``Spill.early``, ingest/overlap.py); what is left, the small collections' documents the Plan kept
(materials, routes), is appended to an anonymous temporary file, and the second pass replays it
into the batch writer. Without
``early`` (a caller that only plans), every document goes to the file, in build order.

Documents are pickled as built (an exact round trip, and a snapshot: a later change by the builders
to a nested value it shares does not reach it), without the builders' scratch keys (``_name`` other
than ``_id``), which the writer drops anyway (store/batches.py ``_clean``).
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


class Spill:
    """An append-only temporary file of ``(collection, document)`` entries."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile(prefix="ionbase-import-")
        self.documents = 0
        #: when set, entries go to it (pickled) instead of the file: the import writes them while the
        #: first pass runs (ingest/overlap.py)
        self.early: Callable[[bytes], None] | None = None

    def add(self, coll: str, doc: dict) -> None:
        """Keep one built document for the second pass (a Plan sink)."""
        entry = pickle.dumps((coll, stored_fields(doc)), pickle.HIGHEST_PROTOCOL)
        if self.early is not None:
            self.early(entry)
        else:
            self._fh.write(entry)
        self.documents += 1

    def replay(self, sink: Callable[[str, dict], None]) -> None:
        """Send every document kept in the file to ``sink``, in the order it was added."""
        for entry in _entries(self._fh):
            sink(*entry)

    def close(self) -> None:
        """Delete the file (it is anonymous: the system deletes it anyway when the process ends)."""
        self._fh.close()


def _entries(fh) -> Iterator[Any]:
    """The entries of one spill file, from its start."""
    fh.flush()
    fh.seek(0)
    while True:  # one unpickler per entry: each entry was pickled on its own, with its own memo
        try:
            yield pickle.load(fh)
        except EOFError:
            return
