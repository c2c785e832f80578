"""Derive again, inside the batch, what the store copied from the samples and materials it changes.

A sample's route is its parent's steps followed by its own (adapt_samples.route_for), and every
property copies its sample's route summary (``synthesis``), label, doi and its material's formula,
family and series (schemas.build.denormalize). Until 2026-12-03 those copies were made only when the
record itself was imported: importing a parent again with its anneal fixed left the children and
grandchildren imported earlier with the old route (or ``route_unknown``), and left every property
not in the new files with the old ``synthesis``, with no error. Now the batch that changes them
derives them again, so all of it becomes visible at its commit point, or none of it:

1. :func:`adopt` (before the routes are built): every committed descendant of a sample of the
   batch, and every committed sample of a material the batch changes, that the batch does not
   import itself, joins the batch's sample book as built from its stored document (its own steps,
   parent and material: adapt_samples.as_built). The route pass derives its route from its
   parent's like any other sample's; one that comes out as stored is not written.
2. :func:`rederive_properties` (after the batch's own records): the committed properties of every
   sample whose stored document changes, or whose material changes, are built again with the
   sample's new fields, unless the batch imports them itself.

Each document derived again is written as derived from the version read here (its content hash in
``Plan.bases``): the writer refuses the import, naming it, when another import changed or removed
it meanwhile (store/batches.Writer), rather than overwrite that change with the values read here.
"""

from __future__ import annotations

from collections import Counter
from typing import TYPE_CHECKING, Iterable

from ionbase.errors import ImportConflict
from ionbase.ingest.adapt_samples import as_built
from ionbase.ingest.errors import Issue
from ionbase.ingest.loaders import RawRecord
from ionbase.schemas import build as B
from ionbase.schemas.validate import stored_fields
from ionbase.store.pacing import paced

if TYPE_CHECKING:
    from ionbase.ingest.passes import BuildPass

#: ids per query to the store
CHUNK = 1000
#: the origin's file index of a sample adopted from the store (BuildPass._routes)
STORED = -1
#: where a document derived again is said to come from (Plan.add)
WHERE = ("store", None)
#: what a property copies from its sample and material (schemas.build.denormalize) or the writer sets
PROPERTY_COPIES = frozenset({"sample", "sample_label", "material_id", "formula", "reduced_formula", "elements",
                             "nelements", "family", "series_name", "series_value", "components",
                             "component_formulas", "component_keys", "doi", "synthesis", "content_hash",
                             "batch_id", "updated_at", "shadow_batch", "superseded_by"})


def _chunks(items: list) -> Iterable[list]:
    """Lists of at most CHUNK ids, one query each (store.pacing.paced, without pauses: reads)."""
    return paced(items, CHUNK, pause_s=0.0)


def stored_record(stored: dict) -> RawRecord:
    """The origin record of an adopted sample: its stored document, to tell whether it changes (and
    to stand for it, unchanged, when its parent in the batch is refused)."""
    return RawRecord(kind="sample", data=stored_fields(stored), row=None,
                     ref=f"stored sample {stored['label']!r} ({stored['_id']})")


def changed_materials(bp: "BuildPass") -> set[str]:
    """Ids of the committed materials this batch writes with other content."""
    mats = bp.plan.docs["materials"]
    out: set[str] = set()
    for part in _chunks(sorted(mats)):
        for d in bp.store.materials.find({"_id": {"$in": part}}, {"content_hash": 1}):
            if d.get("content_hash") != mats[d["_id"]].get("content_hash"):
                out.add(d["_id"])
    return out


def adopt(bp: "BuildPass", materials: set[str]) -> int:
    """Add to the sample book the committed samples whose route or copies this batch may change (see
    the module's docstring): the samples of ``materials``, then every descendant of a sample in the
    book, the adopted ones included. Returns how many were adopted."""
    n = 0
    counts = bp.plan.seen_counts["material"]
    for part in _chunks(sorted(materials)):
        found = list(bp.store.samples.find({"material": {"$in": part}}))
        counts.update(dict.fromkeys(part, 0))
        counts.update(Counter(d["material"] for d in found))
        n += _adopt(bp, found)
    seq = 0
    while rows := bp.samples.keys_after(seq, CHUNK):
        seq = rows[-1][0]
        seqs = {B.sample_id(skey, label): s for s, skey, label in rows}
        # only a stored sample can have stored children (looked up by id first: much faster on nx-27017
        # than by parent, and a new sample, the usual case in a large import, needs no second query)
        stored = list(bp.store.samples.find({"_id": {"$in": list(seqs)}}, {"content_hash": 1, "material": 1}))
        if not stored:
            continue
        children = list(bp.store.samples.find({"parent": {"$in": [d["_id"] for d in stored]}}))
        per_parent = Counter(d["parent"] for d in children)
        for d in stored:
            bp.samples.note_stored(seqs[d["_id"]], d.get("content_hash"), d.get("material"), per_parent[d["_id"]])
        n += _adopt(bp, children)
    return n


