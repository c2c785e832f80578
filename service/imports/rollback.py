"""Rolling back an import batch from the CLI or the API: undo it, then recompute what it touched.

``store.rollback.rollback`` deletes the batch's documents and every derived value computed from
them, so no derived value of a rolled-back input is ever served; derived values of the restored
(earlier) versions are absent until the jobs run again. The entry points here run the jobs for the
affected samples before they return, so the store a client sees afterwards is the store as it was
before the batch, derived values included.
"""

from __future__ import annotations

from typing import Any


def rollback_batch(store: Any, settings: Any, batch_id: str) -> dict:
    """Roll back ``batch_id`` and recompute the derived values of the samples it touched.

    Raises LookupError (unknown batch) and store.rollback.RollbackRefused (cannot roll back).
    ``analysis`` in the result is the runner's summary, or None with a ``note`` when the jobs
    are not installed (the derived values then stay absent until ``ionbase analyze``).
    """
    from ionbase.store.rollback import rollback

    result = rollback(store, batch_id)
    return {**result, **recompute(store, settings, result["samples"])}


def recompute(store: Any, settings: Any, samples: list[str]) -> dict:
    """Run every job for ``samples`` (those whose derived values a rollback removed)."""
    if not samples:
        return {"analysis": None}
    try:
        from ionbase.jobs.runner import run_jobs
    except ModuleNotFoundError as exc:
        if exc.name and (exc.name == "jobs" or exc.name.startswith("jobs.")):
            return {"analysis": None, "note": "the analysis jobs are not installed: derived values of the "
                                              f"{len(samples)} affected sample(s) stay absent until they run"}
        raise
    run = run_jobs(store, settings, sample_ids=samples, progress=False)
    return {"analysis": {k: run.get(k) for k in ("run_id", "computed", "skipped", "failed", "superseded", "written", "errors")}}
