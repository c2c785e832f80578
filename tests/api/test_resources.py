"""Resources: health, materials, samples (lineage, arrhenius), routes, structures, measurements, trends."""

from __future__ import annotations

import csv
import io

import pytest

from tests.api.conftest import assert_error


def _sample_id(client, label):
    r = client.get("/api/v1/samples", query_string={"label": label})
    data = r.get_json()["data"]
    assert len(data) == 1, (label, data)
    return data[0]["id"]


def test_health(client):
    body = client.get("/api/v1/health").get_json()
    assert body["status"] == "ok" and body["version"]
    assert body["store"]["kind"] in ("embedded", "uri") and body["store"]["server_version"]


def test_materials_list_filters_and_detail(client):
    r = client.get("/api/v1/materials", query_string={"family": "halide", "element": ["Na", "Zr"]})
    data = r.get_json()["data"]
    assert sorted(m["formula"] for m in data) == ["Na2.5In0.5Zr0.5Cl6", "Na2ZrCl6"]
    r = client.get(f"/api/v1/materials/{data[0]['id']}")
    assert r.status_code == 200 and len(r.get_json()["samples"]) == 1
    r = client.get("/api/v1/materials", query_string={"series": "Na3-xIn1-xZrxCl6", "page_limit": 2})
    body = r.get_json()
    assert body["meta"]["more_data_available"] and len(body["data"]) == 2
    r2 = client.get("/api/v1/materials", query_string={"series": "Na3-xIn1-xZrxCl6", "page_limit": 2,
                                                       "page_cursor": body["meta"]["next_cursor"]})
    assert len(r2.get_json()["data"]) == 1
    assert_error(client.get("/api/v1/materials/none"), 404)


def test_sample_detail_lineage_route_and_records(client):
    sid = _sample_id(client, "MAN-A600")
    body = client.get(f"/api/v1/samples/{sid}").get_json()
    assert body["label"] == "MAN-A600"
    assert [p["label"] for p in body["lineage"]["parents"]] == ["MAN-milled"]
    assert body["lineage"]["children"] == []
    assert [s["type"] for s in body["route_doc"]["steps"]] == ["ball_milling", "annealing"]
    assert body["material_doc"]["formula"] == "Mg3AsN"
    assert len(body["structures"]) == 1 and body["structures"][0]["phases"][0]["space_group_number"] == 221
    names = {p["name"] for p in body["properties"]}
    assert {"ionic_conductivity", "lattice_a"} <= names
    parent = client.get(f"/api/v1/samples/{body['parent']}").get_json()
    assert sorted(c["label"] for c in parent["lineage"]["children"]) == ["MAN-A300", "MAN-A600"]


def test_sample_detail_sends_its_reads_at_once_and_answers_the_error_of_any(client, monkeypatch):
    """GET /samples/{id}: after the sample, its six reads run in the page's thread pool (they were
    seven round trips in turn: the slowest request under load, bench/bench_load.py); a read that
    fails (the store restarting) is the answer: 503 with Retry-After, never a page missing a part."""
    import threading

    from ionbase.errors import StoreUnavailable
    from ionbase.service.samples import views
    from ionbase.store.collections import Collection

    sid = _sample_id(client, "MAN-A600")
    expected = client.get(f"/api/v1/samples/{sid}").get_json()
    threads: dict[str, set[str]] = {}
    real_find, real_find_one = Collection.find, Collection.find_one

    def find(self, *a, **k):
        threads.setdefault(self.name, set()).add(threading.current_thread().name.split("_")[0])
        return real_find(self, *a, **k)

    def find_one(self, *a, **k):
        threads.setdefault(self.name, set()).add(threading.current_thread().name.split("_")[0])
        return real_find_one(self, *a, **k)

    monkeypatch.setattr(Collection, "find", find)
    monkeypatch.setattr(Collection, "find_one", find_one)
    assert client.get(f"/api/v1/samples/{sid}").get_json() == expected
    assert {c: t for c, t in threads.items() if c != "samples"} == {
        c: {"sample-detail"} for c in ("materials", "routes", "measurements", "structures", "properties")}
    assert "sample-detail" in threads["samples"], "the lineage reads too"

    def unavailable(self, *a, **k):
        if self.name == "structures":
            raise StoreUnavailable("the store does not answer")
        return real_find(self, *a, **k)

    monkeypatch.setattr(Collection, "find", unavailable)
    r = client.get(f"/api/v1/samples/{sid}")
    assert r.status_code == 503 and r.headers.get("Retry-After")
    pool = views._fan_out()
    assert views._fan_out() is pool
    monkeypatch.setattr(views.os, "getpid", lambda: -1)  # a forked worker: its own pool, not the parent's
    assert views._fan_out() is not pool


