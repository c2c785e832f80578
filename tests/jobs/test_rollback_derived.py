"""Rollback leaves the store as if the batch had never been imported, derived values included.

Real importer, real jobs (EIS circuit fits, Arrhenius), embedded store over the wire, and the two
entry points users call: ``ionbase import rollback`` and ``POST /api/v1/imports/{id}/rollback``.
"""

from __future__ import annotations

import csv
import io
import json

import pytest
import yaml

from ionbase.store.rollback import RollbackRefused, rollback
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs
from tests.jobs.test_runner import AREA, TEMPS_C, sigma_at, spectrum

DOI = "10.1000/rollback-test"
TRUE_THICKNESS_UM = 500.0  # the spectra are those of a 500 µm pellet


def lab_file(path, spectra: dict[str, dict[float, tuple[float, float]]], new_samples: tuple[str, ...] = (),
             reported: list[dict] | None = None) -> None:
    """``spectra``: sample -> {temperature °C: (stated thickness µm, sigma factor)}; samples in
    ``new_samples`` are declared (the others are found in the store)."""
    doc = {
        "source": {"doi": DOI},
        "materials": [{"key": "NIC", "formula": "Na3InCl6", "family": "halide"}],
        "samples": [{"label": s, "material": "NIC", "steps": [{"type": "ball_milling", "rpm": 500, "duration": "10 h"}]}
                    for s in new_samples],
        "measurements": [],
        "properties": reported or [],
    }
    for sample, temps in spectra.items():
        for t, (thick, factor) in temps.items():
            r = (TRUE_THICKNESS_UM * 1e-4) / (sigma_at(t) * factor * AREA)
            doc["measurements"].append({
                "sample": sample, "kind": "impedance_spectrum", "label": f"EIS {t:g} C", "temperature": f"{t} °C",
                "cell": {"electrodes": "Au|SE|Au", "blocking": "ion", "thickness": f"{thick} µm", "area": f"{AREA} cm**2"},
                **spectrum(r),
            })
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def _run(store, path) -> str:
    return Importer(store, ImportOptions()).run([path]).batch_id


def _derived(store, sample_label: str) -> dict[tuple, dict]:
    """Derived properties of a sample keyed by (job, name, temperature °C)."""
    out = {}
    for p in store.db.properties.find({"origin": "derived", "sample_label": sample_label}):
        key = (p["provenance"]["job"], p["name"], round(p["temperature_c"]) if p.get("temperature_c") is not None else None)
        assert key not in out, key
        out[key] = p
    return out


def _values(derived: dict[tuple, dict]) -> dict[tuple, float]:
    return {k: p["value"] for k, p in derived.items()}


def _sample_id(store, label: str) -> str:
    return store.db.samples.find_one({"label": label})["_id"]


def _app(settings, store):
    from ionbase.service.app import create_app

    return create_app(settings, store=store)


