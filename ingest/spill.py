"""The documents the first pass built, kept in a temporary file for the second pass to write.

The first pass builds and validates every document; instead of building them all again to write
them (which cost as much as the first pass: parsing, unit conversion, validation), it appends each
document of the large collections (properties, measurements, ...) to an anonymous temporary file,
in build order, with the record counts in between for the writing progress bar; then the small
collections' documents the Plan kept (materials, routes, samples), which are written last. The
second pass replays the file into the batch writer: the writer receives exactly the documents, in
the order, that a rebuild would have given it, and the second pass holds no per-sample state.

Documents are pickled as built (an exact round trip), without the builders' scratch keys
(``_name`` other than ``_id``), which the writer drops anyway (store/batches.py ``_clean``).
"""

from __future__ import annotations

import pickle
import tempfile
from typing import Any, Callable, Iterator

from ionbase.schemas.validate import stored_fields


class Spill:
    """An append-only temporary file of ``(collection, document)`` entries and progress ticks."""

    def __init__(self) -> None:
        self._fh = tempfile.TemporaryFile(prefix="ionbase-import-")
        self._ticks = 0
        self.documents = 0

    def add(self, coll: str, doc: dict) -> None:
        """Keep one built document for the second pass (a Plan sink)."""
        self._flush_ticks()
        self._fh.write(pickle.dumps((coll, stored_fields(doc)), pickle.HIGHEST_PROTOCOL))
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
        for entry in self._entries():
            if isinstance(entry, int):
                progress.update(entry)
            else:
                sink(*entry)

    def _entries(self) -> Iterator[Any]:
        self._flush_ticks()
        self._fh.flush()
        self._fh.seek(0)
        while True:  # one unpickler per entry: each entry was pickled on its own, with its own memo
            try:
                yield pickle.load(self._fh)
            except EOFError:
                return

    def close(self) -> None:
        """Delete the file (it is anonymous: the system deletes it anyway when the process ends)."""
        self._fh.close()


class TickingProgress:
    """A progress counter that also records its counts in a spill (the first pass's records, in
    order with its documents)."""

    def __init__(self, progress: Any, spill: Spill) -> None:
        self._progress = progress
        self._spill = spill

    def update(self, n: int = 1) -> None:
        self._progress.update(n)
        self._spill.tick(n)
