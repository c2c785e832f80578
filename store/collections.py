"""Typed collections: the only way the rest of Ionbase reads and writes the store.

In the spirit of optimade-python-tools' entry collections and maggma's stores, each collection

* applies **batch visibility** by default: records of uncommitted import batches (pending, failed,
  rolled back) are never seen. Code that must see them (the importer, rollback, the job runner's
  own bookkeeping) asks explicitly with :meth:`Collection.including_pending`, so every such place
  can be found with ``grep including_pending``;
* sends only the **query shapes** the embedded server answers fast and alike (``store.shapes``):
  filters are flattened, pages and counts with ``$or`` run as a union of flat branches;
* reassembles **measurement array chunks** in one place (:meth:`Collection.arrays`).

Writes (insert, replace, update, delete) never filter by visibility: they name their documents.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Iterable, Iterator, TypeVar

import pymongo

from ionbase.store.pacing import WRITE_BATCH, paced
from ionbase.store.shadows import View, apply_view
from ionbase.store.shapes import count_union, find_union

if TYPE_CHECKING:  # pragma: no cover
    from ionbase.store import Store

#: collections whose documents carry the ``batch_id`` of the import that wrote them
BATCHED = ("materials", "routes", "samples", "structures", "measurements", "measurement_arrays", "properties")
#: bookkeeping collections: no batch id, nothing to hide
UNBATCHED = ("import_batches", "import_history", "import_staging", "import_claims", "analysis_runs", "job_items", "api_keys")
NAMES = BATCHED + UNBATCHED

#: documents per bulk write command (store/pacing.py: the embedded server's lock, measured)
WRITE_CHUNK = WRITE_BATCH

Sort = list[tuple[str, int]]
T = TypeVar("T")
_NO_VIEW = View()
#: tries of a whole read on the cached batch states before the last one reads them from the store
_CACHED_TRIES = 2


@dataclass(frozen=True)
class MeasurementArrays:
    """A measurement's arrays, concatenated over its chunks in ``chunk`` order."""

    names: list[str]  # in order of first appearance
    arrays: dict[str, list]
    chunk_ids: list[str]