def test_rollback_of_a_batch_that_created_a_sample_leaves_nothing_of_it(store, settings, tmp_path):
    """CLI rollback: the new sample C vanishes with every derived value; sample A, which the batch
    gave a fifth spectrum, gets back exactly its four-point Arrhenius fit."""
    from click.testing import CliRunner

    from ionbase.service.cli import import_group
    from ionbase.service.export import build_rows

    base = {t: (500.0, 1.0) for t in TEMPS_C}
    first = tmp_path / "first.yaml"
    lab_file(first, {"A": base}, new_samples=("A",))
    _run(store, first)
    assert run_jobs(store, settings)["failed"] == 0
    before = _derived(store, "A")
    assert before[("arrhenius", "activation_energy", None)]["value"] == pytest.approx(0.40, abs=0.005)

    second = tmp_path / "second.yaml"
    lab_file(second, {"C": {t: (450.0, 2.0) for t in TEMPS_C}, "A": {100.0: (500.0, 3.0)}}, new_samples=("C",),
             reported=[{"sample": "C", "name": "ionic_conductivity", "value": "0.9 mS/cm",
                        "conditions": {"temperature": "25 °C", "method": "DC"}}])
    batch = _run(store, second)
    c_id = _sample_id(store, "C")
    assert run_jobs(store, settings)["failed"] == 0
    c_derived = _derived(store, "C")
    assert {("arrhenius", "activation_energy", None), ("arrhenius", "conductivity_prefactor", None)} <= set(c_derived)
    a_after = _derived(store, "A")
    assert ("eis", "ionic_conductivity", 100) in a_after
    ea_5 = a_after[("arrhenius", "activation_energy", None)]["value"]
    assert abs(ea_5 - before[("arrhenius", "activation_energy", None)]["value"]) > 0.01, "the fifth point moved Ea"

    res = CliRunner().invoke(import_group, ["rollback", batch, "--json"], obj={"settings": settings, "store": store})
    assert res.exit_code == 0, res.output
    result = json.loads(res.stdout)
    assert result["derived_deleted"] >= len(c_derived) + 3 and c_id in result["samples"]
    assert result["analysis"]["failed"] == 0 and result["analysis"]["computed"] >= 1

    # nothing of C remains, in any collection, visible or not
    assert store.db.samples.count_documents({"_id": c_id}) == 0
    for coll in ("properties", "measurements", "structures", "job_items"):
        assert store.db[coll].count_documents({"sample": c_id}) == 0, coll
    assert store.db.measurement_arrays.count_documents({"measurement": {"$regex": c_id}}) == 0
    app = _app(settings, store).test_client()
    body = app.get("/api/v1/properties", query_string={"filter": 'sample_label="C"'}).get_json()
    assert body["data"] == [], body
    assert app.get(f"/api/v1/samples/{c_id}").status_code == 404
    rows = list(csv.DictReader(io.StringIO(app.get("/api/v1/export", query_string={"format": "csv"}).get_data(as_text=True))))
    assert rows and {r["sample_label"] for r in rows} == {"A"}, {r["sample_label"] for r in rows}
    assert all(row["sample_id"] != c_id for row in build_rows(store, {}))

    # A is back to its four spectra and the derived values computed from them
    after = _derived(store, "A")
    assert set(after) == set(before)
    for key, value in _values(before).items():
        assert after[key]["value"] == pytest.approx(value, rel=1e-9), key
        assert not after[key]["stale"]
    sigma_ids = sorted(p["_id"] for k, p in after.items() if k[:2] == ("eis", "ionic_conductivity"))
    assert sorted(after[("arrhenius", "activation_energy", None)]["provenance"]["inputs"]) == sigma_ids
    assert store.db.measurements.count_documents({"sample": _sample_id(store, "A")}) == 4


