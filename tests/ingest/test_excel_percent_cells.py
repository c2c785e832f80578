"""A workbook cell formatted as a percentage is the quantity it shows: 85 % (stored by Excel as 0.85)
under ``phase_fraction (%)`` is 85, not 0.85 (review, 2026-12-03: 0.85 %, 0.0012 %, a cycling CE of
0.986 %). Imported for real, into the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.parsers import ParseError
from ionbase.ingest.parsers.cellformat import AmbiguousFormat, PercentCell, percent_format
from ionbase.ingest.parsers.cycling import CyclingXlsx

SAMPLES = [["label", "formula", "family"], ["P-A", "Li6PS5Cl", "sulfide"]]


def _cell(value, fmt: str | None = None):
    return (value, fmt)


def _workbook(path: Path, sheets: dict[str, list[list]], source: bool = True) -> Path:
    """``sheets`` of rows; a cell given as (value, number format) gets that format."""
    wb = Workbook()
    if source:
        wb.active.title = "source"
        wb.active.append(["notebook", "NB-PCT"])
    else:
        wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r, row in enumerate(rows, start=1):
            for c, cell in enumerate(row, start=1):
                value, fmt = cell if isinstance(cell, tuple) else (cell, None)
                target = ws.cell(row=r, column=c, value=value)
                if fmt:
                    target.number_format = fmt
    wb.save(path)
    return path


def _run(store, *paths: Path):
    return Importer(store, ImportOptions()).run(list(paths))


def _refused(store, path: Path) -> list[str]:
    with pytest.raises(ImportFailed) as err:
        _run(store, path)
    assert store.db.properties.count_documents({}) == 0
    return [str(i) for i in err.value.issues]


def _phase(store, name: str) -> dict:
    return store.db.properties.find_one({"name": name})


def test_structures_percent_cells_land_in_the_columns_unit(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "structures": [
        ["sample", "method", "phase", "formula", "phase_fraction (%)", "microstrain (%)"],
        ["P-A", "xrd_rietveld", "main", "Li6PS5Cl", _cell(0.85, "0%"), _cell(0.0012, "0.00%")]]})
    _run(store, book)
    assert (_phase(store, "phase_fraction")["value"], _phase(store, "phase_fraction")["unit"]) == (85.0, "%")  # was 0.85
    assert _phase(store, "microstrain")["value"] == 0.12  # was 0.0012


def test_a_fraction_header_and_no_header_unit_give_the_same_quantity(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "structures": [
        ["sample", "method", "phase", "formula", "phase_fraction (-)", "microstrain"],
        ["P-A", "xrd_rietveld", "main", "Li6PS5Cl", _cell(0.85, "0%"), _cell(0.0012, "0.00%")]]})
    _run(store, book)
    frac = _phase(store, "phase_fraction")
    assert (frac["value"], frac["entered"]) == (85.0, {"value": 0.85, "unit": "-"})
    assert _phase(store, "microstrain")["value"] == 0.12


def test_properties_value_column_with_and_without_a_unit(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "properties": [
        ["sample", "property", "value", "unit", "cycle_number"],
        ["P-A", "coulombic_efficiency", _cell(0.995, "0.0%"), "%", 10],
        ["P-A", "pellet_relative_density", _cell(0.92, "0%"), None, None],
        ["P-A", "capacity_retention", _cell(0.8, "0%"), "-", 100]]})
    _run(store, book)
    assert _phase(store, "coulombic_efficiency")["value"] == 99.5  # was 0.995
    assert _phase(store, "pellet_relative_density")["value"] == 92.0  # was 0.92
    assert _phase(store, "capacity_retention")["value"] == 80.0


def test_a_literal_percent_sign_in_the_format_is_not_a_percentage(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "structures": [
        ["sample", "method", "phase", "formula", "phase_fraction (%)"],
        ["P-A", "xrd_rietveld", "main", "Li6PS5Cl", _cell(85, '0" %"')]]})
    _run(store, book)
    assert _phase(store, "phase_fraction")["value"] == 85.0


def test_percent_cell_under_a_dimensional_header_is_refused(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "structures": [
        ["sample", "method", "phase", "formula", "crystallite_size (nm)"],
        ["P-A", "xrd_rietveld", "main", "Li6PS5Cl", _cell(0.5, "0%")]]})
    issues = _refused(store, book)
    assert len(issues) == 1, issues
    assert issues[0].startswith("lab.xlsx, row 2 (sheet 'structures'), column 'crystallite_size (nm)': "
                                "the cell shows 50 % (formatted as a percentage in Excel)"), issues


def test_percent_cell_in_a_conductivity_or_with_a_dimensional_unit_column_is_refused(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "properties": [
        ["sample", "property", "value", "unit", "temperature (°C)"],
        ["P-A", "ionic_conductivity", _cell(0.5, "0%"), "mS/cm", 25],
        ["P-A", "ionic_conductivity", _cell(0.5, "0%"), None, 25]]})
    issues = _refused(store, book)
    assert issues[0].startswith("lab.xlsx, row 2 (sheet 'properties'), column 'value': the cell shows 50 % "
                                "(formatted as a percentage in Excel), but column 'unit' gives the unit 'mS/cm'"), issues
    assert issues[1].startswith("lab.xlsx, row 3 (sheet 'properties'), column 'value': unit '%' (in the cell's "
                                "percentage format (Excel)) is not a unit of conductivity"), issues


def _cycling_book(path: Path, ce_header: str, ce_format: str = "0.00%", cap_format: str | None = None) -> Path:
    return _workbook(path, {"cycles": [
        ["Cycle", "Q charge (mAh/g)", "Q discharge (mAh/g)", ce_header],
        [1, 150.2, _cell(148.1, cap_format), _cell(0.9860186418109188, ce_format)],
        [2, 149, 147.5, _cell(0.9899328859060402, ce_format)]]}, source=False)


def test_cycling_workbook_percent_efficiency_is_stored_in_percent(store, tmp_path):
    _cycling_book(tmp_path / "cyc.xlsx", "CE (%)")
    (tmp_path / "lab.yaml").write_text(
        "source: {notebook: NB-CE}\nmaterials: [{key: LIC, formula: Li3InCl6, family: halide}]\n"
        "samples: [{label: S-CE, material: LIC}]\nmeasurements:\n  - {sample: S-CE, kind: galvanostatic_cycling, "
        "label: ce, cell_type: full, file: cyc.xlsx}\n")
    _run(store, tmp_path / "lab.yaml")
    cycles = store.db.measurements.find_one({"label": "ce"})["payload"]["cycles"]
    assert [c["coulombic_efficiency"]["value"] for c in cycles] == [98.6018641811, 98.9932885906]  # was 0.986


@pytest.mark.parametrize("header", ["CE (%)", "CE (-)", "Coulombic efficiency (1)"])
def test_cycling_percent_efficiency_whatever_the_headers_unit(tmp_path, header):
    data = CyclingXlsx.from_file(_cycling_book(tmp_path / "cyc.xlsx", header)).cycling
    assert list(data.coulombic_efficiency) == [98.6018641811, 98.9932885906]


def test_cycling_percent_capacity_is_refused_naming_sheet_row_and_column(tmp_path):
    with pytest.raises(ParseError) as err:
        CyclingXlsx.from_file(_cycling_book(tmp_path / "cyc.xlsx", "CE (%)", cap_format="0%"))
    text = str(err.value)
    assert "cyc.xlsx" in text and "line 2" in text and "Q discharge (mAh/g)" in text, text
    assert "sheet 'cycles'" in text and "formatted as a percentage" in text, text


@pytest.mark.parametrize("fmt, value, shown", [
    ("General", 0.5, False), (None, 0.5, False), ("0%", 0.5, True), ("0.00%", 0.5, True), ("[Red]0.0%", 0.5, True),
    ('0.0" %"', 0.5, False), ("0.0\\%", 0.5, False), ("0.00", 0.5, False), ("0%;-0.0", -0.5, False),
    ("0%;-0.0", 0.5, True), ('0.0;0.0;"0%"', 0.0, False), ("0.00E+00", 0.5, False), ("#,##0.0_%", 0.5, False),
])
def test_percent_format(fmt, value, shown):
    assert percent_format(fmt, value) is shown


def test_a_conditional_format_that_disagrees_is_ambiguous():
    with pytest.raises(AmbiguousFormat):
        percent_format("[>=1]0.0;0%", 0.5)
    assert PercentCell(0.85).percent == 85.0 and PercentCell(0.0012).text() == "0.12 %"


SITES = ["sample", "phase", "label", "element", "occupancy", "multiplicity", "x", "y", "z"]
STRUCTURE = [["sample", "method", "phase", "formula"], ["P-A", "xrd_rietveld", "main", "Li6PS5Cl"]]


def test_percent_cells_in_plain_fraction_fields_are_their_fraction(store, tmp_path):
    """A site occupancy shown 62 % and a series x shown 50 % are 0.62 and 0.5 (review, 2026-12-04: both
    refused as "expected a number, got '62.0 %'" since percentage cells became quantities)."""
    samples = [["label", "formula", "family", "series", "x"], ["P-A", "Li6PS5Cl", "sulfide", "Li6PS5Cl-x", _cell(0.5, "0%")]]
    book = _workbook(tmp_path / "lab.xlsx", {"samples": samples, "structures": STRUCTURE, "sites": [
        SITES, ["P-A", "main", "Li1", "Li", _cell(0.62, "0%"), 48, _cell(0.25, "0%"), 0, _cell(0.5, "0.0%")],
        ["P-A", "main", "P1", "P", _cell(0.95, "0.0%"), 4, 0, 0, 0]]})
    _run(store, book)
    sites = store.db.structures.find_one()["phases"][0]["sites"]
    assert [(s["label"], s["species"], s["x"], s["z"]) for s in sites] == [
        ("Li1", {"Li": 0.62}, 0.25, 0.5), ("P1", {"P": 0.95}, 0, 0)]
    assert store.db.materials.find_one({"formula": "Li6PS5Cl"})["series"]["nominal"] == 0.5


def test_a_percent_cell_in_a_field_that_is_no_fraction_is_refused_saying_how_to_fix_it(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "structures": STRUCTURE, "sites": [
        SITES, ["P-A", "main", "Li1", "Li", 0.62, _cell(0.48, "0%"), 0, 0, 0]]})
    issues = _refused(store, book)
    assert len(issues) == 1 and "sheet 'sites'" in issues[0] and "row 2" in issues[0] and "'multiplicity'" in issues[0]
    assert "shows 48.0 % (formatted as a percentage in Excel)" in issues[0] and "format the cell as a number" in issues[0]


def test_a_percent_cell_refused_in_a_steps_row_says_how_to_fix_it(store, tmp_path):
    book = _workbook(tmp_path / "lab.xlsx", {"samples": SAMPLES, "steps": [
        ["sample", "step", "type", "rpm", "duration (h)"], ["P-A", 1, "ball_milling", _cell(0.5, "0%"), 2]]})
    issues = _refused(store, book)
    assert len(issues) == 1 and "sheet 'steps'" in issues[0] and "row 2" in issues[0] and "'rpm'" in issues[0]
    assert "formatted as a percentage in Excel and holds 0.5: format it as a number" in issues[0]
