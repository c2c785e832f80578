"""seed_data/: the five founding papers import cleanly, idempotently, with the values the papers print."""

from __future__ import annotations

import pytest

from ionbase.ingest.importer import Importer, ImportOptions
from tests.conftest import SEED

MG3ASN, NACB, NIZC, NBH, LI = "10.1039/d5mh01361e", "10.1002/smt.202300833", "10.1039/d3ta07209f", "10.1039/d5ta09128d", "10.1039/d4ta06366j"

# per paper: materials, samples, structure results, measurements, reported properties (incl. structure-table values)
COUNTS = {
    MG3ASN: (4, 16, 7, 14, 56),
    NACB: (4, 11, 7, 25, 3),
    NIZC: (7, 9, 10, 16, 14),
    NBH: (20, 28, 3, 23, 32),
    LI: (6, 7, 0, 15, 17),
}


def _prop(db, label: str, name: str, **cond) -> list[dict]:
    q = {"sample_label": label, "name": name, "origin": "reported"}
    q.update({f"conditions.{k}": v for k, v in cond.items()})
    return list(db.properties.find(q))


def _one(db, label, name, **cond) -> dict:
    found = _prop(db, label, name, **cond)
    assert len(found) >= 1, f"no {name} for {label} {cond}"
    return found[0]


@pytest.mark.parametrize("doi", sorted(COUNTS))
def test_record_counts_per_paper(seeded_store, doi):
    db = seeded_store.db
    ids = [d["_id"] for d in db.samples.find({"source_key": doi}, {"_id": 1})]
    got = (
        db.materials.count_documents({"source.doi": doi}),
        len(ids),
        db.structures.count_documents({"sample": {"$in": ids}}),
        db.measurements.count_documents({"sample": {"$in": ids}}),
        db.properties.count_documents({"sample": {"$in": ids}, "origin": "reported"}),
    )
    assert got == COUNTS[doi]


def test_second_import_changes_nothing(seeded_store):
    report = Importer(seeded_store, ImportOptions(dry_run=True)).run([SEED])
    assert report.counts["total"]["new"] == 0 and report.counts["total"]["changed"] == 0
    assert not report.errors


def test_mg3asn_values(seeded_store):
    db = seeded_store.db
    am = "Mg3AsN-BM400-3h"
    assert _one(db, am, "lattice_a")["value"] == 4.2307
    assert _one(db, am, "cell_volume")["value"] == 75.7275
    assert _one(db, am, "density")["value"] == 3.55
    assert _one(db, am, "crystallite_size")["value"] == 14.1
    assert _one(db, am, "microstrain")["value"] == pytest.approx(0.667)
    st = db.structures.find_one({"sample": db.samples.find_one({"label": am})["_id"], "phases.fit.Rwp": {"$exists": True}}) or \
        [s for s in db.structures.find({"sample": db.samples.find_one({"label": am})["_id"]}) if any("fit" in p for p in s["phases"])][0]
    fit = [p for p in st["phases"] if "fit" in p][0]["fit"]
    assert (fit["Rp"], fit["Rwp"], fit["Rexp"], fit["chi2"]) == (4.06, 5.19, 4.49, 1.34)
    assert _one(db, f"{am}-A500-12h", "lattice_a")["value"] == 4.2239
    assert _one(db, f"{am}-A600-12h", "crystallite_size")["value"] == 25.4
    assert _one(db, f"{am}-A700-12h", "microstrain")["value"] == pytest.approx(0.087)
    assert _one(db, am, "ionic_conductivity", temperature_c=100.0)["value"] == pytest.approx(5.54e-4)
    assert _one(db, am, "electronic_conductivity", temperature_c=100.0)["value"] == pytest.approx(4.89e-8)
    assert _one(db, f"{am}-A600-12h", "ionic_transport_number")["value"] == 0.615
    assert _one(db, am, "activation_energy")["value"] == pytest.approx(0.3)
    assert _one(db, f"{am}-polymer-membrane", "activation_energy")["value"] == pytest.approx(0.174)
    assert _one(db, f"{am}-polymer-membrane", "ionic_conductivity", temperature_c=25.0)["value"] == pytest.approx(1.34e-4)
    assert _one(db, "MOFsSE-UiO66-pellet", "bulk_resistance")["value"] == 14.6
    assert _one(db, f"{am}-HP100", "electronic_conductivity")["value"] == pytest.approx(1.5e-6)
    # the route: 400 rpm for 3 h, then 600 °C for 12 h
    a600 = db.samples.find_one({"label": f"{am}-A600-12h"})
    assert a600["summary"]["max_rpm"] == 400 and a600["summary"]["milling_time_h"] == pytest.approx(3.0)
    assert a600["summary"]["max_anneal_c"] == pytest.approx(600.0) and a600["parent"] == db.samples.find_one({"label": am})["_id"]


