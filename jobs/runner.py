"""The job runner: recompute only what changed, record state per item, stamp provenance.

For every job, items are selected from the store and fingerprinted (hash of their inputs and the
job and code versions). Items whose fingerprint matches the stored ``job_items`` state are skipped;
the rest are computed — inline for a handful, in a local process pool, or on a Dask cluster when
``IONBASE_DASK_SCHEDULER`` is set — and their outputs are written by the runner (never by workers).
A failing item is recorded with its error and the rest complete. Outputs of items that no longer
exist (their inputs were removed) are deleted: they are superseded.
"""

from __future__ import annotations

import datetime as _dt
import logging
import os
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Iterable

import pymongo

from ionbase.analysis.version import JOB_FUNCTION_VERSIONS, package_version, provenance_versions
from ionbase.jobs.definitions import JOBS, Item, Job, compute_chunk, compute_item
from ionbase.schemas import build as B
from ionbase.schemas import registry

log = logging.getLogger(__name__)

#: below this many items a pool costs more than it saves
INLINE_THRESHOLD = 16
#: items per executor call while a progress bar is shown
PROGRESS_CHUNK = 500


def _now() -> _dt.datetime:
    """UTC now as the naive datetime pymongo stores as a BSON datetime (the store holds UTC only).

    Run documents are written whole (insert/replace, never ``$set``): nx-27017 stores a datetime
    written by ``$set`` as a string, which gave ``finished_at`` another format than ``started_at``.
    """
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def job_version(job: Job) -> str:
    """The job's own version plus the versions of the analysis functions it calls."""
    parts = [job.version] + [f"{f}={JOB_FUNCTION_VERSIONS.get(f, '?')}" for f in job.functions]
    return B.stable_hash(parts, 12) + f"/{job.version}"


def fingerprint(item: Item, version: str) -> str:
    return B.stable_hash({"inputs": item.inputs, "version": version})


