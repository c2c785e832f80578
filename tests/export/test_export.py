"""ML export on a small imported dataset: rows, columns with units, features, writers round-trip."""

from __future__ import annotations

import csv
import io
import json
import math
from pathlib import Path

import pytest

from ionbase.service.export import build_rows, plan_export, stream_parquet, write_csv, write_jsonl, write_parquet
from ionbase.service.export import features as F
from ionbase.store.visibility import states_changed

DATA = Path(__file__).resolve().parents[1] / "data" / "export"


@pytest.fixture()
def loaded(store):
    from ionbase.ingest.importer import Importer, ImportOptions

    Importer(store, ImportOptions(progress=False)).run([DATA / "two_samples.yaml"])
    return store


def rows_by_key(rows):
    return {(r["sample_label"], r["temperature_C"]): r for r in rows}


def test_one_row_per_sample_and_temperature(loaded):
    rows = list(build_rows(loaded, {}))
    pairs = {(p["sample"], round(p["temperature_c"], 2))
             for p in loaded.db.properties.find({"name": "ionic_conductivity"}, {"sample": 1, "temperature_c": 1})}
    assert len(rows) == len(pairs) == 5
    by = rows_by_key(rows)
    assert set(by) == {("NIC-BM", 25.0), ("NIC-BM", 50.0), ("NIC-BM", 75.0), ("NIZC-BM", 25.0), ("NIZC-BM", 80.0)}
    r = by[("NIC-BM", 50.0)]
    assert r["ionic_conductivity_S_per_cm"] == pytest.approx(1.1e-5)
    assert r["temperature_K"] == pytest.approx(323.15)
    # temperature-independent values repeated on every row of the sample
    assert all(by[("NIC-BM", t)]["activation_energy_eV"] == pytest.approx(0.48) for t in (25.0, 50.0, 75.0))
    assert by[("NIZC-BM", 25.0)]["activation_energy_eV"] is None
    # rows come sample by sample, temperatures ascending
    labels = [(x["sample_label"], x["temperature_C"]) for x in rows]
    for label in ("NIC-BM", "NIZC-BM"):
        temps = [t for lab, t in labels if lab == label]
        assert temps == sorted(temps)


def test_columns_units_and_stable_order(loaded):
    plan = plan_export(loaded, {})
    cols = plan.columns
    for c in ("ionic_conductivity_S_per_cm", "activation_energy_eV", "lattice_a_angstrom", "cell_volume_A3",
              "density_g_cm3", "crystallite_size_nm", "coherence_length_nm", "microstrain_percent",
              "temperature_C", "temperature_K", "milling_time_h", "max_anneal_C", "frac_Na", "mean_Z",
              "std_ionic_radius_angstrom", *F.GROUP_COLUMNS):
        assert c in cols, c
    assert "lattice_c_angstrom" not in cols and "lattice_gamma_deg" not in cols
    assert cols.index("ionic_conductivity_S_per_cm") < cols.index("activation_energy_eV")  # registry order
    assert [c for c in cols if c.startswith("frac_")] == ["frac_Na", "frac_Cl", "frac_Zr", "frac_In"]  # by Z
    assert plan_export(loaded, {}).columns == cols
    rows = list(build_rows(loaded, {}, plan))
    assert all(list(r) == cols for r in rows)


