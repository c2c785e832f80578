"""Instrument files with quoted decimal commas, thousands separators and a mislabelled -Z'' column,
imported end to end: the stored numbers are the file's, or the batch is refused with nothing written
(review of the instrument parsers: a quoted "150,2" used to be stored as 150 and 2)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions

INSTRUMENT = Path(__file__).resolve().parents[1] / "data" / "instrument"

_HEAD = ("source: {notebook: NB-MARK}\n"
         "materials: [{key: LPSC, formula: Li6PS5Cl, family: sulfide}]\n"
         "samples: [{label: C-A, material: LPSC}, {label: E-A, material: LPSC}]\n"
         "measurements:\n")
_CYCLING = ("  - {sample: C-A, kind: galvanostatic_cycling, label: cyc, cell_type: half, "
            "file: %s}\n")
_SPECTRUM = ("  - {sample: E-A, kind: impedance_spectrum, label: eis, temperature: 25 °C, "
             "cell: {thickness: 1 mm, area: 1 cm**2, electrodes: Au|SE|Au, blocking: ion}, "
             "file: %s}\n")


def _record(tmp_path: Path, cycling: str | None, spectrum: str | None) -> Path:
    text = _HEAD
    for template, name in ((_CYCLING, cycling), (_SPECTRUM, spectrum)):
        if name:
            shutil.copy(INSTRUMENT / name, tmp_path / name)
            text += template % name
    (tmp_path / "lab.yaml").write_text(text, encoding="utf-8")
    return tmp_path / "lab.yaml"


def _counts(store) -> dict:
    return {c: store.db[c].count_documents({}) for c in store.db.list_collection_names()}


def test_quoted_decimal_commas_are_stored_as_written(store, settings, tmp_path):
    from ionbase.jobs.runner import run_jobs

    report = Importer(store, ImportOptions()).run(
        [_record(tmp_path, "cycling_quoted_decimal_comma.csv", "impedance_quoted_decimal_comma.csv")])
    assert not report.errors
    cycles = store.db.measurements.find_one({"label": "cyc"})["payload"]["cycles"]
    assert [c["charge_capacity"]["value"] for c in cycles] == [150.2, 149.0, 148.4]
    assert [c["discharge_capacity"]["value"] for c in cycles] == [148.1, 147.5, 147.0]
    assert [c["coulombic_efficiency"]["value"] for c in cycles] == [98.6, 99.0, 99.1]
    eis = store.db.measurements.find_one({"label": "eis"})
    arrays = store.measurement_arrays.arrays(eis["_id"], ["frequency", "z_real", "z_imag"]).arrays
    assert arrays["frequency"] == [1e6, 1e5, 1e4, 1e3, 100.0, 10.0]
    assert arrays["z_real"] == [101.5, 105.0, 150.0, 200.0, 230.0, 250.0]
    assert arrays["z_imag"] == [-5.0, -20.0, -40.0, -30.0, -15.0, -20.0]
    result = run_jobs(store, settings, job_names=["cycling"])
    assert result["jobs"]["cycling"]["computed"] == 1, result["errors"]
    props = {p["name"]: p["value"] for p in store.db.properties.find({})}
    assert props["initial_discharge_capacity"] == pytest.approx(148.1)  # was 2.0
    assert props["capacity_retention"] == pytest.approx(147.0 / 148.1 * 100)  # was 200 %
    assert props["mean_coulombic_efficiency"] == pytest.approx((99.0 + 99.1) / 2, abs=0.1)


@pytest.mark.parametrize("spectrum,message", [
    ("impedance_thousands_separator.tsv", "thousands separators are not read; remove them"),
    ("impedance_minus_zim_holds_zim.csv", "says it holds -Z''")])
def test_a_wrong_spectrum_refuses_the_whole_batch(store, tmp_path, spectrum, message):
    before = _counts(store)
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run(
            [_record(tmp_path, "cycling_quoted_decimal_comma.csv", spectrum)])
    issues = [str(i) for i in err.value.issues]
    assert len(issues) == 1 and spectrum in issues[0] and message in issues[0], issues
    assert ("line 2" if "thousands" in spectrum else "line 1") in issues[0]
    assert _counts(store) == before