class Collection:
    """One collection of an open :class:`~ionbase.store.Store`, visibility applied unless opted out."""

    def __init__(self, store: "Store", name: str, *, pending: bool = False) -> None:
        if name not in NAMES:
            raise ValueError(f"unknown collection {name!r}; known: {list(NAMES)}")
        self._store = store
        self.name = name
        self._pending = pending or name in UNBATCHED

    def __repr__(self) -> str:
        return f"Collection({self.name!r}{', including pending batches' if self._pending else ''})"

    @property
    def _coll(self):
        # looked up per call: the store follows an embedded server that moved port (Store.on_unreachable),
        # which replaces ``store.db``; pymongo's collection object is kept for as long as ``db`` is the same
        db = self._store.db
        known = self._store._extra.get(("collection", self.name))
        if known is None or known[0] is not db:
            known = (db, db[self.name])
            self._store._extra[("collection", self.name)] = known
        return known[1]

    def including_pending(self) -> "Collection":
        """The same collection with records of uncommitted batches included (explicit opt-out)."""
        return Collection(self._store, self.name, pending=True)

    def query(self, query: dict | None = None) -> dict:
        """``query`` as sent: flattened, with the committed-batches conditions unless opted out."""
        return self._sent(query, self._view()[0])

    def _view(self, cached: bool = True) -> tuple[View, str | None]:
        if self.name in UNBATCHED:
            return _NO_VIEW, None
        return self._store.view_as_of(cached=cached)

    def _sent(self, query: dict | None, view: View) -> dict:
        return apply_view(view, query, including_pending=self._pending)

    def _whole(self, query: dict | None, run: Callable[[dict, View], T]) -> T:
        """``run(query as sent, view)`` for a read that returns whole: read again
        while a batch changed state meanwhile (store.visibility), so its result never straddles a
        state change. While states keep changing, the last try reads them from the store right
        before its query, as every read did before the token (a long count under a stream of small
        imports is not refused)."""
        for _ in range(_CACHED_TRIES):
            view, token = self._view()
            result = run(self._sent(query, view), view)
            if self._store.unchanged_since(token):
                return result
        view = self._view(cached=False)[0]
        return run(self._sent(query, view), view)

    # ------------------------------------------------------------------ reads

    def find(self, query: dict | None = None, projection: dict | None = None, *, sort: Sort | None = None,
             limit: int = 0, batch_size: int | None = None) -> Iterator[dict]:
        """Matching documents, streamed (optionally sorted and limited)."""
        view = self._view()[0]
        cur = self._coll.find(self._sent(query, view), projection)
        if sort:
            cur = cur.sort(sort)
        if limit:
            cur = cur.limit(limit)
        if batch_size:
            cur = cur.batch_size(batch_size)
        return view.documents(cur) if view.marked else cur

    def find_one(self, query: dict | None = None, projection: dict | None = None) -> dict | None:
        def run(q: dict, view: View) -> dict | None:
            doc = self._coll.find_one(q, projection)
            return view.document(doc) if doc is not None and view.marked else doc
        return self._whole(query, run)

    def get(self, doc_id: str, projection: dict | None = None) -> dict | None:
        """The document with ``_id`` = ``doc_id``, or None."""
        return self.find_one({"_id": str(doc_id)}, projection)

    def by_ids(self, ids: Iterable[str], projection: dict | None = None, chunk: int = 1000) -> Iterator[dict]:
        """Documents whose ``_id`` is in ``ids``, asked for in chunks of ``chunk`` ids."""
        ids = sorted(set(ids))
        for start in range(0, len(ids), chunk):
            yield from self.find({"_id": {"$in": ids[start : start + chunk]}}, projection)

    def page(self, query: dict | None, sort: Sort, limit: int, projection: dict | None = None) -> list[dict]:
        """``find(query).sort(sort).limit(limit)`` as a union of flat branches (store.shapes.find_union)."""
        return self._whole(query, lambda q, view: list(view.documents(find_union(self._coll, q, sort, limit, projection))))

    def count(self, query: dict | None = None) -> int:
        """Number of matching documents (through flat branches where possible)."""
        return self._whole(query, lambda q, view: count_union(self._coll, q))

    def estimated_count(self) -> int:
        """All documents, hidden ones included, from collection metadata (cheap; for 'is it empty')."""
        return self._coll.estimated_document_count()

    def aggregate(self, pipeline: list[dict]) -> list[dict]:
        """Run ``pipeline``, whose first stage must be ``$match``: visibility and flattening go there."""
        if not pipeline or "$match" not in pipeline[0]:
            raise ValueError(f"{self.name}: an aggregation must start with $match, got {pipeline[:1]!r}")
        return self._whole(pipeline[0]["$match"],
                           lambda q, view: list(view.documents(self._coll.aggregate([{"$match": q}, *pipeline[1:]]))))

    def arrays(self, measurement_id: str, names: Iterable[str] | None = None,
               align: str | None = None) -> MeasurementArrays:
        """The measurement's arrays concatenated over its chunks in ``chunk`` order (measurement_arrays only).

        ``names``: only these arrays, each present (empty when no chunk has it). ``align``: within each
        chunk, an array whose length differs from array ``align`` contributes that many nulls, so the
        arrays stay point-aligned (a plot pairs them index by index).
        """
        if self.name != "measurement_arrays":
            raise ValueError(f"arrays() reads measurement_arrays, not {self.name}")
        wanted = list(names) if names is not None else None
        order: list[str] = list(wanted or [])
        arrays: dict[str, list] = {n: [] for n in order}
        chunk_ids: list[str] = []
        for chunk in self.find({"measurement": measurement_id}, {"chunk": 1, "arrays": 1}, sort=[("chunk", 1)]):
            chunk_ids.append(chunk["_id"])
            got = chunk.get("arrays") or {}
            n = len(got.get(align) or []) if align else None
            for name in (wanted if wanted is not None else got):
                values = got.get(name) or []
                if name not in arrays:
                    order.append(name)
                    arrays[name] = []
                arrays[name].extend(values if n is None or len(values) == n else [None] * n)
        return MeasurementArrays(order, arrays, chunk_ids)

    # ------------------------------------------------------------------ writes

    def insert_one(self, doc: dict) -> None:
        self._coll.insert_one(doc)

    def replace_one(self, doc: dict, *, upsert: bool = False) -> int:
        """Replace the document with ``doc["_id"]`` by ``doc`` whole; the number matched."""
        return self._coll.replace_one({"_id": doc["_id"]}, doc, upsert=upsert).matched_count

    def insert_many(self, docs: Iterable[dict], chunk: int = WRITE_CHUNK) -> int:
        """Insert new documents in unordered commands of ``chunk``, paced (store.pacing); the number sent.

        A duplicate ``_id`` raises pymongo's BulkWriteError for that command (earlier ones are written).
        """
        n = 0
        for part in paced(docs, chunk):
            self._coll.insert_many(part, ordered=False)
            n += len(part)
        return n

    def upsert_many(self, docs: Iterable[dict], chunk: int = WRITE_CHUNK) -> int:
        """Replace-or-insert every document by ``_id``, in unordered bulk writes of ``chunk``, paced
        (store.pacing: readers get the embedded server between two commands)."""
        n = 0
        for part in paced(docs, chunk):
            self._coll.bulk_write([pymongo.ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in part], ordered=False)
            n += len(part)
        return n

    def update_one(self, query: dict, fields: dict) -> int:
        """``$set`` ``fields`` on the first match (no booleans: see store.set_fields); the number matched."""
        _no_booleans(self.name, fields)
        return self._coll.update_one(query, {"$set": fields}).matched_count

    def set_fields(self, query: dict, fields: dict) -> int:
        """``$set`` on every match, keeping booleans booleans on every backend (store.set_fields)."""
        from ionbase.store import set_fields

        return set_fields(self._coll, query, fields)

    def delete_many(self, query: dict) -> int:
        """Delete every match (hidden ones included: deletes are never filtered); the number deleted."""
        return self._coll.delete_many(query).deleted_count


def _no_booleans(name: str, fields: dict) -> None:
    bad = sorted(k for k, v in fields.items() if isinstance(v, bool))
    if bad:
        raise ValueError(f"{name}: $set of boolean field(s) {bad} is stored as 0/1 by nx-27017; use set_fields")


__all__ = ["BATCHED", "UNBATCHED", "NAMES", "Collection", "MeasurementArrays"]
