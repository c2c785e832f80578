"""Per-sample transport summaries in OPTIMADE and the ML export: only ionic activation energies fill the
ionic fields, and a bound never fills a plain OPTIMADE value (review findings A and B).

Real importer, real Arrhenius job, the embedded store, the Flask test client.
"""

from __future__ import annotations

import json
import math

import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

KB = 8.617333262e-5
STRUCTURE = {"method": "xrd_rietveld", "phases": [{"name": "Mg3AsN", "formula": "Mg3AsN",
                                                   "space_group": {"symbol": "Pm-3m", "number": 221},
                                                   "lattice": {"a": "4.2307(3) Å"}, "z": 1}]}


def _series(sample: str, carrier: str, s25: float, ea: float, temps: list[float]) -> dict:
    pts = [{"temperature": f"{t} °C", "conductivity": f"{s25 * math.exp(-ea / KB * (1 / (t + 273.15) - 1 / 298.15)):.6g} S/cm"}
           for t in temps]
    return {"sample": sample, "kind": "conductivity_series", "label": carrier, "carrier": carrier,
            "method": "EIS" if carrier == "ionic" else "DC", "points": pts}


@pytest.fixture()
def carriers_client(store, settings, tmp_path, app_client_for):
    """E2: ionic series (Ea 0.30 eV, 3 temperatures: flagged few_points) and an unflagged electronic
    series (Ea 1.20 eV); UB: "<1e-8 S/cm" at 25 °C; ARR: an ionic series at 30-90 °C only (the
    25 °C value is an extrapolation); REP: a reported activation energy (no carrier stated: unknown)."""
    labels = ("E2", "UB", "ARR", "REP")
    doc = {
        "source": {"notebook": "NB-CARRIERS"},
        "materials": [{"key": "MAN", "formula": "Mg3AsN", "family": "antiperovskite"}],
        "samples": [{"label": lab, "material": "MAN"} for lab in labels],
        "structures": [{"sample": lab, **STRUCTURE} for lab in labels],
        "measurements": [_series("E2", "ionic", 1e-4, 0.30, [25, 50, 75]),
                         _series("E2", "electronic", 5e-8, 1.20, [25, 50, 75, 100]),
                         _series("ARR", "ionic", 1e-4, 0.50, [30, 50, 70, 90])],
        "properties": [
            {"sample": "UB", "name": "ionic_conductivity", "value": "<1e-8 S/cm",
             "conditions": {"temperature": "25 °C", "method": "EIS"}},
            {"sample": "REP", "name": "activation_energy", "value": "0.41 eV", "conditions": {"method": "EIS"}},
        ],
    }
    path = tmp_path / "carriers.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    Importer(store, ImportOptions()).run([path])
    run_jobs(store, settings, job_names=["arrhenius"])
    return app_client_for(store)


def _optimade(client) -> dict[str, dict]:
    r = client.get("/optimade/v1/structures", query_string={"page_limit": 100})
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    return {d["attributes"]["_ionbase_sample_label"]: d["attributes"] for d in r.get_json()["data"]}


def _export_rows(client) -> list[dict]:
    r = client.get("/api/v1/export", query_string={"format": "jsonl"})
    assert r.status_code == 200, r.get_data(as_text=True)[:1000]
    return [json.loads(line) for line in r.get_data(as_text=True).splitlines() if line.strip()]


def test_optimade_activation_energy_is_the_ionic_one(carriers_client, store):
    a = _optimade(carriers_client)["E2"]
    assert a["_ionbase_activation_energy"] == pytest.approx(0.30, abs=1e-3)
    prop = store.properties.get(a["_ionbase_activation_energy_property"])
    assert prop["provenance"]["parameters"]["carrier"] == "ionic"
    assert a["_ionbase_activation_energy_qualifier"] == "exact"
    # a reported activation energy that states no carrier: unknown, never taken as ionic (docs/export.md,
    # Carriers; tests/api/test_carrier_rule.py for one that states it)
    assert _optimade(carriers_client)["REP"]["_ionbase_activation_energy"] is None


