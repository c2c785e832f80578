"""Rolling back an import batch, derived values included.

A rollback must leave the store as if the batch had never been imported. The batch's own documents
are easy: new ones carry its ``batch_id`` and are deleted, replaced ones are restored from
``import_history``. Derived properties (written by the analysis jobs, which ingest does not import)
carry no batch id, so they are found through their provenance:

* every derived property whose ``provenance.inputs`` names a document the batch wrote (created or
  replaced), and every derived property computed from those, following the chain to the end
  (EIS spectrum -> sigma -> Arrhenius Ea, prefactor, sigma(25 °C));
* every derived property of a sample whose sample, material or route document the batch wrote
  (derived documents carry the sample's denormalised fields).

These derived properties are **deleted**, with the per-item job state (``job_items``) that produced
them, before the batch's documents are hidden and again after they are restored, so at no moment
does the store serve a derived value computed from rolled-back inputs. Values computed from the
restored versions are absent until the jobs run again for the returned ``samples`` (the runner finds
no state for those items and recomputes them; the computation is deterministic, so the earlier
numbers come back). ``ionbase import rollback`` and ``POST /imports/{id}/rollback`` do that
recomputation before they return; callers of :func:`rollback` itself must run the jobs.

A batch is refused while a later committed batch depends on it, having replaced a document it wrote
(its correction would be silently overwritten by an older version) or added records to a sample it
created (they would be left without their sample): roll the later batch back first.
"""

from __future__ import annotations

import datetime as _dt
from typing import Iterable

from ionbase.store import claims, set_fields

COLLECTIONS = ("materials", "routes", "samples", "structures", "measurements", "measurement_arrays", "properties")
#: collections whose documents belong to one sample through their ``sample`` field
_SAMPLE_FIELD = ("structures", "measurements", "properties")
_CHUNK = 5000


class RollbackRefused(ValueError):
    """The batch cannot be rolled back as asked (not committed, or later batches depend on it)."""


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _chunks(ids: Iterable[str]) -> Iterable[list[str]]:
    ids = sorted(set(ids))
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def history_doc_id(hist: dict) -> str:
    """The id of the document an ``import_history`` entry saved (its own id is
    ``<batch>:<collection>:<document id>``; read from there because the embedded store returns
    dotted projections such as ``doc._id`` flattened)."""
    return hist["_id"].split(":", 2)[2]


def _batch_documents(db, batch_id: str) -> dict[str, set[str]]:
    """Ids per collection of the documents this batch wrote (created or replaced), restored or not."""
    out: dict[str, set[str]] = {c: set() for c in COLLECTIONS}
    for coll in COLLECTIONS:
        out[coll].update(d["_id"] for d in db[coll].find({"batch_id": batch_id}, {"_id": 1}))
    for hist in db.import_history.find({"batch_id": batch_id}, {"coll": 1, "_id": 1}):
        out.setdefault(hist["coll"], set()).add(history_doc_id(hist))
    return out


def _touched_samples(db, written: dict[str, set[str]]) -> set[str]:
    """Samples whose own document, material or route the batch wrote: all their derived values go."""
    samples = set(written["samples"])
    for field, coll in (("material", "materials"), ("route", "routes")):
        for part in _chunks(written[coll]):
            samples.update(d["_id"] for d in db.samples.find({field: {"$in": part}}, {"_id": 1}))
    return samples


def _samples_of(db, written: dict[str, set[str]]) -> set[str]:
    """Samples any document the batch wrote belongs to (the ones to analyse again)."""
    samples = set(written["samples"])
    for coll in _SAMPLE_FIELD:
        for part in _chunks(written[coll]):
            samples.update(d["sample"] for d in db[coll].find({"_id": {"$in": part}}, {"sample": 1}) if d.get("sample"))
    return samples


def derived_closure(db, input_ids: Iterable[str], samples: Iterable[str], whole: Iterable[str] = ()) -> dict[str, dict]:
    """Derived properties of ``samples`` computed from ``input_ids``, directly or through other
    derived ones, plus every derived property of the samples in ``whole``; ``{_id: document}``.

    Every job computes a sample's values from that sample's documents (items are per sample), so
    the derived properties of the batch's samples are read once (indexed on ``sample``) and the
    chains followed here, rather than scanning ``provenance.inputs`` over the whole collection.
    """
    whole = set(whole)
    candidates: dict[str, dict] = {}
    for part in _chunks(set(samples) | whole):
        for d in db.properties.find({"origin": "derived", "sample": {"$in": part}}, {"_id": 1, "sample": 1, "provenance": 1}):
            candidates[d["_id"]] = d
    found = {i: d for i, d in candidates.items() if d.get("sample") in whole}
    reached = set(input_ids) | set(found)
    while True:
        new = {i: d for i, d in candidates.items()
               if i not in found and reached.intersection((d.get("provenance") or {}).get("inputs") or ())}
        if not new:
            return found
        found.update(new)
        reached.update(new)


