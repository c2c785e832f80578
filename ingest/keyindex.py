"""The natural keys a pass over an import has seen, kept on disk so memory does not grow with the rows.

A pass must notice a document id built twice, differently (a natural key defined twice in one
batch): for the small collections the Plan keeps the documents themselves; for the large ones
(properties, measurements, array chunks, structures: one or more per row) it keeps each id with its
content hash and where it was first built. At a million rows those three took about 400 MB in
dicts; here they are rows of a private temporary SQLite database (deleted when closed), whose page
cache is bounded (:data:`CACHE_KIB`), so memory stays flat whatever the size of the import.
"""

from __future__ import annotations

from typing import Any

from ionbase.ingest.spill import scratch_sqlite

#: SQLite page cache of the index, KiB (the rest of the index lives in its temporary file)
CACHE_KIB = 16 * 1024


class KeyIndex:
    """Document id -> (content hash, file, row) of its first definition in the pass."""

    def __init__(self) -> None:
        self._db = scratch_sqlite(CACHE_KIB)
        self._db.execute("CREATE TABLE keys (id PRIMARY KEY, hash, file, row) WITHOUT ROWID")
        self._db.execute("BEGIN")  # never committed: the index lives only as long as the pass

    def first(self, doc_id: Any, content_hash: str | None, where: tuple[str, Any]) -> tuple[str | None, str, Any] | None:
        """Record ``doc_id`` as built at ``where`` with ``content_hash``: None if it is new, else the
        (content hash, file, row) of its first definition (which stays recorded)."""
        if self._db.execute("INSERT OR IGNORE INTO keys VALUES (?, ?, ?, ?)",
                            (doc_id, content_hash, where[0], where[1])).rowcount == 1:
            return None
        return self._db.execute("SELECT hash, file, row FROM keys WHERE id = ?", (doc_id,)).fetchone()

    def seen(self, doc_id: Any) -> bool:
        """Whether the pass has built ``doc_id``."""
        return self._db.execute("SELECT 1 FROM keys WHERE id = ?", (doc_id,)).fetchone() is not None

    def close(self) -> None:
        self._db.close()