def test_rollback_of_a_thickness_correction_restores_the_earlier_derived_values(store, settings, tmp_path, monkeypatch):
    """API rollback of a corrected pellet thickness: sigma, Ea and the prefactor are the numbers
    computed from the restored thickness again, with provenance pointing at the restored inputs."""
    from ionbase.service.keys import create_key, server_secret

    path = tmp_path / "lab.yaml"
    lab_file(path, {"B": {t: (500.0, 1.0) for t in TEMPS_C}}, new_samples=("B",))
    first = _run(store, path)
    run_jobs(store, settings)
    before = _derived(store, "B")
    assert before[("eis", "ionic_conductivity", 80)]["value"] == pytest.approx(sigma_at(80.0), rel=0.01)

    # the 80 °C pellet was in fact 400 µm thick
    lab_file(path, {"B": {**{t: (500.0, 1.0) for t in TEMPS_C}, 80.0: (400.0, 1.0)}}, new_samples=("B",))
    correction = _run(store, path)
    run_jobs(store, settings)
    corrected = _derived(store, "B")
    assert corrected[("eis", "ionic_conductivity", 80)]["value"] == pytest.approx(0.8 * sigma_at(80.0), rel=0.01)
    assert corrected[("arrhenius", "activation_energy", None)]["value"] != pytest.approx(
        before[("arrhenius", "activation_energy", None)]["value"], rel=1e-3)

    # a later batch that changed the same documents must be rolled back first
    with pytest.raises(RollbackRefused, match=correction):
        rollback(store, first)

    client = _app(settings, store).test_client()
    token = create_key(store, "steward", "writer", server_secret(settings))[1]
    assert client.post(f"/api/v1/imports/{correction}/rollback").status_code == 401
    bad = client.post(f"/api/v1/imports/{correction}/rollback", query_string={"dry_run": "true"}, headers={"X-API-Key": token})
    assert bad.status_code == 400 and "dry_run" in bad.get_json()["message"]
    assert client.post("/api/v1/imports/imp-none/rollback", headers={"X-API-Key": token}).status_code == 404
    r = client.post(f"/api/v1/imports/{correction}/rollback", headers={"X-API-Key": token})
    assert r.status_code == 200, r.get_json()
    out = r.get_json()
    assert out["restored"] == 1 and out["deleted"] == 0 and out["analysis"]["failed"] == 0

    after = _derived(store, "B")
    assert set(after) == set(before)
    for key, value in _values(before).items():
        assert after[key]["value"] == pytest.approx(value, rel=1e-9), key
        assert after[key].get("uncertainty") == pytest.approx(before[key].get("uncertainty"), rel=1e-6), key
        assert not after[key]["stale"]
    sigma80 = after[("eis", "ionic_conductivity", 80)]
    meas = store.db.measurements.find_one({"_id": sigma80["provenance"]["inputs"][0]})
    assert meas["cell"]["thickness"]["value"] == 500.0 and meas["batch_id"] == first
    assert sigma80["provenance"]["parameters"]["thickness_cm"] == pytest.approx(0.05)
    sigma_ids = sorted(p["_id"] for k, p in after.items() if k[:2] == ("eis", "ionic_conductivity"))
    for name in ("activation_energy", "conductivity_prefactor"):
        assert sorted(after[("arrhenius", name, None)]["provenance"]["inputs"]) == sigma_ids
    shown = client.get(f"/api/v1/imports/{correction}").get_json()
    assert shown["status"] == "rolled_back" and shown["rollback"]["state"] == "done" and "samples" not in shown["rollback"]
    assert shown["files"] and all("path" not in f for f in shown["files"]), "no server-side paths"
    listed = client.get("/api/v1/imports").get_json()["data"]
    assert all("path" not in f for b in listed for f in b["files"]) and all("samples" not in b.get("rollback", {}) for b in listed)
    # rolling back again changes nothing
    again = client.post(f"/api/v1/imports/{correction}/rollback", headers={"X-API-Key": token}).get_json()
    assert again["deleted"] == again["restored"] == again["derived_deleted"] == 0


def test_between_rollback_and_recompute_no_value_of_rolled_back_inputs_is_served(store, settings, tmp_path):
    """store.rollback.rollback alone: values derived from the rolled-back thickness are gone at once
    (hidden until recomputed), and the runner brings back the earlier ones."""
    path = tmp_path / "lab.yaml"
    lab_file(path, {"B": {t: (500.0, 1.0) for t in TEMPS_C}}, new_samples=("B",))
    _run(store, path)
    run_jobs(store, settings)
    before = _values(_derived(store, "B"))
    lab_file(path, {"B": {t: (400.0, 1.0) for t in TEMPS_C}}, new_samples=("B",))
    correction = _run(store, path)
    run_jobs(store, settings)
    result = rollback(store, correction)
    assert result["restored"] == 4 and result["samples"] == [_sample_id(store, "B")]
    leftover = [p for p in store.db.properties.find({"origin": "derived"})
                if p["provenance"]["parameters"].get("thickness_cm") == pytest.approx(0.04)]
    assert leftover == []
    assert store.db.properties.count_documents({"origin": "derived", "provenance.job": {"$in": ["eis", "arrhenius"]}}) == 0
    assert store.db.job_items.count_documents({"job": {"$in": ["eis", "arrhenius"]}}) == 0
    run = run_jobs(store, settings, sample_ids=result["samples"])
    assert run["failed"] == 0
    after = _values(_derived(store, "B"))
    assert set(after) == set(before)
    for key, value in before.items():
        assert after[key] == pytest.approx(value, rel=1e-9), key


