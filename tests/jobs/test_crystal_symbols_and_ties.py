"""Short space-group symbols, parameters tied by symmetry when the record stores them all, and the
volume a CIF reports, through the real importer, store and crystallography job.

Reference values come from the cells themselves: the template row (Na2.5In0.5Zr0.5Cl6, P21/n,
a 6.402(2), b 6.751(2), c 9.613(3) Å, beta 91.42(2)°: V = a b c sin beta = 415.35 Å^3) and the
Mg3AsN CIF (Pm-3m, a = b = c = 4.2307(3) Å as the file writes them, and its own
_cell_volume 75.725(16) Å^3: the file's su is 3 a^2 u(a) = 0.0161, the one refined a).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.parsers import CifFile, ParseError
from ionbase.jobs.definitions import compute_crystallography
from ionbase.jobs.runner import run_jobs
from ionbase.schemas.crystal import CrystalError, lattice_space_group, space_group

REPO = Path(__file__).resolve().parents[2]
INSTRUMENT = REPO / "tests" / "data" / "instrument"
TABLES = ["samples", "steps", "conductivity", "properties", "structures", "sites"]


def _sg(symbol: str, number: int | None = None):
    return lattice_space_group({"space_group_symbol": symbol, "space_group_number": number})


# ------------------------------------------------------------------ 1. short symbols


@pytest.mark.parametrize("symbol,number,full", [
    ("P21/c", 14, "P12_1/c1"), ("P21/n", 14, "P12_1/n1"), ("P 21/n", 14, "P12_1/n1"), ("P2(1)/c", 14, "P12_1/c1"),
])
def test_monoclinic_short_symbols_without_a_number_resolve_to_unique_axis_b(symbol, number, full):
    """The short symbols pymatgen does not read (it needs 'P2_1/c' or 'P 1 21/n 1') are the group of
    the International Tables, in the unique-axis-b setting the short symbol means."""
    sg = _sg(symbol)
    assert sg is not None and (sg.int_number, sg.symbol) == (number, full)


def test_p21n_is_the_n_glide_setting_not_p21c():
    """The resolved P21/n expands sites with its own operations: (x, y, z) -> (1/2-x, 1/2+y, 1/2-z)."""
    ops = {tuple(map(float, op.operate([0.1, 0.2, 0.3]).round(6) % 1))
           for op in space_group({"space_group_symbol": "P21/n"}).symmetry_ops}
    assert (0.4, 0.7, 0.2) in ops  # n glide/2_1 of P 1 21/n 1
    assert (0.9, 0.7, 0.2) not in ops  # the P 1 21/c 1 screw axis at x = 0 would give (-x, y+1/2, -z+1/2)


@pytest.mark.parametrize("symbol,number,full", [
    ("P212121", 19, "P2_12_12_1"), ("P3121", 152, "P3_121"), ("P3112", 151, "P3_112"), ("P6322", 182, "P6_322"),
    ("P42/mnm", 136, "P4_2/mnm"), ("I41/amd", 141, "I4_1/amd"), ("Pna21", 33, "Pna2_1"), ("Cmc21", 36, "Cmc2_1"),
    ("P63/mmc", 194, "P6_3/mmc"), ("Fm-3m", 225, "Fm-3m"), ("Im-3m", 229, "Im-3m"), ("R-3m", 166, "R-3m"),
    ("P43212", 96, "P4_32_12"), ("P4332", 212, "P4_332"),
])
def test_underscore_free_symbols_give_their_international_tables_number(symbol, number, full):
    sg = _sg(symbol)
    assert (sg.int_number, sg.symbol) == (number, full)
    assert _sg(symbol, number).int_number == number  # the number agrees: accepted


def test_every_reading_of_the_digit_pairs_is_tried():
    from ionbase.schemas.crystal import _readings

    assert _readings("P6322") == {"P6322", "P6_322", "P63_22"}
    assert _readings("P212121") >= {"P212121", "P2_12_12_1", "P2_1212_1"}
    assert _readings("P2_1/c") == {"P2_1/c"}  # written with its screw axis: read as written


def test_a_symbol_with_two_groups_is_refused_naming_them_until_the_number_decides():
    with pytest.raises(CrystalError, match=r"'P-3m' is ambiguous, it reads as P-31m \(No. 162\), P-3m1 \(No. 164\); "
                                           r"give the space group number"):
        _sg("P-3m")
    assert (_sg("P-3m", 164).int_number, _sg("P-3m", 164).symbol) == (164, "P-3m1")
    with pytest.raises(CrystalError, match=r"'P 21/b' is ambiguous"):  # unique axis a or c: the short symbol does not say
        _sg("P 21/b")


def test_a_short_symbol_and_a_number_that_disagree_are_refused():
    """It used to fall back to the number (No. 15, C2/c) without looking at 'P21/c' at all."""
    with pytest.raises(CrystalError, match=r"symbol 'P21/c' is No. 14, the record says 15"):
        _sg("P21/c", 15)
    with pytest.raises(CrystalError, match=r"symbol 'P3121' is No. 152, the record says 151"):
        _sg("P3121", 151)


def test_the_template_row_without_its_number_gets_its_volume(store, settings, tmp_path):
    for t in TABLES:
        shutil.copy(REPO / "templates" / f"{t}.csv", tmp_path / f"{t}.csv")
    path = tmp_path / "structures.csv"
    path.write_text(path.read_text().replace("P21/n,14,", "P21/n,,"))
    report = Importer(store, ImportOptions()).run([tmp_path / f"{t}.csv" for t in TABLES])
    assert not report.errors
    assert "space_group_number" not in store.db.structures.find_one({})["phases"][0]
    result = run_jobs(store, settings, job_names=["crystallography"])
    assert result["failed"] == 0, result["errors"]
    vol = store.db.properties.find_one({"name": "cell_volume", "origin": "derived"})
    a, b, c, beta = 6.402, 6.751, 9.613, math.radians(91.42)
    v = a * b * c * math.sin(beta)
    assert vol["value"] == pytest.approx(v, rel=1e-12) and round(vol["value"], 2) == 415.35
    u = math.sqrt((v / a * 0.002) ** 2 + (v / b * 0.002) ** 2 + (v / c * 0.003) ** 2
                  + (a * b * c * math.cos(beta) * math.radians(0.02)) ** 2)
    assert vol["uncertainty"] == pytest.approx(u, rel=1e-9)
    params = vol["provenance"]["parameters"]
    assert params["space_group_number"] == 14 and params["crystal_system"] == "monoclinic"
    assert params["lattice"]["alpha"] == [90.0, 0.0] and params["lattice"]["gamma"] == [90.0, 0.0]


# ------------------------------------------------------------------ 2 and 3. a CIF's cell and volume


@pytest.fixture()
def cif_store(store, settings, tmp_path):
    for name in ("Mg3AsN_partial.cif", "Na3InCl6_like_P21n.cif"):
        shutil.copy(INSTRUMENT / name, tmp_path / name)
    (tmp_path / "lab.yaml").write_text(
        "source: {notebook: NB-CIF-V}\n"
        "samples:\n  - {label: M1, material: Mg3AsN}\n  - {label: N1, material: Na3InCl6}\n"
        "structures:\n  - {sample: M1, method: xrd_rietveld, cif: Mg3AsN_partial.cif}\n"
        "  - {sample: N1, method: xrd_rietveld, cif: Na3InCl6_like_P21n.cif}\n")
    report = Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])
    assert not report.errors
    result = run_jobs(store, settings, job_names=["crystallography"])
    assert result["failed"] == 0, result["errors"]
    return store


def _volumes(store, sample: str) -> dict[str, dict]:
    return {d["origin"]: d for d in store.db.properties.find({"name": "cell_volume", "sample_label": sample})}


def test_a_cif_cubic_cell_storing_a_b_and_c_is_one_refined_a(cif_store):
    a, ua = 4.2307, 0.0003
    derived = _volumes(cif_store, "M1")["derived"]
    assert derived["value"] == pytest.approx(a**3, rel=1e-12)
    assert derived["uncertainty"] == pytest.approx(3 * a**2 * ua, rel=1e-9)  # 0.01611, was sqrt(3) a^2 u(a) = 0.0093
    assert round(derived["uncertainty"], 3) == 0.016  # what the file's own _cell_volume 75.725(16) says
    params = derived["provenance"]["parameters"]
    assert params["tied"] == {"b": "a", "c": "a"}
    assert params["lattice"]["alpha"] == [90.0, 0.0]


def test_the_volume_a_cif_reports_keeps_its_uncertainty_beside_the_derived_one(cif_store):
    phase = cif_store.db.structures.find_one({"sample": cif_store.db.samples.find_one({"label": "M1"})["_id"]})["phases"][0]
    assert phase["volume"] == {"value": 75.725, "unit": "Å^3", "uncertainty": 0.016}
    vols = _volumes(cif_store, "M1")
    assert (vols["reported"]["value"], vols["reported"]["uncertainty"]) == (75.725, 0.016)
    assert vols["derived"]["value"] == pytest.approx(4.2307**3)  # its own record, the reported one untouched


def test_a_cif_without_cell_volume_reports_none_and_the_job_derives_it(cif_store):
    vols = _volumes(cif_store, "N1")
    assert set(vols) == {"derived"}  # was a 'reported' 412.47 that pymatgen had computed from the cell
    v = 6.4012 * 6.7105 * 9.6043 * math.sin(math.radians(91.134))
    assert vols["derived"]["value"] == pytest.approx(v, rel=1e-12)


def test_an_unreadable_cell_volume_is_refused_naming_line_and_field():
    text = (INSTRUMENT / "Mg3AsN_partial.cif").read_text().replace("75.725(16)", "75.7x25")
    with pytest.raises(ParseError) as ei:
        CifFile.from_str(text, filename="v.cif")
    assert (ei.value.file, ei.value.field, ei.value.line) == ("v.cif", "_cell_volume", 20)


def _phase(symbol: str, number: int, lattice: dict) -> dict:
    return {"structure": "S", "phase": {"index": 0, "name": "X", "formula": None, "z": None,
                                        "space_group_symbol": symbol, "space_group_number": number, "lattice": lattice}}


def test_tied_parameters_that_disagree_are_refused_not_picked():
    cubic = {"a": [4.2307, 0.0003], "b": [4.2400, 0.0003], "c": [4.2307, 0.0003]}
    with pytest.raises(ValueError, match=r"lattice.b: stored 4.24, but space group Pm-3m \(cubic\) makes b = a = 4.2307"):
        compute_crystallography(_phase("Pm-3m", 221, cubic))
    right = {"a": [5.0, 0.001], "b": [5.0, 0.001], "c": [7.0, 0.002], "alpha": [90.5, 0.0]}
    with pytest.raises(ValueError, match=r"lattice.alpha: stored 90.5, but space group P4/mmm \(tetragonal\) makes alpha = 90°"):
        compute_crystallography(_phase("P4/mmm", 123, right))


def test_tied_parameters_equal_within_uncertainty_are_one_variable():
    """Tetragonal a = b written 5.0001(3) and 5.0003(3): one variable, u(V) = sqrt((2 V/a u_a)^2 + (V/c u_c)^2)."""
    lat = {"a": [5.0001, 0.0003], "b": [5.0003, 0.0003], "c": [7.0, 0.002], "alpha": [90.0, 0.0],
           "beta": [90.0, 0.0], "gamma": [90.0, 0.0]}
    (vol,) = compute_crystallography(_phase("P4/mmm", 123, lat))
    v = 5.0001**2 * 7.0
    assert vol["value"] == pytest.approx(v, rel=1e-12)
    assert vol["uncertainty"] == pytest.approx(math.hypot(2 * v / 5.0001 * 0.0003, v / 7.0 * 0.002), rel=1e-9)
    assert vol["parameters"]["tied"] == {"b": "a"}


def test_yaml_records_storing_the_tied_parameters_agree_with_records_that_do_not(store, settings, tmp_path):
    lab = {"source": {"doi": "10.1000/ties"},
           "samples": [{"label": "FULL", "material": "Mg3AsN"}, {"label": "ONE", "material": "Mg3AsN"}],
           "structures": [
               {"sample": "FULL", "method": "xrd_rietveld", "phases": [{"name": "Mg3AsN", "space_group": "Pm-3m", "lattice": {
                   "a": "4.2307(3) Å", "b": "4.2307(3) Å", "c": "4.2307(3) Å", "alpha": "90 deg", "beta": "90 deg", "gamma": "90 deg"}}]},
               {"sample": "ONE", "method": "xrd_rietveld", "phases": [{"name": "Mg3AsN", "space_group": "Pm-3m",
                                                                      "lattice": {"a": "4.2307(3) Å"}}]}]}
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(lab, allow_unicode=True))
    assert not Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"]).errors
    assert run_jobs(store, settings, job_names=["crystallography"])["failed"] == 0
    full, one = (store.db.properties.find_one({"name": "cell_volume", "origin": "derived", "sample_label": s})
                 for s in ("FULL", "ONE"))
    assert (full["value"], full["uncertainty"]) == (one["value"], one["uncertainty"])
    assert full["uncertainty"] == pytest.approx(3 * 4.2307**2 * 0.0003, rel=1e-9)