def test_arrhenius(client):
    sid = _sample_id(client, "NCB-BM-15min")
    body = client.get(f"/api/v1/samples/{sid}/arrhenius").get_json()
    temps = [p["temperature_c"] for p in body["points"]]
    assert temps == sorted(temps) and 25.0 in temps and 70.0 in temps
    assert all(p["inverse_temperature"] == pytest.approx(1000 / p["temperature_k"]) for p in body["points"])
    assert [r["value"] for r in body["reported"]] == [0.45]
    assert isinstance(body["fits"], list)  # derived fits, one per series, present only when the analysis jobs ran
    assert_error(client.get("/api/v1/samples/nope/arrhenius"), 404)
    assert_error(client.get(f"/api/v1/samples/{sid}/arrhenius", query_string={"property": "nope"}), 422)


def test_routes_and_structures(client):
    body = client.get("/api/v1/routes", query_string={"step_type": "annealing"}).get_json()
    assert body["data"] and all("annealing" in r["summary"]["step_types"] for r in body["data"])
    rid = body["data"][0]["id"]
    assert client.get(f"/api/v1/routes/{rid}").get_json()["samples"]
    body = client.get("/api/v1/structures", query_string={"method": "xrd_rietveld"}).get_json()
    assert len(body["data"]) == 1
    assert client.get(f"/api/v1/structures/{body['data'][0]['id']}").status_code == 200


def test_measurement_data_json_and_csv(client):
    body = client.get("/api/v1/measurements", query_string={"kind": "impedance_spectrum"}).get_json()
    mid = body["data"][0]["id"]
    meta = client.get(f"/api/v1/measurements/{mid}").get_json()
    assert meta["kind"] == "impedance_spectrum"
    data = client.get(f"/api/v1/measurements/{mid}/data").get_json()
    assert data["n_points"] == 5
    assert data["arrays"]["frequency"][0] == 1e6 and data["arrays"]["z_imag"][-1] == -40.0
    assert data["units"]["z_real"] == "ohm"
    r = client.get(f"/api/v1/measurements/{mid}/data", query_string={"format": "csv"})
    assert r.status_code == 200 and r.mimetype == "text/csv"
    assert "attachment" in r.headers["Content-Disposition"]
    rows = list(csv.reader(io.StringIO(r.get_data(as_text=True))))
    assert rows[0][0] == "frequency (Hz)" and len(rows) == 6 and float(rows[1][0]) == 1e6
    assert_error(client.get(f"/api/v1/measurements/{mid}/data", query_string={"format": "xml"}), 422)


def test_measurement_chunks_are_concatenated_in_order(loaded_rw_app, store):
    mid = store.db.measurements.find_one({"kind": "impedance_spectrum"})["_id"]
    first = store.db.measurement_arrays.find_one({"measurement": mid})
    store.db.measurement_arrays.insert_one({**first, "_id": f"{mid}:1", "chunk": 1,
                                            "arrays": {k: [v[0] * 0.5] for k, v in first["arrays"].items()}})
    data = loaded_rw_app.test_client().get(f"/api/v1/measurements/{mid}/data").get_json()
    assert data["n_points"] == 6 and data["arrays"]["frequency"][-1] == 5e5


def test_synthesis_trend_groups(client):
    r = client.get("/api/v1/trends/synthesis", query_string={
        "property": "ionic_conductivity", "parameter": "milling_time_h", "temperature_c": 25, "group_by": "material"})
    assert r.status_code == 200, r.get_json()
    body = r.get_json()
    ncb = next(g for g in body["groups"] if g["formula"] == "NaCB11H12")
    assert [(p["x"], p["value"]) for p in ncb["points"]] == [(0.0, 2e-6), (0.25, 1e-3), (1.0, 4e-3), (6.0, 9.78e-9)]
    assert ncb["points"][-1]["sample"] == "NCB-BM-6h"
    r = client.get("/api/v1/trends/synthesis", query_string={
        "property": "ionic_conductivity", "parameter": "max_anneal_c", "temperature_c": 25, "filter": 'elements HAS "Mg"'})
    groups = r.get_json()["groups"]
    assert [(p["x"], p["sample"]) for p in groups[0]["points"]] == [(300.0, "MAN-A300"), (600.0, "MAN-A600")]
    assert_error(client.get("/api/v1/trends/synthesis", query_string={"property": "ionic_conductivity", "parameter": "value"}), 422)


def test_composition_trend_series_and_component(client):
    body = client.get("/api/v1/trends/composition", query_string={
        "property": "ionic_conductivity", "series": "Na3-xIn1-xZrxCl6", "temperature_c": 25}).get_json()
    assert len(body["groups"]) == 1
    assert [(p["x"], p["value"]) for p in body["groups"][0]["points"]] == [(0.0, 6.4e-6), (0.5, 1.4e-5), (1.0, 1.8e-5)]
    body = client.get("/api/v1/trends/composition", query_string={
        "property": "ionic_conductivity", "component": "SiO2", "temperature_c": 25}).get_json()
    pts = body["groups"][0]["points"]
    assert [(p["x"], p["value"], p["basis"]) for p in pts] == [(25.0, 1e-5, "vol"), (35.0, 3e-5, "vol")]