def test_group_structure_synthesis_and_composition_features(loaded):
    by = rows_by_key(build_rows(loaded, {}))
    nic, nizc = by[("NIC-BM", 25.0)], by[("NIZC-BM", 80.0)]
    assert nic["family"] == "halide" and nic["doi"] == "10.9999/ionbase.export.test"
    assert nic["series_name"] == "Na3-xIn1-xZrxCl6" and nizc["series_value"] == pytest.approx(0.5)
    assert nic["sample_id"].startswith("smp-") and nic["material_id"].startswith("mat-")
    assert nic["reduced_formula"] == "Na3InCl6"
    # structure features of the same sample
    assert nic["lattice_a_angstrom"] == pytest.approx(6.8835)
    assert nic["crystallite_size_nm"] == pytest.approx(35.0)
    assert nic["cell_volume_A3"] is None and nizc["lattice_a_angstrom"] is None
    # synthesis
    assert nic["milled"] is True and nic["milling_time_h"] == pytest.approx(10) and nic["max_rpm"] == pytest.approx(500)
    assert nic["annealed"] is True and nic["max_anneal_C"] == pytest.approx(250) and nic["anneal_time_h"] == pytest.approx(2)
    assert nizc["annealed"] is False and nizc["max_anneal_C"] is None and nizc["cold_pressed"] is True
    assert nic["n_steps"] == 2 and nic["coated"] is False and nic["hot_pressed"] is False
    # composition: Na3InCl6 = 10 atoms
    assert nic["frac_Na"] == pytest.approx(0.3) and nic["frac_In"] == pytest.approx(0.1)
    assert nic["frac_Cl"] == pytest.approx(0.6) and nic["frac_Zr"] == 0.0
    assert nizc["frac_Zr"] == pytest.approx(0.5 / 9.5)
    assert nic["mean_Z"] == pytest.approx(0.3 * 11 + 0.1 * 49 + 0.6 * 17)
    mean = nic["mean_Z"]
    std = math.sqrt(0.3 * (11 - mean) ** 2 + 0.1 * (49 - mean) ** 2 + 0.6 * (17 - mean) ** 2)
    assert nic["std_Z"] == pytest.approx(std)
    assert nic["mean_X_pauling"] == pytest.approx(0.3 * 0.93 + 0.1 * 1.78 + 0.6 * 3.16)
    assert nic["mean_atomic_mass_amu"] > 30 and nic["mean_ionic_radius_angstrom"] > 0


def test_filter_restricts_rows_and_columns(loaded):
    rows = list(build_rows(loaded, {"sample_label": "NIZC-BM"}))
    assert len(rows) == 2 and {r["sample_label"] for r in rows} == {"NIZC-BM"}
    plan = plan_export(loaded, {"sample_label": "NIZC-BM"})
    assert "activation_energy_eV" not in plan.columns and "frac_In" in plan.columns
    # structure features come from the sample's properties whatever the filter selected
    rows = list(build_rows(loaded, {"name": "ionic_conductivity", "sample_label": "NIC-BM"}))
    assert len(rows) == 3 and rows[0]["lattice_a_angstrom"] == pytest.approx(6.8835)
    assert list(build_rows(loaded, {"family": "oxide"})) == []


def test_value_priority_and_stale_values(loaded):
    sid = loaded.db.samples.find_one({"label": "NIC-BM"})["_id"]
    base = loaded.db.properties.find_one({"sample": sid, "name": "ionic_conductivity", "temperature_c": 25.0})
    derived = {**base, "_id": "prop-derived-25", "value": 9e-6, "origin": "derived", "stale": False}
    stale = {**base, "_id": "prop-stale-30", "value": 1.0, "origin": "derived", "stale": True, "temperature_c": 30.0}
    loaded.db.properties.insert_many([derived, stale])
    by = rows_by_key(build_rows(loaded, {}))
    assert by[("NIC-BM", 25.0)]["ionic_conductivity_S_per_cm"] == pytest.approx(2.5e-6)  # reported wins
    assert ("NIC-BM", 30.0) not in by  # stale values are never exported
    loaded.db.properties.delete_one({"_id": base["_id"]})
    by = rows_by_key(build_rows(loaded, {}))
    assert by[("NIC-BM", 25.0)]["ionic_conductivity_S_per_cm"] == pytest.approx(9e-6)


