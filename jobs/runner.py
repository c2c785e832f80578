"""The job runner: recompute only what changed, record state per item, stamp provenance.

For every job, items are selected from the store and fingerprinted (hash of their inputs and the
job and code versions). Items computed before (state ``ok``) whose fingerprint matches the stored
``job_items`` state are skipped (up to date; a failed item is always tried again); the rest are
computed — inline for a handful, in a local process pool, or on a Dask cluster when
``IONBASE_DASK_SCHEDULER`` is set — and their outputs are written by the runner (never by workers).
Items are streamed from the job's ``select`` and handled CHUNK_SIZE at a time, as maggma's builders
do (get_items -> process_item -> update_targets): a chunk is computed, its outputs written, then its
items' states recorded, before the next chunk is read, so memory stays bounded and a run that stops
keeps every finished chunk.
A failing item is recorded with its error and the rest complete. Outputs of items that no longer
exist (their inputs were removed) are deleted: they are superseded.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import itertools
import logging
import os
import sys
import uuid
from concurrent.futures import ProcessPoolExecutor
from typing import Any, Iterable, Iterator

from ionbase.analysis.version import JOB_FUNCTION_VERSIONS, package_version, provenance_versions
from ionbase.jobs.definitions import JOBS, Item, Job, compute_chunk, compute_item
from ionbase.jobs.runs import RunRecord
from ionbase.schemas import build as B
from ionbase.schemas import registry

log = logging.getLogger(__name__)

#: below this many items a pool costs more than it saves
INLINE_THRESHOLD = 16
#: items selected, computed and written together: memory is bounded by one chunk's inputs and
#: outputs, and each chunk's outputs and item states are stored before the next is computed
CHUNK_SIZE = 500


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
    (computed, skipped = up to date, failed, superseded, written, flagged) are returned; an item
    that failed before is tried again, so it is computed or failed, never skipped.
    """
    names = list(job_names) if job_names else list(JOBS)
    unknown = [n for n in names if n not in JOBS]
    if unknown:
        raise ValueError(f"unknown job(s) {unknown}; known: {sorted(JOBS)}")
    samples = sorted(set(sample_ids)) if sample_ids else None
    run_id = "run-" + _now().strftime("%Y%m%dT%H%M%S") + "-" + uuid.uuid4().hex[:6]
    executor = _Executor(settings)
    record = RunRecord(store, {"_id": run_id, "jobs": names, "started_at": _now(), "executor": executor.kind,
                               "options": {"samples": samples[:1000] if samples else None, "force": force}}).start()
    totals = {"computed": 0, "skipped": 0, "failed": 0, "superseded": 0, "written": 0, "flagged": 0}
    per_job: dict[str, dict] = {}
    errors: list[dict] = []
    try:
        for name in names:
            counts = _run_job(store, JOBS[name], samples, force, executor, run_id, errors, progress)
            per_job[name] = counts
            for k in totals:
                totals[k] += counts.get(k, 0)
    except BaseException as exc:  # also KeyboardInterrupt/SystemExit (SIGTERM): the run must not stay "running"
        record.finish("failed", errors=[{"message": str(exc) or type(exc).__name__}])
        raise
    finally:
        executor.close()
    record.finish("finished", counts={**totals, "jobs": per_job}, errors=errors[:1000])
    return {"run_id": run_id, "executor": executor.kind, **totals, "jobs": per_job, "errors": errors[:50]}


def _todo(items: Iterable[Item], states: dict[str, dict], version: str, force: bool, seen: set[str],
          counts: dict, stale: set[str] = frozenset()) -> Iterator[tuple[Item, str]]:
    """get_items: the selected items that need computing, with their fingerprints, streamed.

    Items that were computed (state ``ok``) and whose fingerprint and job version match their stored
    state, and none of whose outputs is marked stale (``stale``: ids of this job's stale outputs), are
    counted as skipped (up to date); an item that failed is tried again, whatever its fingerprint, so it
    is counted as computed or failed by this run, never as up to date; so is one with a stale output (an
    input changed in a way its fingerprint does not see, e.g. its uncertainty or notes: left stale, the
    value would stay out of export, OPTIMADE and plots for good). Every item id is added to ``seen``
    (what is not seen by the end is superseded).
    """
    for item in items:
        seen.add(item.id)
        counts["items"] += 1
        fp = fingerprint(item, version)
        st = states.get(item.id)
        if not force and _up_to_date(st, fp, version) and stale.isdisjoint(st.get("outputs") or ()):
            counts["skipped"] += 1
            continue
        yield item, fp


def _up_to_date(state: dict | None, fp: str, version: str) -> bool:
    """Whether a stored item state is a success for these inputs and this job version."""
    return bool(state) and state.get("state") == "ok" and state.get("input_fingerprint") == fp \
        and state.get("job_version") == version


def _chunks(todo: Iterable[tuple[Item, str]], size: int) -> Iterator[list[tuple[Item, str]]]:
    """Consecutive lists of at most ``size`` items: only one chunk's inputs are held at a time."""
    it = iter(todo)
    while chunk := list(itertools.islice(it, size)):
        yield chunk