def test_nacb11h12_values(seeded_store):
    db = seeded_store.db
    assert _one(db, "NaCB11H12-BM-45min", "ionic_conductivity")["value"] == pytest.approx(4e-3)
    assert _one(db, "NaCB11H12-BM-6h", "ionic_conductivity")["value"] == pytest.approx(9.78e-9)
    s = db.samples.find_one({"label": "NaCB11H12-BM-45min"})
    assert s["summary"]["milling_time_h"] == pytest.approx(0.75)
    route = db.routes.find_one({"_id": s["route"]})
    mill = [st for st in route["steps"] if st["type"] == "ball_milling"][0]["params"]
    assert mill["ball_to_powder_ratio"] == 180 and "Spex" in mill["mill"]


def test_halide_series_values(seeded_store):
    db = seeded_store.db
    x05 = _one(db, "Na2.5In0.5Zr0.5Cl6-BM", "activation_energy")
    assert x05["value"] == pytest.approx(0.5) and x05["qualifier"] == "approximate" and x05["series_value"] == 0.5
    assert _one(db, "Na2.1In0.1Zr0.9Cl6-BM", "activation_energy")["value"] == pytest.approx(0.43)
    a330 = db.samples.find_one({"label": "Na2.1In0.1Zr0.9Cl6-BM-A330-1h"})
    assert a330["summary"]["max_anneal_c"] == pytest.approx(330.0) and a330["summary"]["anneal_time_h"] == pytest.approx(1.0)
    mills = db.routes.find_one({"_id": a330["route"]})["steps"]
    main = [st["params"] for st in mills if st["type"] == "ball_milling" and st["params"].get("rpm") == 500][0]
    assert main["cycles"] == 99 and main["on_time"] == 15.0


def test_na2b12h12_sio2_values(seeded_store):
    db = seeded_store.db
    assert _one(db, "SiO2-A200", "bet_surface_area")["value"] == pytest.approx(191.2)
    assert _one(db, "SiO2-SBA15", "pore_volume")["value"] == pytest.approx(1.207)
    assert _one(db, "SiO2-A380", "particle_size")["value"] == pytest.approx(17.2)
    assert _one(db, "Na2B12H12-pristine", "activation_energy")["value"] == pytest.approx(0.71)
    best = "Na2B12H12-SiO2A200-35vol-BM4h"
    assert _one(db, best, "ionic_conductivity", temperature_c=30.0)["value"] == pytest.approx(5e-4)
    assert _one(db, best, "activation_energy")["value"] == pytest.approx(0.38)
    assert _one(db, best, "cation_transference_number")["value"] == pytest.approx(0.97)
    assert _one(db, best, "oxidative_onset_potential")["value"] == pytest.approx(3.9)
    assert _one(db, best, "critical_current_density")["value"] == pytest.approx(0.3)
    assert _one(db, "Na2B12H12-SiO2A380-35vol-BM", "ionic_conductivity", temperature_c=60.0)["value"] == pytest.approx(1.4e-3)
    mat = db.materials.find_one({"_id": db.samples.find_one({"label": best})["material"]})
    sio2 = [c for c in mat["components"] if c["reduced_formula"] == "SiO2"][0]
    assert (sio2["fraction"], sio2["basis"]) == (35.0, "vol")


def test_li_anode_values(seeded_store):
    db = seeded_store.db
    assert _one(db, "Li-rp130um", "cycle_life")["value"] == 200
    lzln = "Li-rp130um-Zn300nm-Li100nm-N2"
    assert _one(db, lzln, "cycle_life")["value"] == 360
    assert _one(db, lzln, "nucleation_overvoltage")["value"] == pytest.approx(0.20)
    assert _one(db, "Li-rp130um", "nucleation_overvoltage")["value"] == pytest.approx(0.26)
    assert sorted(p["value"] for p in _prop(db, lzln, "layer_thickness")) == [700.0, 800.0]
    assert _one(db, "Li-rp130um-Li100nm-N2", "layer_thickness")["value"] == 110.0
    soh = {label: _one(db, label, "cycles_to_80_soh")["value"] for label in ("Li-rp130um", "Li-rp130um-Li100nm-N2", lzln)}
    assert soh == {"Li-rp130um": 70, "Li-rp130um-Li100nm-N2": 71, lzln: 105}
    s = db.samples.find_one({"label": lzln})
    assert s["summary"]["coated"] and {"pvd", "gas_treatment", "roll_pressing"} <= set(s["summary"]["step_types"])
