"""The analysis job runner on the embedded store: incremental recomputation, provenance, Dask, failures."""

from __future__ import annotations

import math
from importlib import metadata

import numpy as np
import pytest
import yaml

import ionbase
from ionbase.analysis.circuits import compile_circuit
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

KB = 8.617333262e-5
EA = 0.40  # eV
SIGMA0 = 50.0  # S/cm
AREA = 0.785  # cm²
TEMPS_C = [25.0, 40.0, 60.0, 80.0]


def sigma_at(t_c: float) -> float:
    return SIGMA0 * math.exp(-EA / (KB * (t_c + 273.15)))


R_SERIES = 5.0  # ohm, leads and contacts in series with the bulk arc


def spectrum(r_bulk: float) -> dict:
    """A solid-electrolyte spectrum: R0-p(R1,CPE1)-CPE2 from 100 MHz to 0.1 Hz, no noise.

    The arc (Brug C ~ 2e-11 F, ~1.3e-12 F at L/A = 1 cm^-1) is the bulk arc, its apex at 1-15 MHz
    (25-80 °C) inside the window, so it is resolved; R_total = R0 + R1.
    """
    cc = compile_circuit("R0-p(R1,CPE1)-CPE2")
    f = np.logspace(8, -1, 64)
    z = cc.impedance([R_SERIES, r_bulk, 1e-10, 0.9, 1e-6, 0.85], f)
    return {"frequency": f.tolist(), "z_real": z.real.tolist(), "z_imag": z.imag.tolist()}


def lab_file(path, thickness_um: dict[str, float], bad_cell: bool = False) -> None:
    doc = {
        "source": {"doi": "10.1000/jobs-test"},
        "materials": [{"key": "NIC", "formula": "Na3InCl6", "family": "halide"}],
        "samples": [{"label": s, "material": "NIC", "steps": [{"type": "ball_milling", "rpm": 500, "duration": "10 h"}]} for s in thickness_um],
        "measurements": [],
        "structures": [{"sample": "A", "method": "xrd_rietveld", "phases": [
            {"name": "NIC", "formula": "Na3InCl6", "z": 2, "space_group": {"symbol": "P21/n", "number": 14},
             "lattice": {"a": "6.40 Å", "b": "6.75 Å", "c": "9.61 Å", "beta": "91.4 degree"}}]}],
    }
    if bad_cell:  # angles that form no cell: this item must fail without stopping the rest
        doc["structures"].append({"sample": "B", "method": "xrd_rietveld", "phases": [
            {"name": "broken", "lattice": {"a": "5 Å", "b": "5 Å", "c": "5 Å", "alpha": "170 degree", "beta": "170 degree", "gamma": "170 degree"}}]})
    for sample, thick in thickness_um.items():
        for t in TEMPS_C:
            r = (thickness_um["A"] * 1e-4) / (sigma_at(t) * AREA)  # the same pellet resistance for both samples
            doc["measurements"].append({
                "sample": sample, "kind": "impedance_spectrum", "label": f"EIS {t:g} C", "temperature": f"{t} °C",
                "cell": {"electrodes": "Au|SE|Au", "blocking": "ion", "thickness": f"{thick} µm", "area": f"{AREA} cm**2"},
                **spectrum(r),
            })
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _derived(store, name: str, sample_label: str) -> list[dict]:
    return list(store.db.properties.find({"name": name, "origin": "derived", "sample_label": sample_label}))


