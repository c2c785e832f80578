"""Arrhenius fits per series (issue 9, point 3), through the real importer and job on the embedded store.

A fit belongs to one series: the points of one measurement, the EIS-derived conductivities of one
method and cell, or loose points sharing method and cell at >= 3 temperatures. A poor fit is
stored with its flags.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from ionbase.analysis.arrhenius import fit_arrhenius
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

KB = 8.617333262e-5
EA = 0.33  # eV
SIGMA0 = 1.0e3  # S/cm, the form the job fits: sigma = sigma0 exp(-Ea / kT)
SERIES_C = [30.0, 50.0, 70.0, 90.0, 110.0]
NOISE = [1.01, 0.99, 1.0, 1.015, 0.985]  # a few % scatter, as read off a figure


def sigma_at(t_c: float) -> float:
    return SIGMA0 * math.exp(-EA / (KB * (t_c + 273.15)))


def write(path, measurements: list[dict], properties: list[dict]) -> None:
    doc = {
        "source": {"doi": "10.1000/arrhenius-series"},
        "materials": [{"key": "LPSC", "formula": "Li6PS5Cl", "family": "sulfide"}],
        "samples": [{"label": "S", "material": "LPSC"}],
        "measurements": measurements,
        "properties": properties,
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))


def series(label: str = "sigma(T)", temps=SERIES_C, values=None, method: str = "EIS") -> dict:
    values = values or [sigma_at(t) * n for t, n in zip(temps, NOISE)]
    return {"sample": "S", "kind": "conductivity_series", "label": label, "method": method, "carrier": "ionic",
            "cell": {"electrodes": "Au|SE|Au", "blocking": "ion"}, "source": {"figure": "3a"},
            "points": [{"temperature": f"{t} °C", "conductivity": f"{v} S/cm"} for t, v in zip(temps, values)]}


def loose(value: str, t_c: float, method: str, cell: str | None = None, figure: str = "1") -> dict:
    cond = {"temperature": f"{t_c} °C", "method": method, **({"cell": cell} if cell else {})}
    return {"sample": "S", "name": "ionic_conductivity", "value": value, "conditions": cond, "source": {"figure": figure}}


def arrhenius_outputs(store, name: str = "activation_energy") -> list[dict]:
    return list(store.db.properties.find({"name": name, "provenance.job": "arrhenius"}).sort("_id", 1))


def test_series_with_a_stray_room_temperature_value_of_another_method(store, settings, tmp_path):
    """The acceptance case: Ea is the series' Ea within 2 %, fitted over exactly its 5 points."""
    path = tmp_path / "lab.yaml"
    stray = loose("0.02 S/cm", 25.0, "DC four-probe", figure="abstract")
    write(path, [series()], [stray])
    Importer(store, ImportOptions()).run([path])
    result = run_jobs(store, settings, job_names=["arrhenius"])
    assert result["failed"] == 0, result["errors"]
    assert result["jobs"]["arrhenius"]["computed"] == 1  # the stray value alone is no series
    (ea,) = arrhenius_outputs(store)
    assert ea["value"] == pytest.approx(EA, rel=0.02)
    points = {p["_id"]: p for p in store.db.properties.find({"name": "ionic_conductivity", "origin": "measured"})}
    assert len(points) == 5 and {p["measurement"] for p in points.values()} == {ea["provenance"]["parameters"]["series"]["measurement"]}
    assert sorted(ea["provenance"]["inputs"]) == sorted(points)
    used = ea["provenance"]["parameters"]["points"]
    assert sorted(u["property"] for u in used) == sorted(points)
    assert sorted(round(u["temperature_k"] - 273.15, 6) for u in used) == SERIES_C
    assert ea["provenance"]["parameters"]["series"]["kind"] == "measurement"
    assert "flags" not in ea, "a clean 5-point series is not flagged"
    # the test can fail: pooling the stray value, as the job did before, gives another Ea
    stray_doc = store.db.properties.find_one({"name": "ionic_conductivity", "origin": "reported"})
    pooled = fit_arrhenius([p["temperature_k"] for p in points.values()] + [stray_doc["temperature_k"]],
                           [p["value"] for p in points.values()] + [stray_doc["value"]])
    assert abs(pooled.Ea_eV - EA) / EA > 0.1, pooled.Ea_eV
    # sigma(25 °C) is extrapolated from the series, flagged as approximate, not taken from the stray value
    s25 = [p for p in arrhenius_outputs(store, "ionic_conductivity")]
    assert len(s25) == 1 and s25[0]["value"] == pytest.approx(sigma_at(25.0), rel=0.05) and s25[0]["qualifier"] == "approximate"