def _adopt(bp: "BuildPass", stored: list[dict]) -> int:
    """Add the stored samples the book does not hold yet; how many were added."""
    pids = sorted({d["parent"] for d in stored if d.get("parent")})
    labels = {}
    for part in _chunks(pids):
        labels.update((p["_id"], p["label"]) for p in bp.store.samples.find({"_id": {"$in": part}}, {"label": 1}))
    n = 0
    for doc in stored:
        rec = stored_record(doc)
        mat = _material(bp, doc["material"])
        parent_label = labels.get(doc.get("parent"))
        if mat is None or (doc.get("parent") and parent_label is None):
            what = f"material {doc['material']}" if mat is None else f"parent {doc['parent']}"
            bp.report.errors.append(Issue("store", f"its {what} is not in the store: its route and copies "
                                          "cannot be derived again", record=rec.ref))
            continue
        n += bp.samples.add((STORED, rec), as_built(doc, parent_label, mat), stored=doc)
    return n


def _material(bp: "BuildPass", mid: str) -> dict | None:
    """The material as this batch writes it, else as committed (kept in ``plan.reused``)."""
    mat = bp.plan.docs["materials"].get(mid) or bp.plan.reused.get(mid)
    if mat is None:
        mat = bp.store.materials.get(mid)
        if mat is not None:
            bp.plan.reused[mid] = bp.plan.use("materials", mat)
    return mat


def rederive_properties(bp: "BuildPass", materials: set[str]) -> int:
    """Build again the committed properties of the book's stored samples that the batch writes with
    another content, or whose material is in ``materials``, unless this batch builds them itself;
    how many changed. (Which samples were stored was noted by :func:`adopt`: no query here.)"""
    n = 0
    seq = 0
    while rows := bp.samples.changed_stored(materials, seq, CHUNK):
        seq = rows[-1][0]
        new = {}
        for _, skey, label, children in rows:
            smp = bp.samples.find(skey, label)[1]
            new[smp["_id"]] = smp
            bp.plan.seen_counts["parent"][smp["_id"]] = children or 0
        n += _rederive(bp, sorted(new), new)
    return n


def _rederive(bp: "BuildPass", sample_ids: list[str], samples: dict[str, dict]) -> int:
    """Build again the committed properties of ``sample_ids`` that the batch does not build itself
    (their ids read first: in a batch that imports a sample's properties again, most are)."""
    ids = list(bp.store.properties.find({"sample": {"$in": sample_ids}}, {"sample": 1}))
    bp.plan.seen_counts["sample"].update(dict.fromkeys(sample_ids, 0))
    bp.plan.seen_counts["sample"].update(Counter(d["sample"] for d in ids))
    todo = [d["_id"] for d in ids if not bp.plan.keys.seen(d["_id"])]  # the others: built from the new sample
    n = 0
    for prop in (p for part in _chunks(todo) for p in bp.store.properties.find({"_id": {"$in": part}})):
        smp = samples[prop["sample"]]
        record = {k: v for k, v in stored_fields(prop).items() if k not in PROPERTY_COPIES}
        doc = B.denormalize(record, smp, smp["_mat"], smp.get("summary"))
        if doc["content_hash"] != prop.get("content_hash"):
            issue = bp.plan.add_derived("properties", doc, prop.get("content_hash"), WHERE)
            if issue:  # (not expected: a property the batch built is skipped above)
                bp.report.errors.append(issue)
                continue
            n += 1
    return n


def verify(store, seen: dict[str, dict[str, int]]) -> None:
    """ImportConflict when a committed sample gained or lost a child or a property, or a material a
    sample, since the cascade read them (``Plan.seen_counts``): another import added it meanwhile,
    built from the old version this batch changes, and this batch did not derive it again. Called
    once the batch holds what it writes (its claims), so none can be added after the check: an
    import that copies from a document this one changes holds it shared first (Writer._hold_uses)."""
    for field, counts in seen.items():
        coll = store.properties if field == "sample" else store.samples
        for part in _chunks(sorted(counts)):
            now = Counter(d[field] for d in coll.find({field: {"$in": part}}, {field: 1}))
            moved = next((i for i in part if now[i] != counts[i]), None)
            if moved is not None:
                what = {"sample": "properties of sample", "parent": "children of sample", "material": "samples of material"}[field]
                doc = (store.materials if field == "material" else store.samples).get(moved) or {}
                name = f"{doc.get('label') or doc.get('key') or ''!r} ({moved})" if doc else moved
                raise ImportConflict(f"the {what} {name} changed while this import derived them again from what it "
                                     "changes (another import added or removed one meanwhile); nothing of this import "
                                     "is visible; try again")
