"""Rotation speeds, press loads in 'tons' and composite fractions, imported for real (review,
2026-12-03): a steps sheet 'rpm (min-1)' of 400 stored max_rpm 63.66, "5 ton" was a US short ton
and fractions 0.65 / 0.35 were stored as 0.65 vol% / 0.35 vol%."""

from __future__ import annotations

from pathlib import Path

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions

from .workbook import write_workbook

SAMPLES = [["label", "formula", "family"], ["R-A", "Li6PS5Cl", "sulfide"], ["R-B", "Li6PS5Cl", "sulfide"]]


def _run(store, *paths: Path):
    return Importer(store, ImportOptions()).run(list(paths))


def _refused(store, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as err:
        _run(store, path)
    assert store.db.samples.count_documents({}) == 0 and store.db.materials.count_documents({}) == 0
    return [str(i) for i in err.value.issues]


def test_rpm_in_min_and_hz_and_a_frequency_in_rpm(store, tmp_path):
    book = write_workbook(tmp_path / "lab.xlsx", "NB-RPM", {"samples": SAMPLES, "steps": [
        ["sample", "step", "type", "rpm (min-1)", "duration (h)", "frequency"],
        ["R-A", 1, "ball_milling", 400, 10, None],
        ["R-B", 1, "ball_milling", None, 10, "120 rpm"]]})
    _run(store, book)
    a = store.db.samples.find_one({"label": "R-A"})
    assert a["own_steps"][0]["params"]["rpm"] == 400.0 and a["summary"]["max_rpm"] == 400.0  # was 63.66
    b = store.db.samples.find_one({"label": "R-B"})
    assert b["own_steps"][0]["params"]["frequency"] == 2.0  # was 12.57


def test_rpm_written_in_hz_in_a_yaml_step(store, tmp_path):
    (tmp_path / "lab.yaml").write_text(
        "source: {notebook: NB-HZ}\nmaterials: [{key: LPSC, formula: Li6PS5Cl, family: sulfide}]\n"
        "samples: [{label: H-1, material: LPSC, steps: [{type: ball_milling, rpm: '30 Hz', duration: '2 h'}]}]\n")
    _run(store, tmp_path / "lab.yaml")
    assert store.db.samples.find_one({"label": "H-1"})["summary"]["max_rpm"] == 1800.0  # was 286.5


def test_a_press_load_in_tons_is_refused_naming_file_row_and_column(store, tmp_path):
    book = write_workbook(tmp_path / "lab.xlsx", "NB-TON", {"samples": SAMPLES, "steps": [
        ["sample", "step", "type", "force"],
        ["R-A", 1, "cold_pressing", "5 t"],
        ["R-B", 1, "cold_pressing", "5 tons"]]})
    issues = _refused(store, book)
    assert len(issues) == 1, issues
    assert issues[0].startswith("lab.xlsx, row 3 (sheet 'steps'), field 'force': "), issues
    assert "ambiguous" in issues[0] and "'t' (tonne)" in issues[0] and "'ton_US'" in issues[0], issues


def test_a_press_load_in_tonnes_and_short_tons(store, tmp_path):
    book = write_workbook(tmp_path / "lab.xlsx", "NB-TON", {"samples": SAMPLES, "steps": [
        ["sample", "step", "type", "force"],
        ["R-A", 1, "cold_pressing", "5 t"],
        ["R-B", 1, "cold_pressing", "5 ton_US"]]})
    _run(store, book)
    force = {s["label"]: s["own_steps"][0]["params"]["force"] for s in store.db.samples.find()}
    assert force == {"R-A": 49.03325, "R-B": 44.4822161526}


_COMPOSITE = """source: {{notebook: NB-COMP}}
materials:
  - key: NBH-SiO2
    formula: Na2B12H12
    family: nanocomposite
    components:
      - {{formula: Na2B12H12, fraction: {0}, basis: vol}}
      - {{formula: SiO2, fraction: {1}, basis: vol}}
samples: [{{label: C-1, material: NBH-SiO2}}]
"""


def test_composite_fractions_written_as_fractions_of_one_are_refused(store, tmp_path):
    (tmp_path / "lab.yaml").write_text(_COMPOSITE.format(0.65, 0.35))
    issues = _refused(store, tmp_path / "lab.yaml")
    assert issues[0].startswith("lab.yaml, row 3 (materials[0]), field 'materials[0].components[*].fraction': "
                                "the components' fractions add up to 1 (0.65 + 0.35), not 100"), issues
    assert "materials[0].components[*].fraction" in issues[0] and "fractions of 1" in issues[0], issues


def test_composite_fractions_in_percent_are_stored(store, tmp_path):
    (tmp_path / "lab.yaml").write_text(_COMPOSITE.format(65, '"35 vol%"'))
    _run(store, tmp_path / "lab.yaml")
    comps = store.db.materials.find_one({"key": "NBH-SiO2"})["components"]
    assert [(c["reduced_formula"], c["fraction"], c["basis"]) for c in comps] == [
        ("Na(BH)6", 65.0, "vol"), ("SiO2", 35.0, "vol")]