def test_an_interrupted_rollback_is_finished_by_recover(store, settings, tmp_path, monkeypatch):
    """A rollback killed after hiding the batch: recover() finishes it and names the samples to
    recompute; nothing derived from the rolled-back thickness survives meanwhile."""
    import ionbase.store.rollback as batches
    from ionbase.ingest.importer import recover

    path = tmp_path / "lab.yaml"
    lab_file(path, {"B": {t: (500.0, 1.0) for t in TEMPS_C}}, new_samples=("B",))
    _run(store, path)
    run_jobs(store, settings)
    before = _values(_derived(store, "B"))
    lab_file(path, {"B": {t: (400.0, 1.0) for t in TEMPS_C}}, new_samples=("B",))
    correction = _run(store, path)
    run_jobs(store, settings)

    def killed(db, batch_id):
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(batches, "_restore_and_delete", killed)
    with pytest.raises(KeyboardInterrupt):
        rollback(store, correction)
    monkeypatch.undo()
    batch = store.db.import_batches.find_one({"_id": correction})
    assert batch["status"] == "rolled_back" and batch["rollback"]["state"] == "running"
    assert store.db.properties.count_documents({"origin": "derived", "provenance.job": {"$in": ["eis", "arrhenius"]}}) == 0
    done = recover(store)  # same process: its own rollback is not "live elsewhere"
    assert done == [{"batch": correction, "action": "rollback finished", "samples": [_sample_id(store, "B")]}]
    assert store.db.import_batches.find_one({"_id": correction})["rollback"]["state"] == "done"
    assert store.db.measurements.count_documents({"cell.thickness.value": 500.0}) == 4
    run_jobs(store, settings, sample_ids=done[0]["samples"])
    after = _values(_derived(store, "B"))
    assert set(after) == set(before)
    for key, value in before.items():
        assert after[key] == pytest.approx(value, rel=1e-9), key


def test_rollback_refused_while_a_later_batch_added_records_to_a_sample_it_created(store, settings, tmp_path):
    first = tmp_path / "first.yaml"
    lab_file(first, {"D": {t: (500.0, 1.0) for t in TEMPS_C}}, new_samples=("D",))
    created = _run(store, first)
    run_jobs(store, settings)
    later_file = tmp_path / "later.yaml"
    lab_file(later_file, {}, reported=[{"sample": "D", "name": "ionic_conductivity", "value": "0.9 mS/cm",
                                        "conditions": {"temperature": "25 °C", "method": "DC"}}])
    later = _run(store, later_file)
    with pytest.raises(RollbackRefused, match=f"later batch\\(es\\) {later} .*roll those back first"):
        rollback(store, created)
    assert store.db.import_batches.find_one({"_id": created})["status"] == "committed"
    assert store.db.properties.count_documents({"origin": "derived", "sample_label": "D"}) > 0, "nothing was touched"
    rollback(store, later)
    result = rollback(store, created)
    assert result["deleted"] > 0
    assert store.db.properties.count_documents({}) == 0 and store.db.samples.count_documents({"label": "D"}) == 0
    assert store.db.job_items.count_documents({}) == 0


def test_derived_values_follow_a_corrected_synthesis_and_its_rollback(store, settings, tmp_path):
    """Derived documents carry the sample's synthesis summary (queried as synthesis.milling_time_h):
    the import that corrects the milling time writes the new summary on them too (ingest/cascade.py;
    until 2026-12-03 they kept 10 h until the next run) and marks them stale, as their inputs changed;
    the next run recomputes them; rolling the correction back brings the earlier summary back."""
    from ionbase.service.imports.rollback import rollback_batch

    def milling(label):
        docs = list(store.db.properties.find({"origin": "derived", "sample_label": label}))
        return {d["synthesis"]["milling_time_h"] for d in docs}, {bool(d["stale"]) for d in docs}, len(docs)

    path = tmp_path / "lab.yaml"
    lab_file(path, {"B": {t: (500.0, 1.0) for t in TEMPS_C}}, new_samples=("B",))
    _run(store, path)
    run_jobs(store, settings)
    before = _values(_derived(store, "B"))
    assert milling("B") == ({10.0}, {False}, len(before))
    path.write_text(path.read_text().replace("duration: 10 h", "duration: 4 h"))
    correction = _run(store, path)
    assert milling("B") == ({4.0}, {True}, len(before)), "the new summary, stale until recomputed"
    run = run_jobs(store, settings)
    assert run["failed"] == 0 and run["computed"] == 5  # 4 spectra, 1 Arrhenius fit
    assert milling("B") == ({4.0}, {False}, len(before))
    assert _values(_derived(store, "B")) == pytest.approx(before, rel=1e-9)
    result = rollback_batch(store, settings, correction)
    # the sample, and the derived documents whose summary the correction wrote (ingest/cascade.py)
    assert result["restored"] == 1 + len(before) and result["analysis"]["failed"] == 0
    assert milling("B") == ({10.0}, {False}, len(before))
    assert _values(_derived(store, "B")) == pytest.approx(before, rel=1e-9)
