"""Trends say how many stale values they left out (`n_stale`), as the sample Arrhenius view does.

The records of test_trend_flags (an ionic series whose Arrhenius job writes a derived σ(25 °C), a
bound and a reported value), imported, analysed, then the series changed and re-imported without
analysis: the derived values are stale. Real importer, job, embedded store and Flask test client.
"""

from __future__ import annotations

import copy

from ionbase.jobs.runner import run_jobs
from tests.api.test_trend_flags import IONIC, RECORDS, TREND, _import, _series, analysed  # noqa: F401  (fixture)


def _stale_in_window(store, name: str, t: float | None = None, tol: float = 0.5) -> int:
    """The stale values of a property (at a temperature), counted in the database."""
    query: dict = {"name": name, "stale": True}
    if t is not None:
        query["temperature_c"] = {"$gte": t - tol, "$lte": t + tol}
    return store.db.properties.count_documents(query)


def _make_stale(store, tmp_path, records: dict = RECORDS) -> None:
    """The ionic series changed and re-imported without analysis: its derived values are stale."""
    changed = copy.deepcopy(records)
    changed["measurements"][0] = _series("ionic", "ionic", [(t, 2 * v) for t, v in IONIC])
    _import(store, tmp_path, changed, "lab2.yaml")


def test_synthesis_trend_counts_the_stale_values_it_left_out(analysed, store, tmp_path):  # noqa: F811
    fresh = analysed.get("/api/v1/trends/synthesis", query_string=TREND).get_json()
    assert fresh["n_stale"] == 0
    _make_stale(store, tmp_path)
    expected = _stale_in_window(store, "ionic_conductivity", 25)
    assert expected >= 1, "the fixture should make the derived σ(25 °C) stale"
    body = analysed.get("/api/v1/trends/synthesis", query_string=TREND).get_json()
    assert body["n_stale"] == expected
    shown = sum(g["n"] for g in body["groups"])
    assert shown + body["n_stale"] == fresh["groups"][0]["n"], "every value is either shown or counted as left out"
    ea = analysed.get("/api/v1/trends/synthesis", query_string={
        "property": "activation_energy", "parameter": "milling_time_h"}).get_json()
    assert ea["n_stale"] == _stale_in_window(store, "activation_energy") >= 1
    all_ea = store.db.properties.count_documents({"name": "activation_energy"})
    assert sum(g["n"] for g in ea["groups"]) + ea["n_stale"] == all_ea, "the electronic fit is not stale: shown"


def test_composition_trends_count_the_stale_values_they_left_out(rw_app, store, settings, tmp_path):
    """A series member and a composite: the series (x) and component trends count their stale values too."""
    records = copy.deepcopy(RECORDS)
    records["materials"][0].update(series={"name": "Mg3AsN-x", "parameter": "x", "nominal": 0.1},
                                   components=[{"formula": "Mg3AsN", "fraction": 90, "basis": "vol"},
                                               {"formula": "SiO2", "fraction": 10, "basis": "vol"}])
    _import(store, tmp_path, records)
    assert run_jobs(store, settings, job_names=["arrhenius"])["failed"] == 0
    client = rw_app.test_client()
    query = {"property": "ionic_conductivity", "temperature_c": 25}
    cases = ({"series": "Mg3AsN-x"}, {"component": "SiO2"}, {})
    before = {}
    for params in cases:
        body = client.get("/api/v1/trends/composition", query_string={**query, **params}).get_json()
        assert body["n_stale"] == 0, body
        before[str(params)] = sum(g["n"] for g in body["groups"])
    assert min(before.values()) >= 3, "the derived, bound and reported values at 25 °C are shown"
    _make_stale(store, tmp_path, records)
    expected = _stale_in_window(store, "ionic_conductivity", 25)
    assert expected >= 1
    for params in cases:
        body = client.get("/api/v1/trends/composition", query_string={**query, **params}).get_json()
        assert body["n_stale"] == expected, (params, body)
        assert sum(g["n"] for g in body["groups"]) + expected == before[str(params)], params


def test_openapi_documents_n_stale(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    field = spec["components"]["schemas"]["Trend"]["properties"]["n_stale"]
    assert field["type"] == "integer" and "stale" in field["description"]
