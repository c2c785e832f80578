"""The OPTIMADE entries (structures, references) materialised from the store, and queries over them.

Entries are rebuilt from the structure results, their samples, the samples' conductivity and
activation-energy properties and the sources' DOIs (all read through the store's typed collections,
so uncommitted batches stay hidden). Filters are parsed with the ``optimade`` package's grammar and
``MongoTransformer`` and evaluated by mongomock on the materialised entries: the embedded nx-27017
server lacks ``$not`` and ``$size`` (tests/conformance), which OPTIMADE's ``NOT`` and ``LENGTH``
need, so the entries are not queried on the server. Built per request: the store holds thousands of
structure results at most, a few milliseconds each.
"""

from __future__ import annotations

import re
from collections import defaultdict

from ionbase.errors import BadFilter
from ionbase.service.export.cells import exportable, ionic_or_not_a_fit, priority, temperature_key
from ionbase.service.optimade.mapper import structure_entry

_PROPS = ("ionic_conductivity", "activation_energy")
#: qualifiers of a point value: a bound or a range midpoint is not a value for a plain OPTIMADE field
#: (OPTIMADE has no qualifier; ``_ionbase_*_qualifier`` says which of these two a value is)
POINT_QUALIFIERS = (None, "exact", "approximate")


def reference_id(doi: str) -> str:
    return "doi-" + re.sub(r"[^A-Za-z0-9.]+", "-", doi).strip("-").lower()


def _field_of(doc: dict) -> str | None:
    """The provider field a property may fill, or None.

    Only exportable point values (exact or approximate, never a bound or range midpoint); the
    conductivity only at 25 °C; the activation energy only of ionic transport (``cells.ionic_or_not_a_fit``:
    an electronic or total fit, or one whose carrier is unknown, fills nothing)."""
    if not exportable(doc) or doc.get("qualifier") not in POINT_QUALIFIERS:
        return None
    if doc["name"] == "ionic_conductivity":
        return "ionic_conductivity_25c" if temperature_key(doc) == 25.0 else None
    return "activation_energy" if ionic_or_not_a_fit(doc) else None


def _best_by_sample(store, sample_ids: list[str]) -> dict[str, dict[str, dict]]:
    """sample id -> {"ionic_conductivity_25c": doc, "activation_energy": doc}, best by the export's rule."""
    best: dict[str, dict[str, dict]] = defaultdict(dict)
    if not sample_ids:
        return best
    docs = store.properties.find({"name": {"$in": list(_PROPS)}, "sample": {"$in": sample_ids}})
    for doc in docs:
        key = _field_of(doc)
        if key is None:
            continue
        slot = best[doc["sample"]]
        if key not in slot or priority(doc) < priority(slot[key]):
            slot[key] = doc
    return best


def build_entries(store) -> tuple[list[dict], list[dict]]:
    """(structure entries, reference entries) as flat documents with ``id`` and ``type``."""
    structures = list(store.structures.find({}, sort=[("_id", 1)]))
    sample_ids = sorted({d["sample"] for d in structures})
    samples = {s["_id"]: s for s in store.samples.by_ids(sample_ids)}
    best = _best_by_sample(store, sample_ids)
    refs: dict[str, dict] = {}
    entries = []
    for doc in structures:
        src = doc.get("source") or {}
        ref_ids = []
        if src.get("doi"):
            rid = reference_id(src["doi"])
            ref_ids.append(rid)
            ref = refs.setdefault(rid, {"id": rid, "type": "references", "doi": src["doi"], "bib_type": "article",
                                        "url": f"https://doi.org/{src['doi']}", "title": src.get("title"),
                                        "note": src.get("citation"), "last_modified": None})
            if doc.get("updated_at") and (ref["last_modified"] is None or doc["updated_at"] > ref["last_modified"]):
                ref["last_modified"] = doc["updated_at"]
        for i in range(len(doc.get("phases") or [])):
            entries.append(structure_entry(doc, i, samples.get(doc["sample"]), best.get(doc["sample"], {}), ref_ids))
    return entries, sorted(refs.values(), key=lambda r: r["id"])


class EntryQuery:
    """Filter, sort and page a list of flat entry documents (mongomock evaluates the filter)."""

    def __init__(self, docs: list[dict]):
        import mongomock

        self._coll = mongomock.MongoClient()["optimade"]["entries"]  # in memory, not the store
        if docs:
            self._coll.insert_many([{**d, "_id": d["id"]} for d in docs])

    def run(self, query: dict, sort: list[tuple[str, int]], offset: int, limit: int) -> tuple[list[dict], int]:
        """(one page of documents, number matching)."""
        try:
            total = self._coll.count_documents(query)
            cursor = self._coll.find(query)
            if sort:
                cursor = cursor.sort(sort)
            docs = list(cursor.skip(offset).limit(limit))
        except Exception as exc:  # mongomock refuses some operator/value combinations
            raise BadFilter(f"the filter cannot be evaluated: {exc}") from None
        for d in docs:
            d.pop("_id", None)
        return docs, total
