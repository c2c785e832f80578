"""The samples a pass over an import has built, kept on disk so memory does not grow with the samples.

Every record that hangs off a sample (a property, a measurement, a structure) needs its sample
document (and the sample's material and route summary) to be denormalised; a sample's route needs
its parent's. Held in dicts, the built samples, their records and the parent order took about
3 KB per sample (over 600 MB at 200,000 samples). Here each sample is a row of a private temporary
SQLite database (deleted when closed; page cache bounded by :data:`CACHE_KIB`): its key
(source key, label), its parent's label, where its record came from, the record and the document
(pickled, an exact round trip), and whether its route resolved. A small LRU cache
(:data:`CACHE_SAMPLES`) serves the usual order of a lab table, where a sample's rows follow each other.

Materials are not copied into every sample's row: a sample refers to its material by id, resolved
through the ``materials`` mapping given (the pass's materials, kept whole: one per formula). A
sample whose material is not that mapping's object (a formula defined twice, differently) keeps
its own copy, so what comes back is always what was built.
"""

from __future__ import annotations

import pickle
from collections import OrderedDict
from typing import Any, Iterator

from ionbase.ingest.spill import scratch_sqlite

#: SQLite page cache of the book, KiB (the rest lives in its temporary file)
CACHE_KIB = 16 * 1024
#: resolved samples kept in memory (least recently used dropped first)
CACHE_SAMPLES = 512
#: how deep a chain of parents within the batch is followed (as parents_first did)
MAX_DEPTH = 1000
#: row states: built (its route not yet resolved), handed out in parents-first order
BUILT, ORDERED = 0, 1