def test_incremental_recompute_with_provenance(store, settings, tmp_path):
    path = tmp_path / "lab.yaml"
    lab_file(path, {"A": 500.0, "B": 500.0})
    Importer(store, ImportOptions()).run([path])
    first = run_jobs(store, settings)
    assert first["failed"] == 0, first["errors"]
    assert first["jobs"]["eis"]["computed"] == 8 and first["jobs"]["arrhenius"]["computed"] == 2
    assert first["jobs"]["crystallography"]["computed"] == 1
    # total sigma = L/(A (R0 + R_bulk)) and bulk sigma = L/(A R_bulk) from the fit and the pellet geometry
    by_t = {round(p["temperature_c"]): p for p in _derived(store, "ionic_conductivity", "A") if p["provenance"]["job"] == "eis"}
    bulk = {round(p["temperature_c"]): p for p in _derived(store, "bulk_conductivity", "A")}
    for t in TEMPS_C:
        r_bulk = 0.05 / (sigma_at(t) * AREA)
        assert by_t[round(t)]["value"] == pytest.approx(0.05 / (AREA * (R_SERIES + r_bulk)), rel=0.01)
        assert bulk[round(t)]["value"] == pytest.approx(sigma_at(t), rel=0.01)
    ea = _derived(store, "activation_energy", "A")[0]
    assert ea["value"] == pytest.approx(EA, abs=0.005) and ea["uncertainty"] < 0.01
    prov = ea["provenance"]
    assert prov["job"] == "arrhenius" and prov["job_version"] and prov["run_id"] == first["run_id"]
    # every derived value names the installed package and library versions, read from their metadata
    expected = {d: metadata.version(d) for d in ("ionbase", "numpy", "scipy", "pymatgen", "impedance", "uncertainties", "pint")}
    derived = list(store.db.properties.find({"origin": "derived"}, {"provenance": 1}))
    assert len(derived) > 30 and {p["provenance"]["job"] for p in derived} >= {"eis", "arrhenius", "crystallography"}
    assert all(p["provenance"]["versions"] == expected for p in derived), derived[0]["provenance"]
    assert all(p["provenance"]["code_version"] == metadata.version("ionbase") == ionbase.__version__ for p in derived)
    assert sorted(prov["inputs"]) == sorted(p["_id"] for p in by_t.values())
    vol = _derived(store, "cell_volume", "A")[0]
    assert vol["value"] == pytest.approx(6.40 * 6.75 * 9.61 * math.sin(math.radians(91.4)), rel=1e-9)
    # nothing changed: nothing is computed
    second = run_jobs(store, settings)
    assert second["computed"] == 0 and second["skipped"] == first["computed"]
    # correct one pellet thickness: exactly that sample's dependent items rerun
    lab_file(path, {"A": 500.0, "B": 400.0})
    report = Importer(store, ImportOptions()).run([path])
    assert report.counts["measurements"]["changed"] == 4 and report.counts["total"]["changed"] == 4
    stale = store.db.properties.count_documents({"sample_label": "B", "origin": "derived", "provenance.job": "eis", "stale": True})
    assert stale == 20, "4 spectra x (R_total, R_bulk, bulk capacitance, sigma_total, sigma_bulk) of B are stale until recomputed"
    stale_ea = store.db.properties.count_documents({"sample_label": "B", "provenance.job": "arrhenius", "stale": True})
    assert stale_ea == 2, "and so are the Arrhenius results fitted to them (Ea and prefactor; 25 °C was measured)"
    assert store.db.properties.count_documents({"sample_label": "A", "stale": True}) == 0
    third = run_jobs(store, settings)
    assert third["jobs"]["eis"]["computed"] == 4 and third["jobs"]["arrhenius"]["computed"] == 1
    assert third["jobs"]["crystallography"]["computed"] == 0 and third["jobs"]["eis"]["skipped"] == 4
    new_b = {round(p["temperature_c"]): p for p in _derived(store, "ionic_conductivity", "B") if p["provenance"]["job"] == "eis"}
    for t in TEMPS_C:
        r_b = 0.05 / (sigma_at(t) * AREA)  # the same pellet resistance, now with L = 400 µm
        assert new_b[round(t)]["value"] == pytest.approx(0.04 / (AREA * (R_SERIES + r_b)), rel=0.01)
        assert new_b[round(t)]["provenance"]["run_id"] == third["run_id"] and not new_b[round(t)]["stale"]
    assert _derived(store, "activation_energy", "B")[0]["provenance"]["run_id"] == third["run_id"]
    assert _derived(store, "activation_energy", "A")[0]["provenance"]["run_id"] == first["run_id"]
    assert run_jobs(store, settings)["computed"] == 0


def test_removed_inputs_supersede_outputs(store, settings, tmp_path):
    path = tmp_path / "lab.yaml"
    lab_file(path, {"A": 500.0})
    Importer(store, ImportOptions()).run([path])
    run_jobs(store, settings)
    assert _derived(store, "activation_energy", "A")
    # inputs removed behind the runner's back (a rollback removes the derived values itself:
    # tests/jobs/test_rollback_derived.py)
    for coll in ("measurements", "measurement_arrays", "structures"):
        store.db[coll].delete_many({})
    result = run_jobs(store, settings)
    assert result["superseded"] >= 5
    assert store.db.properties.count_documents({"origin": "derived"}) == 0


def test_dask_cluster_path_and_failing_item(store, settings, tmp_path, monkeypatch):
    import ionbase.jobs.runner as runner

    distributed = pytest.importorskip("distributed")
    monkeypatch.setattr(runner, "CHUNK_SIZE", 3)  # several chunks per job through the cluster
    path = tmp_path / "lab.yaml"
    lab_file(path, {"A": 500.0, "B": 450.0}, bad_cell=True)
    Importer(store, ImportOptions()).run([path])
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        result = run_jobs(store, settings.with_(dask_scheduler=cluster.scheduler_address))
    assert result["executor"] == "dask"
    assert result["failed"] == 1 and result["errors"][0]["job"] == "crystallography"
    assert "angles" in result["errors"][0]["error"]
    assert result["jobs"]["eis"]["computed"] == 8 and result["jobs"]["arrhenius"]["computed"] == 2
    state = store.db.job_items.find_one({"job": "crystallography", "state": "failed"})
    assert state and "angles" in state["error"]
    run = store.db.analysis_runs.find_one({"_id": result["run_id"]})
    assert run["status"] == "finished" and run["counts"]["failed"] == 1


def test_process_pool_path(store, settings, tmp_path, monkeypatch):
    import ionbase.jobs.runner as runner

    monkeypatch.setattr(runner, "INLINE_THRESHOLD", 1)
    monkeypatch.setattr(runner, "CHUNK_SIZE", 3)  # several chunks per job through the pool
    path = tmp_path / "lab.yaml"
    lab_file(path, {"A": 500.0})
    Importer(store, ImportOptions()).run([path])
    result = run_jobs(store, settings.with_(workers=2))
    assert result["executor"] == "process-pool" and result["failed"] == 0 and result["jobs"]["eis"]["computed"] == 4