class _Executor:
    """Inline, process pool, or Dask: maps compute_item over payloads in order."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.kind = "dask" if settings.dask_scheduler else "process-pool"
        self._client = None
        self._pool = None

    def map(self, job_name: str, inputs: list[dict]) -> list[tuple[bool, Any]]:
        if not inputs:
            return []
        if self.settings.dask_scheduler:
            if self._client is None:
                from distributed import Client

                self._client = Client(self.settings.dask_scheduler, set_as_default=False)
            workers = max(1, len(self._client.scheduler_info().get("workers", {})))
            size = max(1, min(256, len(inputs) // (workers * 4) or 1))
            chunks = [inputs[i : i + size] for i in range(0, len(inputs), size)]
            futures = self._client.map(compute_chunk, [job_name] * len(chunks), chunks, pure=False)
            return [r for chunk in self._client.gather(futures) for r in chunk]
        if len(inputs) < INLINE_THRESHOLD:
            return [compute_item(job_name, i) for i in inputs]
        if self._pool is None:
            workers = self.settings.workers or os.cpu_count() or 1
            self._pool = ProcessPoolExecutor(max_workers=workers)
        chunksize = max(1, len(inputs) // ((self.settings.workers or os.cpu_count() or 1) * 8))
        return list(self._pool.map(compute_item, [job_name] * len(inputs), inputs, chunksize=chunksize))

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
        if self._pool is not None:
            self._pool.shutdown()


def run_jobs(
    store,
    settings,
    job_names: Iterable[str] | None = None,
    sample_ids: Iterable[str] | None = None,
    force: bool = False,
    progress: bool = False,
) -> dict:
    """Run the named jobs (all by default) for the given samples (all by default).

    ``progress`` shows a bar per job on an interactive terminal (stderr); the counts per job
    (computed, skipped = up to date, failed, superseded, written, flagged) are returned.
    """
    names = list(job_names) if job_names else list(JOBS)
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        raise ValueError(f"unknown job(s) {unknown}; known: {sorted(JOBS)}")
    samples = sorted(set(sample_ids)) if sample_ids else None
    db = store.db
    run_id = "run-" + _now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    executor = _Executor(settings)
    run = {"_id": run_id, "jobs": names, "status": "running", "started_at": _now(),
           "executor": executor.kind, "options": {"samples": samples[:1000] if samples else None, "force": force}}
    db.analysis_runs.insert_one(run)
    totals = {"computed": 0, "skipped": 0, "failed": 0, "superseded": 0, "written": 0, "flagged": 0}
    per_job: dict[str, dict] = {}
    errors: list[dict] = []
    try:
        for name in names:
            counts = _run_job(store, JOBS[name], samples, force, executor, run_id, errors, progress)
            per_job[name] = counts
            for k in totals:
                totals[k] += counts.get(k, 0)
    except Exception as exc:
        db.analysis_runs.replace_one({"_id": run_id}, {**run, "status": "failed", "finished_at": _now(), "errors": [{"message": str(exc)}]})
        raise
    finally:
        executor.close()
    db.analysis_runs.replace_one(
        {"_id": run_id},
        {**run, "status": "finished", "finished_at": _now(), "counts": {**totals, "jobs": per_job}, "errors": errors[:1000]},
    )
    return {"run_id": run_id, "executor": executor.kind, **totals, "jobs": per_job, "errors": errors[:50]}


def _compute(executor: _Executor, job: Job, todo: list[tuple[Item, str]], progress: bool) -> list[tuple[bool, Any]]:
    """executor.map over the items to compute; with a progress bar on a terminal, in chunks."""
    inputs = [it.inputs for it, _ in todo]
    if not (progress and inputs and sys.stderr.isatty()):
        return executor.map(job.name, inputs)
    from tqdm import tqdm

    results: list[tuple[bool, Any]] = []
    # one redraw per chunk (mininterval=0): chunks are large, so this is cheap and always shown
    with tqdm(total=len(inputs), desc=job.name, unit="item", file=sys.stderr, leave=False, mininterval=0) as bar:
        for start in range(0, len(inputs), PROGRESS_CHUNK):
            results.extend(executor.map(job.name, inputs[start : start + PROGRESS_CHUNK]))
            bar.update(min(PROGRESS_CHUNK, len(inputs) - start))
    return results


def _run_job(store, job: Job, samples: list[str] | None, force: bool, executor: _Executor, run_id: str, errors: list,
             progress: bool = False) -> dict:
    db = store.db
    version = job_version(job)
    items = list(job.select(store, samples))
    state_query: dict = {"job": job.name}
    if samples:
        state_query["sample"] = {"$in": samples}
    states = {s["item"]: s for s in db.job_items.find(state_query)}
    todo: list[tuple[Item, str]] = []
    skipped = 0
    for item in items:
        fp = fingerprint(item, version)
        st = states.get(item.id)
        if not force and st and st.get("input_fingerprint") == fp and st.get("job_version") == version:
            skipped += 1
            continue
        todo.append((item, fp))
    results = _compute(executor, job, todo, progress)
    sample_docs = _load_samples(db, {it.sample for it, _ in todo})
    now = _now()
    prop_ops: list = []
    state_ops: list = []
    delete_ids: list[str] = []
    computed = failed = flagged = 0
    for (item, fp), (ok, payload) in zip(todo, results):
        old_outputs = set((states.get(item.id) or {}).get("outputs", []))
        smp = sample_docs.get(item.sample)
        if ok and smp is None:
            ok, payload = False, f"sample {item.sample} not found"
        if ok:
            try:
                docs = [_property_doc(job, version, item, fp, out, smp, run_id, now) for out in payload]
            except Exception as exc:  # a bad output is this item's failure, not the run's
                ok, payload = False, f"{type(exc).__name__}: {exc}"
        if ok:
            computed += 1
            flagged += sum(1 for d in docs if d.get("flags"))
            new_ids = [d["_id"] for d in docs]
            prop_ops.extend(pymongo.ReplaceOne({"_id": d["_id"]}, d, upsert=True) for d in docs)
            delete_ids.extend(old_outputs - set(new_ids))
            state = {"state": "ok", "error": None, "outputs": new_ids}
        else:
            failed += 1
            errors.append({"job": job.name, "item": item.id, "error": payload})
            delete_ids.extend(old_outputs)  # a failed recompute must not leave stale values looking current
            state = {"state": "failed", "error": str(payload)[:2000], "outputs": []}
        state_ops.append(pymongo.ReplaceOne(
            {"_id": f"{job.name}:{item.id}"},
            {"_id": f"{job.name}:{item.id}", "job": job.name, "item": item.id, "sample": item.sample,
             "job_version": version, "input_fingerprint": fp, "run_id": run_id, "updated_at": now, **state},
            upsert=True,
        ))
    # items whose inputs disappeared: their outputs are superseded
    current = {it.id for it in items}
    gone = [s for key, s in states.items() if key not in current]
    for s in gone:
        delete_ids.extend(s.get("outputs", []))
    for start in range(0, len(prop_ops), 2000):
        db.properties.bulk_write(prop_ops[start : start + 2000], ordered=False)
    if delete_ids:
        db.properties.delete_many({"_id": {"$in": delete_ids}, "origin": "derived"})
    for start in range(0, len(state_ops), 2000):
        db.job_items.bulk_write(state_ops[start : start + 2000], ordered=False)
    if gone:
        db.job_items.delete_many({"_id": {"$in": [s["_id"] for s in gone]}})
    return {"items": len(items), "computed": computed, "skipped": skipped, "failed": failed,
            "superseded": len(gone), "written": len(prop_ops), "flagged": flagged}


def _load_samples(db, ids: set[str]) -> dict[str, dict]:
    if not ids:
        return {}
    samples = {s["_id"]: s for s in db.samples.find({"_id": {"$in": sorted(ids)}})}
    materials = {m["_id"]: m for m in db.materials.find({"_id": {"$in": sorted({s["material"] for s in samples.values()})}})}
    for s in samples.values():
        s["_mat"] = materials.get(s["material"], {})
    return samples


def _flags(out: dict) -> list[str] | None:
    """The output's quality flags (registry.QUALITY_FLAGS), sorted; None when there are none."""
    flags = sorted(set(out.get("flags") or ()))
    unknown = [f for f in flags if f not in registry.QUALITY_FLAGS]
    if unknown:
        raise ValueError(f"{out['name']}: unknown quality flag(s) {unknown}; known: {list(registry.QUALITY_FLAGS)}")
    return flags or None