def test_several_series_of_one_sample_give_one_result_each(store, settings, tmp_path):
    """Two measurements and three loose points sharing method and cell: three fits, distinct ids."""
    path = tmp_path / "lab.yaml"
    other = [sigma_at(t) * 10 for t in SERIES_C]  # another pellet, same Ea, ten times the prefactor
    props = [loose(f"{sigma_at(t) * 3} S/cm", t, "EIS", cell="SS|SE|SS", figure="S4") for t in (40.0, 60.0, 80.0)]
    props += [loose("1e-3 S/cm", 45.0, "EIS", cell="In|SE|In"), loose("2e-3 S/cm", 65.0, "EIS", cell="In|SE|In")]
    write(path, [series("run 1"), series("run 2", values=other)], props)
    Importer(store, ImportOptions()).run([path])
    result = run_jobs(store, settings)
    assert result["failed"] == 0, result["errors"]
    eas = arrhenius_outputs(store)
    assert len(eas) == 3 and len({e["_id"] for e in eas}) == 3
    kinds = sorted(e["provenance"]["parameters"]["series"]["kind"] for e in eas)
    assert kinds == ["measurement", "measurement", "pooled"]
    for e in eas:
        assert e["value"] == pytest.approx(EA, rel=0.02)
    pooled = [e for e in eas if e["provenance"]["parameters"]["series"]["kind"] == "pooled"][0]
    assert pooled["provenance"]["parameters"]["series"] == {"kind": "pooled", "method": "EIS", "cell": "SS|SE|SS"}
    assert len(pooled["provenance"]["inputs"]) == 3 and pooled["flags"] == ["few_points"]
    # deterministic: a forced rerun writes the same ids
    ids = sorted(e["_id"] for e in eas)
    run_jobs(store, settings, force=True)
    assert sorted(e["_id"] for e in arrhenius_outputs(store)) == ids


def test_poor_series_is_stored_flagged_and_can_be_excluded(store, settings, tmp_path, app_client_for):
    path = tmp_path / "lab.yaml"
    scattered = [5e-4, 2e-3, 9e-4, 3e-3, 1.2e-3]  # a rising trend with much scatter: R² 0.27
    write(path, [series(values=scattered)], [])
    Importer(store, ImportOptions()).run([path])
    result = run_jobs(store, settings)
    assert result["flagged"] >= 2 and result["jobs"]["arrhenius"]["flagged"] >= 2
    (ea,) = arrhenius_outputs(store)
    r2 = ea["provenance"]["parameters"]["r2"]
    assert r2 == pytest.approx(0.274, abs=0.01) and ea["flags"] == ["poor_fit"]
    assert arrhenius_outputs(store, "conductivity_prefactor")[0]["flags"] == ["poor_fit"]
    client = app_client_for(store)
    body = client.get("/api/v1/properties", query_string={"filter": 'property="activation_energy"'}).get_json()
    assert [d["flags"] for d in body["data"]] == [["poor_fit"]]
    body = client.get("/api/v1/properties", query_string={"filter": 'property="activation_energy" AND flags HAS "poor_fit"'}).get_json()
    assert len(body["data"]) == 1
    body = client.get("/api/v1/properties", query_string={"filter": 'property="activation_energy" AND NOT flags IS KNOWN'}).get_json()
    assert body["data"] == []
    # the ML export takes the same filter: with it, the flagged Ea does not reach the table
    rows = [json.loads(line) for line in client.get("/api/v1/export", query_string={"format": "jsonl"}).data.splitlines()]
    assert {r.get("activation_energy_eV") for r in rows} - {None} == {ea["value"]}
    rows = [json.loads(line) for line in client.get("/api/v1/export", query_string={
        "format": "jsonl", "filter": "NOT flags IS KNOWN"}).data.splitlines()]
    assert rows and all(r.get("activation_energy_eV") is None for r in rows)


def test_series_that_disappear_are_superseded(store, settings, tmp_path):
    """A sample going from one series to two and back: the outputs of the series gone disappear."""
    from ionbase.ingest.importer import rollback

    first, second = tmp_path / "series.yaml", tmp_path / "table.yaml"
    write(first, [series()], [])
    Importer(store, ImportOptions()).run([first])
    run_jobs(store, settings)
    (only,) = arrhenius_outputs(store)
    # a table of loose points sharing method and cell, imported later: a second series
    pts = [loose(f"{sigma_at(t) * 2} S/cm", t, "EIS", cell="SS|SE|SS") for t in (40.0, 60.0, 80.0, 100.0)]
    write(second, [], pts)
    report = Importer(store, ImportOptions()).run([second])
    result = run_jobs(store, settings)
    assert result["jobs"]["arrhenius"]["computed"] == 1 and result["jobs"]["arrhenius"]["skipped"] == 1
    assert len(arrhenius_outputs(store)) == 2
    rollback(store, report.batch_id)
    # rollback itself removes the outputs (and job state) of the series whose points it removed
    assert [e["_id"] for e in arrhenius_outputs(store)] == [only["_id"]]
    assert store.db.job_items.count_documents({"job": "arrhenius"}) == 1
    result = run_jobs(store, settings)
    assert result["jobs"]["arrhenius"]["computed"] == 0 and result["jobs"]["arrhenius"]["skipped"] == 1
    assert [e["_id"] for e in arrhenius_outputs(store)] == [only["_id"]]
    assert store.db.properties.count_documents({"provenance.job": "arrhenius"}) == 3  # Ea, prefactor, sigma(25 °C)
    assert store.db.job_items.count_documents({"job": "arrhenius"}) == 1


