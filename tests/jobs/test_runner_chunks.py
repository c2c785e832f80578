"""The runner streams items and writes them chunk by chunk (issue 12, maggma's get_items /
process_item / update_targets): a run that stops keeps the chunks it finished, and chunking does
not change any stored number."""

from __future__ import annotations

import pytest

import ionbase.jobs.runner as runner
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

from .test_runner import lab_file

VOLATILE = ("computed_at", "run_id")


def _derived_snapshot(store) -> dict[str, dict]:
    """Every derived property without the fields that name the run or the time (and the content hash,
    which covers them)."""
    out = {}
    for p in store.db.properties.find({"origin": "derived"}):
        p.pop("updated_at", None)
        p.pop("content_hash", None)
        p["provenance"] = {k: v for k, v in p["provenance"].items() if k not in VOLATILE}
        out[p["_id"]] = p
    return out


@pytest.fixture()
def three_samples(store, tmp_path):
    """12 impedance spectra (3 samples x 4 temperatures) and their Arrhenius series."""
    path = tmp_path / "lab.yaml"
    lab_file(path, {"A": 500.0, "B": 450.0, "C": 400.0})
    Importer(store, ImportOptions()).run([path])
    return store


def test_chunks_are_written_before_the_next_is_computed_and_survive_a_failure(three_samples, settings, monkeypatch):
    store = three_samples
    monkeypatch.setattr(runner, "CHUNK_SIZE", 5)  # 12 spectra: chunks of 5, 5, 2
    real_map = runner._Executor.map
    stored_at_call: list[tuple[int, int]] = []

    def map_failing_on_the_last_chunk(self, job_name, inputs):
        done = store.db.job_items.count_documents({"job": "eis", "state": "ok"})
        written = store.db.properties.count_documents({"origin": "derived", "provenance.job": "eis"})
        stored_at_call.append((done, written))
        if len(stored_at_call) == 3:
            raise RuntimeError("injected: the store went away during the last chunk")
        return real_map(self, job_name, inputs)

    monkeypatch.setattr(runner._Executor, "map", map_failing_on_the_last_chunk)
    with pytest.raises(RuntimeError, match="injected"):
        run_jobs(store, settings, job_names=["eis"])
    assert [len_ for len_, _ in stored_at_call] == [0, 5, 10], "each chunk's states are stored before the next is computed"
    assert stored_at_call[0][1] == 0 and stored_at_call[1][1] > 0 and stored_at_call[2][1] == 2 * stored_at_call[1][1]
    # what the first two chunks wrote is stored and recorded: every output a state names exists
    states = list(store.db.job_items.find({"job": "eis"}))
    assert len(states) == 10 and all(s["state"] == "ok" and s["outputs"] for s in states)
    outputs = {o for s in states for o in s["outputs"]}
    assert store.db.properties.count_documents({"_id": {"$in": sorted(outputs)}}) == len(outputs)
    assert store.db.properties.count_documents({"origin": "derived", "provenance.job": "eis"}) == len(outputs)
    run = store.db.analysis_runs.find_one({"status": "failed"})
    assert run and "injected" in run["errors"][0]["message"]
    # the next run computes only the last chunk's items
    monkeypatch.setattr(runner._Executor, "map", real_map)
    again = run_jobs(store, settings, job_names=["eis"])
    assert again["jobs"]["eis"] == {"items": 12, "computed": 2, "skipped": 10, "failed": 0, "superseded": 0,
                                    "written": again["jobs"]["eis"]["written"], "flagged": 0}
    assert store.db.job_items.count_documents({"job": "eis", "state": "ok"}) == 12


def test_chunked_results_equal_one_batch(three_samples, settings, monkeypatch):
    store = three_samples
    monkeypatch.setattr(runner, "CHUNK_SIZE", 10**9)  # everything in one chunk: the former path
    whole = run_jobs(store, settings, force=True)
    one_batch = _derived_snapshot(store)
    monkeypatch.setattr(runner, "CHUNK_SIZE", 2)
    chunked = run_jobs(store, settings, force=True)
    assert whole["failed"] == chunked["failed"] == 0
    assert whole["jobs"] == chunked["jobs"], "the same counts per job"
    assert whole["jobs"]["eis"]["computed"] == 12 and whole["jobs"]["arrhenius"]["computed"] == 3
    assert len(one_batch) > 60 and _derived_snapshot(store) == one_batch, "chunking changed a stored document"