def _property_doc(job: Job, version: str, item: Item, fp: str, out: dict, smp: dict, run_id: str, now) -> dict:
    """A derived Property document from one computed output."""
    ptype = registry.PROPERTIES[out["name"]]
    value = out["value"]
    if value is None or value != value:
        raise ValueError(f"{out['name']}: no value computed")
    conditions = {k: v for k, v in (out.get("conditions") or {}).items() if v is not None}
    prop = {
        "name": ptype.name,
        "value": float(value),
        "uncertainty": float(out["uncertainty"]) if out.get("uncertainty") not in (None, 0.0) and out["uncertainty"] == out["uncertainty"] else None,
        "unit": registry.QUANTITIES[ptype.quantity].display_unit or registry.QUANTITIES[ptype.quantity].unit,
        "qualifier": out.get("qualifier"),
        "conditions": conditions,
        "temperature_k": conditions.get("temperature_k"),
        "temperature_c": conditions.get("temperature_c"),
        "origin": "derived",
        "stale": False,
        "flags": _flags(out),
        "notes": out.get("notes"),
        "source": {k: v for k, v in (smp.get("source") or {}).items() if k in ("doi", "notebook", "citation")},
        "provenance": {
            "job": job.name,
            "job_version": version,
            "code_version": package_version(),
            "versions": provenance_versions(),
            "inputs": item.input_ids,
            "input_fingerprint": fp,
            "parameters": B.stable_json(out.get("parameters") or {}),
            "computed_at": now,
            "run_id": run_id,
        },
        "_id": B.make_id("prop", smp["_id"], ptype.name, B.stable_hash(conditions), "derived", job.name, item.id),
    }
    doc = B.denormalize({k: v for k, v in prop.items() if v is not None}, smp, smp["_mat"], smp.get("summary"))
    doc["updated_at"] = now
    return doc
