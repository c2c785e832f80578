"""Adapter for materials, samples and synthesis routes: records -> documents, with a sample's
material, parent and route resolved in the batch or in the store."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ionbase.ingest.loaders import LoadedFile, RawRecord
from ionbase.ingest.planning import Plan, content_hash
from ionbase.schemas import build as B
from ionbase.schemas.validate import stored_fields

if TYPE_CHECKING:
    from ionbase.ingest.samplebook import SampleBook


def material_from_ref(store, ref: str, lf: LoadedFile, plan: Plan, rec: RawRecord) -> dict:
    """A sample may name its material by formula when the file does not declare it.

    A committed material is reused as found. One written by a batch that is not committed (another
    import still running, or one that failed) is planned again, so this batch claims it: while the
    other import runs, this one is refused naming it (store/claims.py), and a sample never points at
    a material that a failed import leaves behind or a recover deletes."""
    try:
        mat = B.build_material({"key": ref, "formula": ref}, lf.source, f"{rec.ref}.material")
    except B.RecordError:
        raise B.RecordError(f"material {ref!r} is neither declared in this file nor a formula pymatgen can parse", f"{rec.ref}.material") from None
    known = plan.docs["materials"].get(mat["_id"]) or plan.reused.get(mat["_id"])
    if known is not None:  # looked up once per import, not once per sample
        return known
    existing = store.materials.including_pending().get(mat["_id"])
    if existing and existing.get("batch_id") not in store.hidden_batches(wait_for_commits=False):
        plan.reused[mat["_id"]] = plan.use("materials", existing)
        return existing
    plan.add("materials", mat, (lf.path.name, rec.row))
    return mat


def sample_doc(store, lf: LoadedFile, rec: RawRecord, plan: Plan, materials_by_key: dict) -> dict:
    """The sample document of a record, its material attached as ``_material`` (RecordError if bad)."""
    smp = B.build_sample(rec.data, lf.source, rec.ref)
    mref = smp.pop("_material_ref")
    mat = materials_by_key.get((str(lf.path), mref)) or material_from_ref(store, mref, lf, plan, rec)
    smp["material"] = mat["_id"]
    smp["_material"] = mat
    if rec.steps_refused:  # kept on the sample: its route stays unknown when its parent's is derived again
        smp["steps_refused"] = True
    return smp


#: fields of a stored sample that the route pass derives (route_for, denormalize_sample) or the writer sets
DERIVED_FIELDS = frozenset({"route", "summary", "route_unknown", "reduced_formula", "elements", "family", "parent",
                            "content_hash", "batch_id", "updated_at", "shadow_batch", "superseded_by"})


def as_built(stored: dict, parent_label: str | None, material: dict) -> dict:
    """A committed sample as :func:`sample_doc` would build it from its record (what its record gave,
    its material attached), for its route and copies to be derived again (ingest/cascade.py)."""
    smp = {k: v for k, v in stored_fields(stored).items() if k not in DERIVED_FIELDS}
    if stored.get("route_unknown") and "steps_refused" not in stored:
        # stored before 2026-12-03, when a sample whose own steps were refused was not marked so: it
        # may be one, so its route stays unknown (its own rows, imported again, tell)
        smp["steps_refused"] = True
    if not smp.get("steps_refused"):
        smp.pop("steps_refused", None)  # (False: its unknown route was its parent's)
    if parent_label is not None:
        smp["_parent_ref"] = parent_label
    smp["_material"] = material
    return smp


def sample_from_db(store, skey: str, label: str, plan: Plan) -> dict | None:
    """A committed sample of the store, its material attached as ``_mat`` (both noted in ``plan.uses``:
    what the batch builds from them must not outlive them, ingest/cascade.py)."""
    doc = store.samples.find_one({"source_key": skey, "label": label})
    if doc is None:
        return None
    plan.use("samples", doc)
    mat = store.materials.including_pending().get(doc["material"])
    doc["_mat"] = plan.use("materials", mat) if mat else {}
    return doc


def route_steps(store, sample: dict, plan: Plan) -> list[dict]:
    """The steps of a sample's route, from this batch's plan or the store (pending batches included)."""
    rid = sample.get("route")
    route = plan.docs["routes"].get(rid) or (store.routes.including_pending().get(rid) if rid else None)
    return list(route["steps"]) if route else []


def route_for(store, smp: dict, rec: RawRecord, plan: Plan, samples: "SampleBook") -> dict:
    """The route of a sample: its parent's steps (parent in this batch or the store) then its own.

    A sample whose steps rows were refused (``--skip-invalid``), or whose parent's route is unknown,
    gets an empty route and ``route_unknown``: its steps, or its parent's, alone would misstate how it
    was made (a child milled for 2 h of a parent whose 600 °C anneal row was refused read "never
    annealed" until 2026-12-02), and its children inherit the flag."""
    parent_label = smp.pop("_parent_ref", None)
    parent = None
    if parent_label is not None:
        in_batch, parent = samples.find(smp["source_key"], parent_label)
        if in_batch and parent is None:
            raise B.RecordError(f"parent {parent_label!r} is invalid or part of a cycle", f"{rec.ref}.parent")
        if parent is None:
            parent = sample_from_db(store, smp["source_key"], parent_label, plan)
        if parent is None:
            raise B.RecordError(f"parent sample {parent_label!r} not found in this batch or the store", f"{rec.ref}.parent")
        smp["parent"] = parent["_id"]
    if smp.get("steps_refused") or (parent is not None and parent.get("route_unknown")):
        smp["route_unknown"] = True
        smp.setdefault("steps_refused", False)  # False: unknown by its parent's (as_built tells the two apart)
        return B.build_route([])
    steps = smp.get("own_steps", [])
    if parent is not None:
        parent_steps = route_steps(store, parent, plan)
        steps = [dict(s) for s in parent_steps] + [dict(s, order=len(parent_steps) + i) for i, s in enumerate(steps)]
    return B.build_route(steps)


def denormalize_sample(smp: dict, route: dict, mat: dict) -> None:
    """Copy what queries filter samples by (formula, elements, family, route summary) into the sample."""
    smp["route"] = route["_id"]
    smp["reduced_formula"] = mat["reduced_formula"]
    smp["elements"] = mat["elements"]
    if mat.get("family"):
        smp["family"] = mat["family"]
    # an unknown route claims nothing, not even "0 steps" (its empty route's summary says n_steps 0)
    smp["summary"] = {} if smp.get("route_unknown") else route["summary"]
    smp["content_hash"] = content_hash(smp)


def resolve_sample(store, label: str, source: dict, samples: "SampleBook", fieldname: str, plan: Plan) -> dict:
    """The sample a record names: built in this batch (and not rejected) or committed in the store."""
    skey = B.source_key(source)
    in_batch, smp = samples.find(skey, label)
    if in_batch:
        if smp is None:
            raise B.RecordError(f"sample {label!r} was rejected (see its error)", fieldname)
        return smp
    smp = sample_from_db(store, skey, label, plan)
    if smp is None:
        raise B.RecordError(f"sample {label!r} not found in this batch or the store (source {skey})", fieldname)
    return smp
