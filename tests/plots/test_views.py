"""Plot endpoints on the embedded store: data from an imported YAML, blueprint in a bare app."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "export"
SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def texts(data: bytes) -> list[str]:
    return ["".join(t.itertext()).strip() for t in ET.fromstring(data).iter(f"{SVG_NS}text")]


@pytest.fixture()
def loaded(store):
    from ionbase.ingest.importer import Importer, ImportOptions

    Importer(store, ImportOptions(progress=False)).run([DATA / "two_samples.yaml", DATA / "impedance.yaml"])
    return store


@pytest.fixture()
def client(loaded, app_client_for):
    """The real application (create_app): its error handlers and auth are part of the test."""
    return app_client_for(loaded)


def sample_id(store, label: str) -> str:
    return store.db.samples.find_one({"label": label})["_id"]


def test_arrhenius_with_reported_activation_energy(client, loaded):
    sid = sample_id(loaded, "NIC-BM")
    r = client.get(f"/api/v1/plots/arrhenius/{sid}")
    assert r.status_code == 200 and r.mimetype == "image/svg+xml"
    t = texts(r.data)
    assert "1000 / T (K⁻¹)" in t and "T (°C)" in t
    assert any(x.startswith("reported: Eₐ = 0.48") for x in t)
    assert any("Na3InCl6" in x and "NIC-BM" in x for x in t)
    png = client.get(f"/api/v1/plots/arrhenius/{sid}?format=png")
    assert png.status_code == 200 and png.mimetype == "image/png" and png.data.startswith(PNG_MAGIC)


def test_arrhenius_prefers_stored_derived_fit(client, loaded):
    sid = sample_id(loaded, "NIC-BM")
    loaded.db.properties.insert_one({
        "_id": "prop-test-ea", "sample": sid, "name": "activation_energy", "value": 0.51, "uncertainty": 0.03,
        "unit": "eV", "origin": "derived", "stale": False,
        "provenance": {"job": "arrhenius", "parameters": {"form": "sigma", "carrier": "ionic", "T_min_K": 298.15,
                                                          "T_max_K": 348.15, "r2": 0.998, "prefactor_S_per_cm": 1.2e3}},
    })
    t = texts(client.get(f"/api/v1/plots/arrhenius/{sid}").data)
    assert any(x.startswith("fit: Eₐ = 0.510 ± 0.030 eV") for x in t)
    assert not any(x.startswith("reported") for x in t)


def test_arrhenius_fits_on_the_fly_or_plots_data_only(client, loaded):
    sid = sample_id(loaded, "NIC-BM")
    loaded.db.properties.delete_many({"sample": sid, "name": "activation_energy"})
    t = texts(client.get(f"/api/v1/plots/arrhenius/{sid}").data)
    try:
        import ionbase.analysis.arrhenius  # noqa: F401
    except ImportError:
        assert not any(x.startswith("fit") for x in t)
    else:
        assert any(x.startswith("fit: Eₐ = ") for x in t)
    # two temperatures only: no fit, data alone
    t2 = texts(client.get(f"/api/v1/plots/arrhenius/{sample_id(loaded, 'NIZC-BM')}").data)
    assert "data" in t2 and not any(x.startswith("fit") for x in t2)


def test_arrhenius_errors(client):
    r = client.get("/api/v1/plots/arrhenius/smp-nope")
    assert r.status_code == 404
    assert "not found" in r.get_data(as_text=True)
    assert client.get("/api/v1/plots/arrhenius/smp-nope?format=gif").status_code == 422


def test_nyquist_data_and_fitted_curve(client, loaded):
    m = loaded.db.measurements.find_one({"label": "EIS-25C"})
    r = client.get(f"/api/v1/plots/nyquist/{m['_id']}")
    assert r.status_code == 200
    t = texts(r.data)
    assert "Z' (kΩ)" in t and "−Z'' (kΩ)" in t and "data" in t
    assert not any(x.startswith("fit") for x in t)
    loaded.db.properties.insert_one({
        "_id": "prop-test-rb", "sample": m["sample"], "name": "bulk_resistance", "value": 2e4, "unit": "Ω",
        "origin": "derived", "stale": False,
        "provenance": {"job": "eis", "parameters": {
            "measurement": m["_id"], "circuit": "R0-p(R1,CPE1)-CPE2",
            "fit_parameters": {"R0": {"value": 20.0}, "R1": {"value": 2e4}, "CPE1_0": {"value": 1e-10},
                               "CPE1_1": {"value": 0.9}, "CPE2_0": {"value": 2e-5}, "CPE2_1": {"value": 0.7}}}},
    })
    t = texts(client.get(f"/api/v1/plots/nyquist/{m['_id']}").data)
    try:
        import ionbase.analysis.circuits  # noqa: F401
    except ImportError:
        return
    assert "fit: R0-p(R1,CPE1)-CPE2" in t
    assert client.get(f"/api/v1/plots/nyquist/{m['_id']}?format=png").data.startswith(PNG_MAGIC)


def test_nyquist_chunks_in_order_and_errors(client, loaded):
    from ionbase.service.plots.views import impedance_arrays

    m = loaded.db.measurements.find_one({"label": "EIS-25C"})
    whole = impedance_arrays(loaded, m["_id"])
    # re-store the arrays as two chunks, the second one inserted first
    loaded.db.measurement_arrays.delete_many({"measurement": m["_id"]})
    half = len(whole["z_real"]) // 2
    for chunk, sl in ((1, slice(half, None)), (0, slice(0, half))):
        loaded.db.measurement_arrays.insert_one({"_id": f"{m['_id']}:{chunk}", "measurement": m["_id"], "chunk": chunk,
                                                 "arrays": {k: v[sl] for k, v in whole.items()}})
    assert impedance_arrays(loaded, m["_id"]) == whole
    assert client.get("/api/v1/plots/nyquist/meas-nope").status_code == 404


def test_property_vs_parameter(client):
    r = client.get("/api/v1/plots/property-vs-parameter?property=ionic_conductivity&parameter=series_value"
                   "&temperature_c=25&family=halide")
    assert r.status_code == 200
    t = texts(r.data)
    assert "Ionic conductivity (S/cm)" in t
    assert "series composition parameter" in t
    assert {"Na3InCl6", "Na2.5Zr0.5In0.5Cl6"} <= set(t)
    assert "Ionic conductivity at 25 °C (halide)" in t
    r = client.get("/api/v1/plots/property-vs-parameter?property=ionic_conductivity&parameter=milling_time_h"
                   "&group_by=series_name&format=png")
    assert r.status_code == 200 and r.data.startswith(PNG_MAGIC)
    r = client.get("/api/v1/plots/property-vs-parameter?property=ionic_conductivity&parameter=milling_time_h&temperature_c=-100")
    assert r.status_code == 404
    assert client.get("/api/v1/plots/property-vs-parameter?property=nope&parameter=milling_time_h").status_code == 422