def _drop_derived(db, written: dict[str, set[str]], samples: set[str], whole: set[str]) -> tuple[int, int]:
    """Delete the derived closure of the batch's documents (see derived_closure) and the job
    states behind it. Returns (properties deleted, job states deleted)."""
    inputs = set().union(*written.values())
    derived = derived_closure(db, inputs, samples, whole)
    n_props = n_states = 0
    for part in _chunks(derived):
        # job state first: a state left without its outputs would make the runner skip the item
        n_states += db.job_items.delete_many({"outputs": {"$in": part}}).deleted_count
        n_props += db.properties.delete_many({"_id": {"$in": part}, "origin": "derived"}).deleted_count
    for part in _chunks(inputs):
        n_states += db.job_items.delete_many({"item": {"$in": part}}).deleted_count
    for part in _chunks(whole):
        n_states += db.job_items.delete_many({"sample": {"$in": part}}).deleted_count
    return n_props, n_states


def invalidate_changed_samples(db, batch_id: str) -> int:
    """On commit: derived values carry their sample's denormalised fields (formula, family, synthesis
    summary such as milling time) but the jobs' fingerprints do not, so when a batch replaced a
    sample, material or route document, that sample's derived values are marked stale and its job
    states invalidated: the next run recomputes them. Returns the derived values marked."""
    written: dict[str, set[str]] = {c: set() for c in COLLECTIONS}
    for hist in db.import_history.find({"batch_id": batch_id, "coll": {"$in": ["samples", "materials", "routes"]}},
                                       {"coll": 1, "_id": 1}):
        written[hist["coll"]].add(history_doc_id(hist))
    n = 0
    for part in _chunks(_touched_samples(db, written)):
        db.job_items.update_many({"sample": {"$in": part}}, {"$set": {"input_fingerprint": None}})
        n += set_fields(db.properties, {"origin": "derived", "sample": {"$in": part}}, {"stale": True})
    return n


def _later_dependants(db, batch_id: str) -> dict[str, str]:
    """Other batches that replaced a document this batch wrote, or wrote a document of (or a child
    of) a sample this batch created: ``{batch id: example document id}``."""
    later: dict[str, str] = {}
    for hist in db.import_history.find({"doc.batch_id": batch_id}, {"batch_id": 1, "_id": 1}):
        if hist["batch_id"] != batch_id:
            later.setdefault(hist["batch_id"], history_doc_id(hist))
    # records of other batches that point at a sample, material or route this batch created (deleted by
    # the rollback): a later batch counting a shared route "unchanged" would be left pointing at nothing
    refs = {"samples": [*((c, "sample") for c in _SAMPLE_FIELD), ("samples", "parent")],
            "materials": [("samples", "material")], "routes": [("samples", "route")]}
    for created_coll, pointers in refs.items():
        for part in _chunks(_created(db, batch_id, created_coll)):
            for coll, field in pointers:
                query = {field: {"$in": part}, "batch_id": {"$ne": batch_id}}
                for d in db[coll].find(query, {"_id": 1, "batch_id": 1}):
                    if d.get("batch_id"):  # derived values carry none; they go with the sample
                        later.setdefault(d["batch_id"], d["_id"])
    return later


def _created(db, batch_id: str, coll: str) -> list[str]:
    """Ids of documents of ``coll`` this batch created (not replaced): a rollback deletes them."""
    replaced = {history_doc_id(h) for h in db.import_history.find({"batch_id": batch_id, "coll": coll}, {"_id": 1})}
    return [d["_id"] for d in db[coll].find({"batch_id": batch_id}, {"_id": 1}) if d["_id"] not in replaced]


def _check_later_batches(db, batch_id: str) -> None:
    """Refuse when committed batches depend on what this batch wrote (see _later_dependants):
    rolling it back would silently overwrite their corrections or orphan their records."""
    later = _later_dependants(db, batch_id)
    if not later:
        return
    live = {b["_id"] for b in db.import_batches.find({"_id": {"$in": sorted(later)}, "status": {"$in": ["committed", "committing"]}}, {"_id": 1})}
    if live:
        names = ", ".join(f"{b} (e.g. {later[b]})" for b in sorted(live))
        raise RollbackRefused(f"batch {batch_id} cannot be rolled back: later batch(es) {names} replaced documents it wrote "
                              "or added records that point at samples, materials or routes it created; roll those back first")


