"""A failed item is never reported as up to date: `ionbase analyze` without --force retries it.

Real importer, real jobs, the embedded store, the CLI and the analysis-runs API (the `imported`
records of test_analyze_cli_and_times: sample B's refinement has angles that form no cell).
"""

from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from ionbase.jobs.runner import run_jobs
from ionbase.service.cli import main
from tests.jobs.test_analyze_cli_and_times import _env, imported  # noqa: F401  (the fixture)


def _summary(stdout: str) -> dict[str, int]:
    """The counts of the first line of `ionbase analyze`: {computed, up to date, failed, superseded}."""
    line = stdout.splitlines()[0]
    return {k: int(v) for v, k in re.findall(r"(\d+) (computed|up to date|failed|superseded)", line)}


def test_a_failed_item_is_failed_again_not_up_to_date(imported, settings, app_client_for):  # noqa: F811
    cli = CliRunner()
    first = cli.invoke(main, ["analyze", "--quiet"], env=_env(settings))
    assert first.exit_code == 0, first.output
    assert _summary(first.stdout)["failed"] == 1
    failed_state = imported.db.job_items.find_one({"job": "crystallography", "state": "failed"})
    assert failed_state and "angles" in failed_state["error"]

    again = cli.invoke(main, ["analyze", "--quiet"], env=_env(settings))
    assert again.exit_code == 0, again.output
    counts = _summary(again.stdout)
    ok_items = imported.db.job_items.count_documents({"state": "ok"})
    assert counts == {"computed": 0, "up to date": ok_items, "failed": 1, "superseded": 0}, again.stdout
    assert "crystallography" in again.stderr and "angles" in again.stderr, again.stderr
    rows = {ln.split()[0]: [int(v) for v in ln.split()[1:]] for ln in again.stdout.splitlines()[2:] if ln.startswith("  ")}
    assert rows["crystallography"][2:4] == [1, 1], "crystallography: 1 up to date (A), 1 failed (B)"

    # the run record and the API that shows runs say the same
    run_id = re.search(r"run-\S+", again.stdout).group(0)
    run = imported.db.analysis_runs.find_one({"_id": run_id})
    assert run["counts"]["failed"] == 1 and run["counts"]["skipped"] == ok_items
    assert [e["item"] for e in run["errors"]] == [failed_state["item"]]
    body = app_client_for(imported).get(f"/api/v1/analysis-runs/{run_id}").get_json()
    assert body["counts"]["failed"] == 1 and body["counts"]["jobs"]["crystallography"]["failed"] == 1
    assert "angles" in body["errors"][0]["error"]
    state = imported.db.job_items.find_one({"_id": failed_state["_id"]})
    assert state["state"] == "failed" and state["run_id"] == run_id, "the item was tried again in this run"


def test_an_item_that_failed_for_a_passing_reason_is_computed_on_the_next_run(imported, settings, monkeypatch):  # noqa: F811
    """A failure not caused by the inputs (here: a worker error) does not stick until the inputs change."""
    import ionbase.jobs.runner as runner

    real = runner.compute_item

    def flaky(job_name: str, inputs: dict):
        if job_name == "arrhenius":
            return False, "MemoryError: worker ran out of memory"
        return real(job_name, inputs)

    monkeypatch.setattr(runner, "compute_item", flaky)
    first = run_jobs(imported, settings, job_names=["arrhenius"])
    assert first["failed"] == 2 and first["computed"] == 0
    monkeypatch.setattr(runner, "compute_item", real)
    second = run_jobs(imported, settings, job_names=["arrhenius"])
    assert (second["computed"], second["skipped"], second["failed"]) == (2, 0, 0), second
    assert imported.db.properties.count_documents({"name": "activation_energy", "provenance.job": "arrhenius"}) == 2
    third = run_jobs(imported, settings, job_names=["arrhenius"])
    assert (third["computed"], third["skipped"], third["failed"]) == (0, 2, 0), "ok items stay up to date"


@pytest.mark.parametrize("force", [False, True])
def test_import_analysis_line_counts_a_failed_item(imported, settings, force):  # noqa: F811
    """run_jobs' own counts: the broken refinement is failed on every run, forced or not."""
    run_jobs(imported, settings, job_names=["crystallography"])
    result = run_jobs(imported, settings, job_names=["crystallography"], force=force)
    assert result["failed"] == 1 and result["skipped"] == (0 if force else 1)
    assert result["skipped"] + result["computed"] + result["failed"] == result["jobs"]["crystallography"]["items"]


def test_a_stale_output_is_recomputed_not_up_to_date(store, settings, tmp_path):
    """A re-import that changes only what the item's fingerprint does not see (a point's notes) marks
    the fit stale; `analyze` without --force said "1 up to date" and left it stale, so it was gone
    from export, OPTIMADE and plots for good. Now its item is computed again and the fit is current."""
    from ionbase.ingest.importer import Importer, ImportOptions

    def write(notes: str | None) -> None:
        pts = [("0.031 mS/cm", "25 °C"), ("0.072 mS/cm", "40 °C"), ("0.18 mS/cm", "60 °C")]
        props = "".join(
            f'  - {{sample: S1, name: ionic_conductivity, value: "{v}", conditions: {{temperature: "{t}", method: EIS}}'
            + (f', notes: "{notes}"' if notes and i == 0 else "") + "}\n" for i, (v, t) in enumerate(pts))
        (tmp_path / "st.yaml").write_text("source: {doi: 10.1000/stale-2026}\n"
                                          "materials: [{key: M, formula: Na3InCl6, family: halide}]\n"
                                          "samples: [{label: S1, material: M}]\nproperties:\n" + props)
        Importer(store, ImportOptions()).run([tmp_path / "st.yaml"])

    write(None)
    assert run_jobs(store, settings, job_names=["arrhenius"])["computed"] == 1
    ea = store.db.properties.find_one({"name": "activation_energy", "origin": "derived"})
    write("pellet re-polished")
    assert store.db.properties.find_one({"_id": ea["_id"]})["stale"] is True
    again = run_jobs(store, settings, job_names=["arrhenius"])
    assert (again["computed"], again["skipped"]) == (1, 0), again
    now = store.db.properties.find_one({"name": "activation_energy", "origin": "derived"})
    assert now["stale"] is False and now["value"] == pytest.approx(ea["value"], rel=1e-12)
    third = run_jobs(store, settings, job_names=["arrhenius"])
    assert (third["computed"], third["skipped"]) == (0, 1), "current again: up to date"