def test_eis_derived_series_keeps_out_a_stray_value(store, settings, tmp_path):
    """Spectra at four temperatures (one pellet, Au|SE|Au) give one series; a stated 25 °C value of
    another method stays out of it."""
    from tests.jobs import test_runner as tr

    path, extra = tmp_path / "lab.yaml", tmp_path / "stray.yaml"
    tr.lab_file(path, {"A": 500.0})
    extra.write_text(yaml.safe_dump({
        "source": {"doi": "10.1000/jobs-test"},
        "properties": [{"sample": "A", "name": "ionic_conductivity", "value": "1e-3 S/cm",
                        "conditions": {"temperature": "25 °C", "method": "DC four-probe"}, "source": {"section": "abstract"}}]},
        sort_keys=False, allow_unicode=True))
    Importer(store, ImportOptions()).run([path, extra])
    result = run_jobs(store, settings, job_names=["eis", "arrhenius"])
    assert result["failed"] == 0, result["errors"]
    (ea,) = arrhenius_outputs(store)
    assert ea["value"] == pytest.approx(tr.EA, rel=0.02)
    series_desc = ea["provenance"]["parameters"]["series"]
    assert series_desc == {"kind": "eis", "method": "EIS", "electrodes": "Au|SE|Au", "blocking": "ion"}
    eis_sigma = {p["_id"] for p in store.db.properties.find({"name": "ionic_conductivity", "provenance.job": "eis"})}
    assert len(eis_sigma) == 4 and set(ea["provenance"]["inputs"]) == eis_sigma
    assert "flags" not in ea, "4 temperatures on a clean line are not flagged"


def test_flagged_inputs_flag_the_fit():
    """A series containing flagged points (e.g. poor circuit fits) gives flagged outputs naming them."""
    from ionbase.jobs.definitions import compute_arrhenius

    temps_k = [t + 273.15 for t in SERIES_C]
    inputs = {"name": "ionic_conductivity", "series": {"kind": "eis", "method": "EIS"},
              "ids": [f"p{i}" for i in range(5)], "T": temps_k, "sigma": [sigma_at(t) for t in SERIES_C]}
    clean = compute_arrhenius(dict(inputs, flagged_inputs=[]))
    assert all(not o.get("flags") for o in clean)
    flagged = compute_arrhenius(dict(inputs, flagged_inputs=["p2"]))
    assert [o["value"] for o in flagged] == [o["value"] for o in clean]
    for o in flagged:
        assert "flagged_inputs" in o["flags"] and o["parameters"]["flagged_inputs"] == ["p2"]


def test_two_series_are_shown_as_two_fits(store, settings, tmp_path, app_client_for):
    """The sample's Arrhenius view and plot show one fit per series; the plot fits nothing on the fly
    over points of several series."""
    path = tmp_path / "two.yaml"
    pts = [loose(f"{sigma_at(t) * 2} S/cm", t, "EIS", cell="SS|SE|SS") for t in (40.0, 60.0, 80.0, 100.0)]
    write(path, [series()], pts)
    Importer(store, ImportOptions()).run([path])
    run_jobs(store, settings)
    (sample,) = store.db.samples.find({"label": "S"})
    client = app_client_for(store)
    body = client.get(f"/api/v1/samples/{sample['_id']}/arrhenius").get_json()
    assert len([q for q in body["points"] if q["origin"] != "derived"]) == 9  # + each series' derived σ(25 °C)
    kinds = sorted(f["series"]["kind"] for f in body["fits"])
    assert kinds == ["measurement", "pooled"]
    for f in body["fits"]:
        assert f["properties"]["activation_energy"]["value"] == pytest.approx(EA, rel=0.02)
    svg = client.get(f"/api/v1/plots/arrhenius/{sample['_id']}").data.decode()
    assert svg.count("Eₐ =") == 2 and "EIS SS|SE|SS" in svg
    # without stored fits, points of two series get no fit line drawn through them all
    store.db.properties.delete_many({"provenance.job": "arrhenius"})
    svg = client.get(f"/api/v1/plots/arrhenius/{sample['_id']}").data.decode()
    assert "Eₐ =" not in svg
