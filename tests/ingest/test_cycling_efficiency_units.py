"""A cycling file's coulombic-efficiency unit is read from its header, through import into the
store and the cycling job (a fraction used to be stored as 0.9 % and averaged to 0.94 %)."""

from __future__ import annotations

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions

_RECORD = ("source: {notebook: NB-CE}\n"
           "materials: [{key: LIC, formula: Li3InCl6, family: halide}]\n"
           "samples: [{label: S-CE, material: LIC}]\n"
           "measurements:\n  - {sample: S-CE, kind: galvanostatic_cycling, label: ce, "
           "cell_type: full, file: cyc.csv}\n")


def _import(store, tmp_path, header: str) -> None:
    (tmp_path / "cyc.csv").write_text(
        f"cycle,Q charge (mAh/g),Q discharge (mAh/g),{header}\n"
        "1,200,180,0.900\n2,190,178,0.937\n3,185,175,0.946\n4,180,170,0.944\n")
    (tmp_path / "lab.yaml").write_text(_RECORD)
    Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])


def test_fraction_efficiency_is_stored_and_averaged_in_percent(store, settings, tmp_path):
    from ionbase.jobs.runner import run_jobs

    _import(store, tmp_path, "Coulombic efficiency (-)")
    cycles = store.db.measurements.find_one({"label": "ce"})["payload"]["cycles"]
    assert [c["coulombic_efficiency"] for c in cycles] == [
        {"value": v, "unit": "%"} for v in (90.0, 93.7, 94.6, 94.4)]
    result = run_jobs(store, settings, job_names=["cycling"])
    assert result["jobs"]["cycling"]["computed"] == 1, result["errors"]
    mean = store.db.properties.find_one({"name": "mean_coulombic_efficiency"})
    assert mean["value"] == pytest.approx((93.7 + 94.6 + 94.4) / 3) and mean["unit"] == "%"


def test_efficiency_without_unit_is_refused(store, tmp_path):
    with pytest.raises(ImportFailed) as err:
        _import(store, tmp_path, "Coulombic efficiency")
    text = str(err.value)
    assert "cyc.csv" in text and "line 1" in text and "'Coulombic efficiency'" in text, text
    assert "expected a unit in the coulombic efficiency header" in text
    assert store.db.measurements.count_documents({}) == 0


def test_efficiency_as_capacity_ratio_is_a_fraction(store, tmp_path):
    """'CE (mAh/mAh)' is discharge over charge capacity: a fraction, stored in % (pint read the
    compact 'mA*h/mA*h' left to right as h^2, so the header used to be refused)."""
    _import(store, tmp_path, "CE (mAh/mAh)")
    cycles = store.db.measurements.find_one({"label": "ce"})["payload"]["cycles"]
    assert [c["coulombic_efficiency"]["value"] for c in cycles] == [90.0, 93.7, 94.6, 94.4]