def _item_update(job: Job, version: str, item: Item, fp: str, result: tuple[bool, Any], smp: dict | None,
                 old_outputs: set[str], run_id: str, now) -> tuple[list[dict], list[str], dict, Any]:
    """process_item: the documents to write, the old outputs to delete and the item's state.

    A failed item (its computation or one of its outputs) writes nothing and removes its old outputs:
    a failed recompute must not leave stale values looking current. Returns the error as last element
    (None when the item succeeded).
    """
    ok, payload = result
    if ok and smp is None:
        ok, payload = False, f"sample {item.sample} not found"
    if ok:
        try:
            docs = _validated([_property_doc(job, version, item, fp, out, smp, run_id, now) for out in payload])
        except Exception as exc:  # a bad output is this item's failure, not the run's
            ok, payload = False, f"{type(exc).__name__}: {exc}"
    if not ok:
        return [], sorted(old_outputs), {"state": "failed", "error": str(payload)[:2000], "outputs": []}, payload
    new_ids = [d["_id"] for d in docs]
    return docs, sorted(old_outputs - set(new_ids)), {"state": "ok", "error": None, "outputs": new_ids}, None


def _write_chunk(store, job: Job, version: str, chunk: list[tuple[Item, str]], results: list[tuple[bool, Any]],
                 states: dict[str, dict], run_id: str, errors: list, counts: dict) -> None:
    """update_targets for one chunk: its outputs are written and stale ones deleted first, then the
    items' states, so a run that stops later keeps this chunk's work and never records an item as
    done before its outputs are stored."""
    sample_docs = _load_samples(store, {it.sample for it, _ in chunk})
    now = _now()
    prop_docs: list[dict] = []
    state_docs: list[dict] = []
    delete_ids: list[str] = []
    for (item, fp), result in zip(chunk, results):
        old_outputs = set((states.get(item.id) or {}).get("outputs", []))
        docs, stale, state, error = _item_update(job, version, item, fp, result, sample_docs.get(item.sample),
                                                  old_outputs, run_id, now)
        if error is None:
            counts["computed"] += 1
            counts["flagged"] += sum(1 for d in docs if d.get("flags"))
        else:
            counts["failed"] += 1
            errors.append({"job": job.name, "item": item.id, "error": error})
        prop_docs.extend(docs)
        delete_ids.extend(stale)
        state_docs.append({"_id": f"{job.name}:{item.id}", "job": job.name, "item": item.id, "sample": item.sample,
                           "job_version": version, "input_fingerprint": fp, "run_id": run_id, "updated_at": now, **state})
    store.properties.upsert_many(prop_docs)
    if delete_ids:
        store.properties.delete_many({"_id": {"$in": delete_ids}, "origin": "derived"})
    store.job_items.upsert_many(state_docs)
    counts["written"] += len(prop_docs)


def _supersede(store, states: dict[str, dict], seen: set[str]) -> int:
    """Items whose inputs disappeared (stored state, not selected this run): their outputs and state go."""
    gone = [s for key, s in states.items() if key not in seen]
    delete_ids = [o for s in gone for o in s.get("outputs", [])]
    for start in range(0, len(delete_ids), CHUNK_SIZE):
        store.properties.delete_many({"_id": {"$in": delete_ids[start : start + CHUNK_SIZE]}, "origin": "derived"})
    for start in range(0, len(gone), CHUNK_SIZE):
        store.job_items.delete_many({"_id": {"$in": [s["_id"] for s in gone[start : start + CHUNK_SIZE]]}})
    return len(gone)


@contextlib.contextmanager
def _progress_bar(job: Job, progress: bool):
    """A tqdm bar of computed items on an interactive terminal (stderr), else a no-op counter."""
    if not (progress and sys.stderr.isatty()):
        yield None
        return
    from tqdm import tqdm

    # one redraw per chunk (mininterval=0): chunks are large, so this is cheap and always shown
    with tqdm(desc=job.name, unit="item", file=sys.stderr, leave=False, mininterval=0) as bar:
        yield bar


def _run_job(store, job: Job, samples: list[str] | None, force: bool, executor: _Executor, run_id: str, errors: list,
             progress: bool = False) -> dict:
    """One job, streamed: select -> skip what is up to date -> compute and write CHUNK_SIZE items at a
    time (state recorded per chunk) -> delete the outputs of items that no longer exist."""
    version = job_version(job)
    state_query: dict = {"job": job.name}
    if samples:
        state_query["sample"] = {"$in": samples}
    states = {s["item"]: s for s in store.job_items.find(state_query, {"item": 1, "outputs": 1, "input_fingerprint": 1, "job_version": 1, "state": 1})}
    stale_query = {"origin": "derived", "stale": True, "provenance.job": job.name, **({"sample": {"$in": samples}} if samples else {})}
    stale = {d["_id"] for d in store.properties.find(stale_query, {"_id": 1})}
    counts = {"items": 0, "computed": 0, "skipped": 0, "failed": 0, "superseded": 0, "written": 0, "flagged": 0}
    seen: set[str] = set()
    with _progress_bar(job, progress) as bar:
        for chunk in _chunks(_todo(job.select(store, samples), states, version, force, seen, counts, stale), CHUNK_SIZE):
            results = executor.map(job.name, [it.inputs for it, _ in chunk])
            _write_chunk(store, job, version, chunk, results, states, run_id, errors, counts)
            if bar is not None:
                bar.update(len(chunk))
    counts["superseded"] = _supersede(store, states, seen)
    return counts


def _load_samples(store, ids: set[str]) -> dict[str, dict]:
    if not ids:
        return {}
    # as selected: items come from visible records, their samples are read whatever their batch
    samples = {s["_id"]: s for s in store.samples.including_pending().find({"_id": {"$in": sorted(ids)}})}
    materials = {m["_id"]: m for m in store.materials.including_pending().find(
        {"_id": {"$in": sorted({s["material"] for s in samples.values()})}})}
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


def _validated(docs: list[dict]) -> list[dict]:
    """The item's derived documents, each checked against ``schemas.documents.Property`` before any is
    written; a DocumentError (naming the document id and field) fails the whole item."""
    for doc in docs:
        B.validate_document("properties", doc)
    return docs


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
