"""Trends and the sample Arrhenius view say what a value is (review: bounds, extrapolations, stale
values and other-carrier fits were served as plain measurements).

Through the real importer, the Arrhenius job and the Flask test client on the embedded store.
"""

from __future__ import annotations

import copy

import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

IONIC = [(30, 1.37847e-4), (50, 4.50668e-4), (70, 1.28335e-3), (90, 3.25667e-3)]  # Ea 0.5 eV
ELECTRONIC = [(30, 1.90019e-9), (50, 2.03101e-8), (70, 1.64699e-7), (90, 1.06059e-6)]  # Ea 1.0 eV
MILLING = [{"type": "ball_milling", "rpm": 400, "duration": "2 h"}]


def _series(label: str, carrier: str, points) -> dict:
    return {"sample": "S-ARR", "kind": "conductivity_series", "label": label, "carrier": carrier, "method": "EIS",
            "points": [{"temperature": f"{t} °C", "conductivity": f"{v} S/cm"} for t, v in points]}


def _loose(sample: str, value: str) -> dict:
    return {"sample": sample, "name": "ionic_conductivity", "value": value,
            "conditions": {"temperature": "25 °C", "method": "EIS"}}


RECORDS = {
    "ionbase_format": 1,
    "source": {"doi": "10.1000/trend-flags"},
    "materials": [{"key": "MAN", "formula": "Mg3AsN", "family": "antiperovskite"}],
    "samples": [{"label": label, "material": "MAN", "steps": MILLING} for label in ("S-ARR", "S-UB", "S-M")],
    "measurements": [_series("ionic", "ionic", IONIC), _series("electronic", "electronic", ELECTRONIC)],
    "properties": [_loose("S-UB", "<1e-8 S/cm"), _loose("S-M", "2e-4 S/cm")],
}
TREND = {"property": "ionic_conductivity", "parameter": "milling_time_h", "temperature_c": 25, "group_by": "material"}


def _import(store, tmp_path, records: dict, name: str = "lab.yaml") -> None:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(records, sort_keys=False, allow_unicode=True))
    Importer(store, ImportOptions()).run([path])


@pytest.fixture()
def analysed(rw_app, store, settings, tmp_path):
    """The records imported and analysed; returns the test client."""
    _import(store, tmp_path, RECORDS)
    result = run_jobs(store, settings, job_names=["arrhenius"])
    assert result["failed"] == 0, result["errors"]
    return rw_app.test_client()


def _trend_points(client) -> dict[str, dict]:
    r = client.get("/api/v1/trends/synthesis", query_string=TREND)
    assert r.status_code == 200, r.get_json()
    (group,) = r.get_json()["groups"]
    return group, {p["sample"]: p for p in group["points"]}


def _sample_id(client, label: str) -> str:
    r = client.get("/api/v1/samples", query_string={"filter": f'label="{label}"'})
    (s,) = r.get_json()["data"]
    return s["id"]


def test_trend_points_say_bound_and_extrapolation(analysed):
    group, pts = _trend_points(analysed)
    assert set(pts) == {"S-ARR", "S-UB", "S-M"}
    bound, extra, measured = pts["S-UB"], pts["S-ARR"], pts["S-M"]
    assert bound["value"] == pytest.approx(1e-8) and bound["qualifier"] == "upper_bound"
    assert extra["origin"] == "derived" and extra["qualifier"] == "approximate"
    assert extra["method"] == "Arrhenius extrapolation"
    assert measured["qualifier"] in (None, "exact") and measured["origin"] == "reported"
    # the bound is shown, counted as a bound and never the smallest "value" of the group
    assert group["n"] == 3 and group["n_bounds"] == 1
    assert group["min_value"] == pytest.approx(min(extra["value"], 2e-4))
    assert group["max_value"] == pytest.approx(max(extra["value"], 2e-4))


def test_trend_and_arrhenius_leave_stale_values_out(analysed, store, tmp_path):
    """Changed input points, re-imported without analysis: σ(25 °C) and the fit are stale."""
    sid = _sample_id(analysed, "S-ARR")
    changed = copy.deepcopy(RECORDS)
    changed["measurements"][0] = _series("ionic", "ionic", [(t, 2 * v) for t, v in IONIC])
    _import(store, tmp_path, changed, "lab2.yaml")
    r = analysed.get("/api/v1/properties", query_string={"filter": 'sample_label="S-ARR" AND property="activation_energy"'})
    assert any(p.get("stale") for p in r.get_json()["data"]), "the fixture should make derived values stale"
    _, pts = _trend_points(analysed)
    assert "S-ARR" not in pts and set(pts) == {"S-UB", "S-M"}
    body = analysed.get(f"/api/v1/samples/{sid}/arrhenius", query_string={"property": "ionic_conductivity"}).get_json()
    assert body["fits"] == [] and body["n_stale"] >= 3  # Ea, prefactor, σ(25 °C)
    assert all(p["origin"] != "derived" for p in body["points"]) and len(body["points"]) == 4


def test_arrhenius_fits_follow_the_carrier(analysed):
    sid = _sample_id(analysed, "S-ARR")
    eas = {}
    for prop, carrier in (("ionic_conductivity", "ionic"), ("electronic_conductivity", "electronic")):
        body = analysed.get(f"/api/v1/samples/{sid}/arrhenius", query_string={"property": prop}).get_json()
        (fit,) = body["fits"]  # the other carrier's fit is not listed
        assert body["carrier"] == carrier and fit["carrier"] == carrier
        eas[carrier] = fit["properties"]["activation_energy"]["value"]
    assert eas["ionic"] == pytest.approx(0.5, abs=0.02) and eas["electronic"] == pytest.approx(1.0, abs=0.02)


def test_arrhenius_points_carry_the_bound(analysed):
    sid = _sample_id(analysed, "S-UB")
    body = analysed.get(f"/api/v1/samples/{sid}/arrhenius", query_string={"property": "ionic_conductivity"}).get_json()
    (p,) = body["points"]
    assert p["value"] == pytest.approx(1e-8) and p["qualifier"] == "upper_bound"


def test_arrhenius_of_a_property_the_job_does_not_fit(analysed):
    """bulk_conductivity has no carrier the Arrhenius job fits: no fits, carrier null (not another carrier's fit)."""
    sid = _sample_id(analysed, "S-ARR")
    r = analysed.get(f"/api/v1/samples/{sid}/arrhenius", query_string={"property": "bulk_conductivity"})
    assert r.status_code == 200 and r.get_json()["carrier"] is None and r.get_json()["fits"] == []
