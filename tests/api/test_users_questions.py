"""The users' standing questions, answered through the API on the seed data (seeded_store).

Asserts on values known from the papers, robust to how many records the seed files hold.
"""

from __future__ import annotations

import pytest


@pytest.fixture()
def seed_client(seeded_settings, seeded_store):
    from ionbase.service.app import create_app

    return create_app(seeded_settings, store=seeded_store).test_client()


def _points(body):
    return [p for g in body["groups"] for p in g["points"]]


def test_nacb11h12_conductivity_against_milling_time(seed_client):
    r = seed_client.get("/api/v1/trends/synthesis", query_string={
        "property": "ionic_conductivity", "parameter": "milling_time_h", "temperature_c": 25,
        "filter": 'formula="NaCB11H12"'})
    assert r.status_code == 200, r.get_json()
    pts = _points(r.get_json())
    by_x = {p["x"]: p["value"] for p in pts}
    assert by_x[6.0] == pytest.approx(9.78e-9)
    assert by_x[0.75] == pytest.approx(4e-3)  # 45 min: the maximum
    assert [p["x"] for p in pts] == sorted(p["x"] for p in pts)


def test_mg3asn_properties_against_anneal_temperature(seed_client):
    r = seed_client.get("/api/v1/trends/synthesis", query_string={
        "property": "ionic_conductivity", "parameter": "max_anneal_c", "filter": 'formula="Mg3AsN"'})
    pts = _points(r.get_json())
    assert any(p["x"] == 600.0 for p in pts), pts
    # and every property of Mg3AsN samples annealed at 600 °C, via the property query
    r = seed_client.get("/api/v1/properties", query_string={
        "filter": 'formula="Mg3AsN" AND max_anneal_c=600', "fields": "name,value,unit,sample_label,synthesis", "page_limit": 500})
    body = r.get_json()
    assert body["data"] and all(d["synthesis"]["max_anneal_c"] == 600.0 for d in body["data"])
    assert "ionic_conductivity" in {d["name"] for d in body["data"]}


def test_na2b12h12_sio2_conductivity_against_sio2_fraction(seed_client):
    r = seed_client.get("/api/v1/trends/composition", query_string={"property": "ionic_conductivity", "component": "SiO2"})
    assert r.status_code == 200, r.get_json()
    pts = _points(r.get_json())
    assert pts and all(p["formula"] and "Na" in p["formula"] for p in pts)
    assert 35.0 in {p["x"] for p in pts}
    assert {p["basis"] for p in pts} <= {"vol", "wt", "mol"}


def test_na_conductors_above_threshold_at_25c_with_how_they_were_made(seed_client):
    r = seed_client.get("/api/v1/properties", query_string={
        "filter": 'property="ionic_conductivity" AND elements HAS "Na" AND temperature_c=25 AND value>=1e-4',
        "sort": "-value", "expand": "sample", "unit": "mS/cm"})
    assert r.status_code == 200, r.get_json()
    data = r.get_json()["data"]
    labels = {d["sample_label"]: d for d in data}
    assert "NaCB11H12-BM-45min" in labels
    best = labels["NaCB11H12-BM-45min"]
    assert best["value"] == pytest.approx(4.0) and best["unit"] == "mS/cm"
    assert "ball_milling" in [s["type"] for s in best["sample_expanded"]["steps"]]
    assert best["synthesis"]["milling_time_h"] == pytest.approx(0.75)
    assert all("Na" in d["elements"] and d["value"] >= 0.1 for d in data)
    assert "NaCB11H12-BM-6h" not in labels


def test_halide_activation_energy_against_zr_content(seed_client):
    """Na3-xIn1-xZrxCl6: Ea ~0.5 eV, dropping to ~0.43 eV for x > 0.8 (the series parameter)."""
    r = seed_client.get("/api/v1/trends/composition", query_string={
        "property": "activation_energy", "series": "Na3-xIn1-xZrxCl6"})
    assert r.status_code == 200, r.get_json()
    by_x = {p["x"]: p["value"] for p in _points(r.get_json())}
    assert by_x[0.5] == pytest.approx(0.5) and by_x[0.9] == pytest.approx(0.43) and by_x[0.95] == pytest.approx(0.43)
    assert max(v for x, v in by_x.items() if x > 0.8) < min(v for x, v in by_x.items() if x <= 0.8)


def test_li_anode_cycle_life_with_and_without_coatings(seed_client):
    """Li metal anodes: the dual LiZn/Li3N coating lasts longer, in symmetric and full cells."""
    r = seed_client.get("/api/v1/properties", query_string={
        "filter": 'property="cycles_to_80_soh" AND family="metal anode"', "sort": "value",
        "fields": "sample_label,value,synthesis"})
    data = r.get_json()["data"]
    assert [(d["sample_label"], d["value"]) for d in data] == [
        ("Li-rp130um", 70.0), ("Li-rp130um-Li100nm-N2", 71.0), ("Li-rp130um-Zn300nm-Li100nm-N2", 105.0)]
    assert [d["synthesis"]["coated"] for d in data] == [False, True, True]
    r = seed_client.get("/api/v1/properties", query_string={
        "filter": 'property="cycle_life" AND coated="true" AND current_density=1'})
    assert [(d["sample_label"], d["value"]) for d in r.get_json()["data"]] == [("Li-rp130um-Zn300nm-Li100nm-N2", 360.0)]


def test_composites_with_sio2_filter_and_their_fractions(seed_client):
    r = seed_client.get("/api/v1/properties", query_string={
        "filter": 'property="ionic_conductivity" AND components HAS "SiO2"', "fields": "sample_label,value,components"})
    data = r.get_json()["data"]
    assert data and all(any(c["formula"] == "SiO2" for c in d["components"]) for d in data)
    fractions = {d["sample_label"]: [c["fraction"] for c in d["components"] if c["formula"] == "SiO2"][0] for d in data}
    assert fractions["Na2B12H12-SiO2A200-35vol-BM4h"] == 35.0