def test_export_fit_columns_hold_only_ionic_fits(carriers_client, store):
    rows = [r for r in _export_rows(carriers_client) if r["sample_label"] == "E2"]
    assert rows and [r["activation_energy_eV"] for r in rows] == [pytest.approx(0.30, abs=1e-3)] * len(rows)
    fit_input = store.properties.get(rows[0]["activation_energy_source"].split()[-1])  # a point the fit used
    assert fit_input["name"] == "ionic_conductivity"
    pre = [p for p in store.db.properties.find({"name": "conductivity_prefactor"})
           if p["provenance"]["parameters"]["carrier"] == "ionic" and p["sample"] == rows[0]["sample_id"]]
    assert [r["conductivity_prefactor_S_per_cm"] for r in rows] == [pytest.approx(pre[0]["value"])] * len(rows)
    assert all(r["activation_energy_flags"] == "few_points" for r in rows)
    r = carriers_client.get("/api/v1/export", query_string={"format": "csv"})
    assert "activation_energy_eV" not in json.loads(r.headers["X-Ionbase-Conflicts"])  # no competing electronic fit


def test_optimade_bound_is_not_a_value_and_extrapolation_is_approximate(carriers_client):
    entries = _optimade(carriers_client)
    ub = entries["UB"]
    assert ub["_ionbase_ionic_conductivity_25c"] is None and ub["_ionbase_ionic_conductivity_25c_property"] is None
    assert ub["_ionbase_ionic_conductivity_25c_qualifier"] is None
    arr = entries["ARR"]
    assert arr["_ionbase_ionic_conductivity_25c"] == pytest.approx(1e-4, rel=1e-3)
    assert arr["_ionbase_ionic_conductivity_25c_qualifier"] == "approximate"
    assert entries["E2"]["_ionbase_ionic_conductivity_25c_qualifier"] == "exact"
    body = carriers_client.get("/optimade/v1/structures", query_string={
        "filter": '_ionbase_ionic_conductivity_25c_qualifier="exact"', "page_limit": 100}).get_json()
    assert {d["attributes"]["_ionbase_sample_label"] for d in body["data"]} == {"E2"}
    # the export keeps the bound and the extrapolation, each with its qualifier beside it
    rows = {(r["sample_label"], r["temperature_C"]): r for r in _export_rows(carriers_client)}
    assert (rows[("UB", 25.0)]["ionic_conductivity_S_per_cm"], rows[("UB", 25.0)]["ionic_conductivity_qualifier"]) == (1e-8, "<")
    assert rows[("ARR", 25.0)]["ionic_conductivity_qualifier"] == "~"
    assert rows[("ARR", 25.0)]["ionic_conductivity_origin"] == "derived"


def test_info_describes_the_qualifier_fields(carriers_client):
    props = carriers_client.get("/optimade/v1/info/structures").get_json()["data"]["properties"]
    assert "approximate" in props["_ionbase_ionic_conductivity_25c_qualifier"]["description"]
    assert "bound" in props["_ionbase_ionic_conductivity_25c"]["description"]


def test_a_derived_activation_energy_without_carrier_fills_nothing(carriers_client, store):
    """Unknown carrier: left out (null), never taken for the ionic one."""
    sid = _optimade(carriers_client)["UB"]["_ionbase_sample_id"]
    store.db.properties.insert_one({
        "_id": "prop-test-ea-nocarrier", "sample": sid, "name": "activation_energy", "value": 0.9, "unit": "eV",
        "origin": "derived", "stale": False, "provenance": {"job": "arrhenius", "parameters": {"form": "sigma"}},
    })
    assert store.properties.get("prop-test-ea-nocarrier")["value"] == 0.9  # visible through the typed collection
    assert _optimade(carriers_client)["UB"]["_ionbase_activation_energy"] is None
    rows = [r for r in _export_rows(carriers_client) if r["sample_id"] == sid]
    assert rows and all(r.get("activation_energy_eV") is None for r in rows)