class SampleBook:
    """(source key, label) -> the sample built for it, its record, and whether its route resolved."""

    def __init__(self, materials: dict[str, dict]) -> None:
        self._materials = materials  # material id -> material document (the pass's, kept whole)
        self._db = scratch_sqlite(CACHE_KIB)
        self._db.execute("CREATE TABLE samples (seq INTEGER PRIMARY KEY, skey TEXT NOT NULL, label TEXT NOT NULL, "
                         "parent TEXT, state INTEGER NOT NULL, ok INTEGER NOT NULL, origin BLOB, doc BLOB, "
                         "hash TEXT, stored INTEGER NOT NULL DEFAULT 0, stored_hash TEXT, stored_material TEXT, children INTEGER)")
        self._db.execute("CREATE UNIQUE INDEX samples_key ON samples (skey, label)")
        self._db.execute("BEGIN")  # never committed: the book lives only as long as the pass
        self._cache: OrderedDict[tuple[str, str], dict | None] = OrderedDict()

    # ------------------------------------------------------------ documents in and out

    def _dump(self, smp: dict, key: str) -> bytes:
        """The document pickled, its material (under ``key``) replaced by its id when the pass keeps it."""
        mat = smp.get(key)
        if mat is not None and self._materials.get(mat.get("_id")) is mat:
            smp = {**smp, key: None, "_mat_id": mat["_id"]}
        return pickle.dumps(smp, pickle.HIGHEST_PROTOCOL)

    def _load(self, blob: bytes, key: str) -> dict:
        smp = pickle.loads(blob)
        mat_id = smp.pop("_mat_id", None)
        if mat_id is not None:
            smp[key] = self._materials[mat_id]
        return smp

    def add(self, origin: Any, smp: dict, stored: dict | None = None) -> bool:
        """Keep a built sample (its material under ``_material``) and where it came from (``origin``,
        e.g. the file's index and the record); False if its key was added before. ``stored``: its
        committed document, when the batch adopted it from the store (:meth:`note_stored`)."""
        cur = self._db.execute("INSERT OR IGNORE INTO samples (skey, label, parent, state, ok, origin, doc, stored, "
                               "stored_hash, stored_material) VALUES (?, ?, ?, ?, 0, ?, ?, ?, ?, ?)",
                               (smp["source_key"], smp["label"], smp.get("_parent_ref"), BUILT,
                                pickle.dumps(origin, pickle.HIGHEST_PROTOCOL), self._dump(smp, "_material"),
                                int(stored is not None), (stored or {}).get("content_hash"), (stored or {}).get("material")))
        return cur.rowcount == 1

    def resolved(self, seq: int, smp: dict) -> None:
        """Record that the sample of row ``seq`` got its route: ``smp`` is its final document
        (its material under ``_mat``), what :meth:`find` returns from now on."""
        self._db.execute("UPDATE samples SET ok = 1, origin = NULL, doc = ?, hash = ? WHERE seq = ?",
                         (self._dump(smp, "_mat"), smp.get("content_hash"), seq))
        self._cache.pop((smp["source_key"], smp["label"]), None)

    def state(self, skey: str, label: str) -> str | None:
        """None (not in the book), "ok" (its route resolved), "waiting" (not yet handed out by
        :meth:`parents_first`: met again while ordering its descendants, a cycle) or "refused"."""
        row = self._db.execute("SELECT state, ok FROM samples WHERE skey = ? AND label = ?", (skey, label)).fetchone()
        if row is None:
            return None
        return "ok" if row[1] else "waiting" if row[0] == BUILT else "refused"

    def note_stored(self, seq: int, content_hash: str | None, material: str | None, children: int) -> None:
        """Record that the sample of row ``seq`` is committed in the store, with this content hash,
        material and number of committed children (ingest/cascade.py: its stored copies are derived
        again when it changes, and the import checks no child was added meanwhile)."""
        self._db.execute("UPDATE samples SET stored = 1, stored_hash = ?, stored_material = ?, children = ? WHERE seq = ?",
                         (content_hash, material, children, seq))

    def changed_stored(self, materials: set[str], after: int = 0, limit: int = 1000) -> list[tuple[int, str, str, int]]:
        """(row, source key, label, committed children) of the samples after row ``after`` that are
        stored and resolved with another content hash than stored, or whose stored material is in
        ``materials``."""
        marks = ",".join("?" * len(materials))
        moved = f" OR stored_material IN ({marks})" if materials else ""
        return self._db.execute(f"SELECT seq, skey, label, children FROM samples WHERE seq > ? AND stored = 1 AND ok = 1 "
                                f"AND (hash IS NOT stored_hash{moved}) ORDER BY seq LIMIT ?",
                                (after, *sorted(materials), limit)).fetchall()

    def find(self, skey: str, label: str) -> tuple[bool, dict | None]:
        """(built in this pass, its final document if its route resolved else None)."""
        key = (skey, label)
        if key in self._cache:
            self._cache.move_to_end(key)
            return True, self._cache[key]
        row = self._db.execute("SELECT ok, doc FROM samples WHERE skey = ? AND label = ?", key).fetchone()
        if row is None:
            return False, None
        doc = self._load(row[1], "_mat") if row[0] else None
        self._cache[key] = doc
        if len(self._cache) > CACHE_SAMPLES:
            self._cache.popitem(last=False)
        return True, doc

    def keys_after(self, seq: int, limit: int = 1000) -> list[tuple[int, str, str]]:
        """(row, source key, label) of the samples added after row ``seq``, in the order added: a
        walk in chunks sees the samples added during it too (ingest/cascade.py adopts descendants so)."""
        return self._db.execute("SELECT seq, skey, label FROM samples WHERE seq > ? ORDER BY seq LIMIT ?",
                                (seq, limit)).fetchall()

    # ------------------------------------------------------------ parents first

    def parents_first(self) -> Iterator[tuple[int, Any, dict]]:
        """Every sample added, as (row, origin, document with ``_material``), a parent in the batch
        before its children (a cycle is broken where it closes; the route pass reports it)."""
        last = 0
        while True:
            rows = self._db.execute("SELECT seq FROM samples WHERE seq > ? AND state = ? ORDER BY seq LIMIT 1000",
                                    (last, BUILT)).fetchall()
            if not rows:
                return
            for (seq,) in rows:
                last = seq
                for s in reversed(self._chain(seq)):
                    row = self._db.execute("SELECT state, origin, doc FROM samples WHERE seq = ?", (s,)).fetchone()
                    if row[0] != BUILT:
                        continue
                    self._db.execute("UPDATE samples SET state = ? WHERE seq = ?", (ORDERED, s))
                    yield s, pickle.loads(row[1]), self._load(row[2], "_material")

    def _chain(self, seq: int) -> list[int]:
        """``seq`` and its ancestors within the batch not yet handed out, child first."""
        chain = [seq]
        skey, parent = self._db.execute("SELECT skey, parent FROM samples WHERE seq = ?", (seq,)).fetchone()
        while parent is not None and len(chain) <= MAX_DEPTH:
            row = self._db.execute("SELECT seq, parent, state FROM samples WHERE skey = ? AND label = ?",
                                   (skey, parent)).fetchone()
            if row is None or row[2] != BUILT or row[0] in chain:
                break
            chain.append(row[0])
            parent = row[1]
        return chain

    def close(self) -> None:
        self._db.close()
        self._cache.clear()