def _restore_and_delete(db, batch_id: str) -> tuple[int, int]:
    """Put back the previous versions of replaced documents; delete the documents the batch created."""
    restored_ids: set[str] = set()
    for hist in db.import_history.find({"batch_id": batch_id}):
        db[hist["coll"]].replace_one({"_id": hist["doc"]["_id"]}, hist["doc"], upsert=True)
        restored_ids.add(hist["doc"]["_id"])
    deleted = 0
    for coll in COLLECTIONS:
        deleted += db[coll].delete_many({"batch_id": batch_id}).deleted_count  # restored ones carry their old batch id
    db.import_staging.delete_many({"batch_id": batch_id})
    return len(restored_ids), deleted


def _claim_written(db, batch: dict, written: dict[str, set[str]]) -> None:
    """Hold the documents to restore or delete while rolling back, so no import diffs against
    documents about to change; RollbackRefused (and the rollback not started) when a running import
    holds one."""
    from ionbase.errors import ImportConflict
    from ionbase.store.batches import recover_batch

    try:
        for coll, ids in written.items():
            claims.claim(db, batch["_id"], coll, sorted(ids), lambda b: recover_batch(db, b), exclusive=True)
    except ImportConflict as exc:
        claims.release(db, batch["_id"])
        claims.write_batch(db, batch["_id"], {"rollback": batch.get("rollback") or {}})
        raise RollbackRefused(f"batch {batch['_id']} cannot be rolled back now: a running import holds documents it "
                              f"wrote ({exc.errors}); try again when that import has finished") from None


def rollback(store, batch_id: str) -> dict:
    """Undo a committed batch: its documents and every derived value computed from them.

    Order (each step idempotent; an interrupted rollback is finished by calling this again or by
    ``recover``): mark the rollback running; delete the derived closure and its job states; hide the
    batch (status ``rolled_back``); restore replaced documents and delete created ones; delete the
    closure again (a concurrent analysis may have recomputed from the batch meanwhile); mark done.

    Derived values of restored documents are absent afterwards until the jobs run for ``samples``
    of the result (the service's rollback entry points do that before returning).
    Raises LookupError for an unknown batch and RollbackRefused when it cannot be rolled back.
    """
    db = store.db
    batch = db.import_batches.find_one({"_id": batch_id})
    if batch is None:
        raise LookupError(f"no import batch {batch_id!r}")
    running = (batch.get("rollback") or {}).get("state") == "running"
    if batch["status"] == "rolled_back" and not running:
        return {"batch": batch_id, "status": "rolled_back", "deleted": 0, "restored": 0, "derived_deleted": 0,
                "job_states_deleted": 0, "samples": []}
    if batch["status"] != "committed" and not running:
        raise RollbackRefused(f"batch {batch_id} is {batch['status']}, not committed; "
                              "`ionbase import recover` finishes or cleans interrupted imports")
    _check_later_batches(db, batch_id)
    written = _batch_documents(db, batch_id)
    whole = _touched_samples(db, written)
    # a resumed rollback may have deleted documents already: keep the samples the first attempt saw
    samples = _samples_of(db, written) | whole | set((batch.get("rollback") or {}).get("samples") or ())
    marker = {"state": "running", "started_at": _now(), **claims.owner_info(), "samples": sorted(samples)}
    claims.ACTIVE_HERE.add(batch_id)
    try:
        claims.write_batch(db, batch_id, {"rollback": marker})
        _claim_written(db, batch, written)
        n_props, n_states = _drop_derived(db, written, samples, whole)
        claims.write_batch(db, batch_id, {"status": "rolled_back", "rolled_back_at": _now()})
        restored, deleted = _restore_and_delete(db, batch_id)
        n_props2, n_states2 = _drop_derived(db, written, samples, whole)
        claims.write_batch(db, batch_id, {"rollback": {**marker, "state": "done", "finished_at": _now()}})
        claims.release(db, batch_id)
    finally:
        claims.ACTIVE_HERE.discard(batch_id)
    return {"batch": batch_id, "status": "rolled_back", "deleted": deleted, "restored": restored,
            "derived_deleted": n_props + n_props2, "job_states_deleted": n_states + n_states2,
            "samples": sorted(s for s in samples if s)}


def resume_rollbacks(store, *, force: bool = False) -> list[dict]:
    """Finish rollbacks whose process died (``rollback.state == "running"``)."""
    done = []
    for batch in store.db.import_batches.find({"rollback.state": "running"}, {"rollback": 1}):
        if not force and claims.batch_alive(batch):
            continue  # a live rollback
        result = rollback(store, batch["_id"])
        done.append({"batch": batch["_id"], "action": "rollback finished", "samples": result["samples"]})
    return done