def test_hidden_batches_are_not_exported(loaded):
    batch = loaded.db.properties.find_one({"sample_label": "NIZC-BM"})["batch_id"]
    loaded.db.import_batches.update_one({"_id": batch}, {"$set": {"status": "rolled_back"}})
    states_changed(loaded.db)  # what store/ does after every batch-state write (store.visibility)
    assert list(build_rows(loaded, {})) == []


def test_csv_round_trip(loaded):
    plan = plan_export(loaded, {})
    rows = list(build_rows(loaded, {}, plan))
    text = "".join(write_csv(iter(rows), plan.columns, flush_every=1))
    back = list(csv.DictReader(io.StringIO(text)))
    assert list(back[0]) == plan.columns and len(back) == len(rows)
    first = back[0]
    assert float(first["ionic_conductivity_S_per_cm"]) == rows[0]["ionic_conductivity_S_per_cm"]
    assert first["milled"] == "true" and first["cell_volume_A3"] == ""
    assert float(first["frac_Na"]) == pytest.approx(0.3)
    # header-only CSV for an empty selection
    assert "".join(write_csv([], plan.columns)).strip() == ",".join(plan.columns)
    # line by line: each chunk is one line
    chunks = list(write_csv(iter(rows), plan.columns, flush_every=1))
    assert len(chunks) == len(rows) + 1


def test_jsonl_round_trip(loaded):
    plan = plan_export(loaded, {})
    rows = list(build_rows(loaded, {}, plan))
    text = "".join(write_jsonl(iter(rows), plan.columns))
    back = [json.loads(line) for line in text.splitlines()]
    assert back == rows


def test_parquet_round_trip_file_and_stream(loaded, tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    plan = plan_export(loaded, {})
    rows = list(build_rows(loaded, {}, plan))
    path = tmp_path / "x.parquet"
    assert write_parquet(iter(rows), plan, str(path), row_group_size=2) == 5
    pf = pq.ParquetFile(path)
    assert pf.metadata.num_row_groups == 3
    table = pf.read()
    assert table.column_names == plan.columns
    assert table.schema.field("ionic_conductivity_S_per_cm").type == pa.float64()
    assert table.schema.field("milled").type == pa.bool_()
    assert table.schema.field("n_steps").type == pa.int64()
    assert table.to_pylist() == rows
    streamed = b"".join(stream_parquet(iter(rows), plan, row_group_size=2))
    assert pq.read_table(io.BytesIO(streamed)).to_pylist() == rows


def test_composition_features_edge_cases():
    fr, stats = F.composition_features("NaCB11H12")
    d = dict(fr)
    assert d["H"] == pytest.approx(12 / 25)
    s = dict(stats)
    # H has no ionic radius in pymatgen: left out of the radius statistics, weights renormalised
    assert s["mean_ionic_radius_angstrom"] == pytest.approx((1 * 1.16 + 1 * 0.3 + 11 * 0.41) / 13, rel=1e-6)
    assert F.composition_features("not a formula")[0] == ()
    assert F.unit_slug("mA*h/g") == "mAh_per_g" and F.property_column("critical_current_density") == "critical_current_density_mA_per_cm2"
    assert F.property_column("ionic_transport_number") == "ionic_transport_number"


def test_composite_component_fractions_are_columns(seeded_store):
    """Na2B12H12/SiO2 composites: the SiO2 fraction is a feature, not lost in the host formula."""
    import io
    import csv as _csv

    from ionbase.service.export.table import build_rows, plan_export, write_csv

    query = {"name": "ionic_conductivity", "family": "nanocomposite"}
    plan = plan_export(seeded_store, query)
    assert "vol_pct_SiO2" in plan.columns
    rows = list(build_rows(seeded_store, query, plan))
    by_label = {r["sample_label"]: r for r in rows}
    assert by_label["Na2B12H12-SiO2A200-35vol-BM4h"]["vol_pct_SiO2"] == 35.0
    text = "".join(write_csv(iter(rows), plan.columns))
    header = next(_csv.reader(io.StringIO(text)))
    assert "vol_pct_SiO2" in header
