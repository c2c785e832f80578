"""A template table decides its decimal mark once, from all its numbers, as an instrument file does
(ingest/parsers/numbers.py): review, 2026-12-04, a German steps row with rpm "1.100" (1100, a
thousands separator) and duration "24,75" stored 1.1 rpm, each cell judged alone."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from tests.ingest.workbook import table_writer

_write = table_writer("# notebook: NB-MARK\n")
SAMPLES = "label,formula\nDE-1,Na3InCl6\n"
STEPS = "sample,step,type,rpm,duration (h)\n"
PROPS = "sample,property,value (µS/cm),temperature (°C)\n"


def _fails(store, paths) -> list[str]:
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run(paths)
    assert store.db.samples.count_documents({}) == 0 and store.db.properties.count_documents({}) == 0
    return [str(i) for i in err.value.issues]


def _steps(store, tmp_path, rows: str) -> list[str]:
    return _fails(store, [_write(tmp_path, "samples.csv", SAMPLES), _write(tmp_path, "steps.csv", STEPS + rows)])


def test_a_point_thousands_separator_in_a_decimal_comma_row_is_refused(store, tmp_path):
    issues = _steps(store, tmp_path, 'DE-1,1,ball_milling,"1.100","24,75"\n')
    assert len(issues) == 1 and "steps.csv, row 3" in issues[0] and "column 'rpm'" in issues[0]
    assert "'1.100'" in issues[0] and "thousands separator (1100)" in issues[0] and "'24,75'" in issues[0]


def test_the_decimal_comma_may_come_rows_later(store, tmp_path):
    issues = _steps(store, tmp_path, 'DE-1,1,ball_milling,"1.100",2\nDE-1,2,ball_milling,500,"24,75"\n')
    assert any("steps.csv, row 3" in i and "column 'rpm'" in i and "'24,75' on row 4" in i for i in issues)


def test_a_comma_thousands_separator_in_a_decimal_point_table_is_refused(store, tmp_path):
    issues = _steps(store, tmp_path, 'DE-1,1,ball_milling,"1,100",2\nDE-1,2,ball_milling,500,24.75\n')
    assert any("steps.csv, row 3" in i and "column 'rpm'" in i and "thousands separator" in i
               and "'24.75' on row 4" in i for i in issues)


def test_mixed_marks_in_one_table_are_refused(store, tmp_path):
    issues = _steps(store, tmp_path, 'DE-1,1,ball_milling,"2,5",2\nDE-1,2,ball_milling,500,24.75\n')
    assert any("steps.csv, row 4" in i and "column 'duration (h)'" in i and "'2,5' on row 3" in i for i in issues)


def test_a_possible_separator_is_read_by_the_tables_mark(store, tmp_path):
    """``1,200`` in a table that shows ',' (``0,5``) is 1.2; ``1.200`` in one that shows nothing is 1.2."""
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    comma = _write(tmp_path, "props_de.csv", PROPS + 'DE-1,ionic_conductivity,"1,200",25\nDE-1,ionic_conductivity,"0,5",80\n')
    point = tmp_path / "en"
    point.mkdir()
    point = _write(point, "props_en.csv", PROPS + 'DE-1,electronic_conductivity,"1.200",25\n')
    Importer(store, ImportOptions()).run([samples, comma, point])
    entered = sorted((p["name"], p["entered"]["value"]) for p in store.db.properties.find())
    assert entered == [("electronic_conductivity", 1.2), ("ionic_conductivity", 0.5), ("ionic_conductivity", 1.2)]


def test_a_lone_possible_comma_separator_is_still_refused(store, tmp_path):
    issues = _steps(store, tmp_path, 'DE-1,1,ball_milling,"1,500",2\n')
    assert len(issues) == 1 and "column 'rpm'" in issues[0] and "cannot tell whether '1,500'" in issues[0]


def test_a_workbook_sheet_decides_its_own_mark(store, tmp_path):
    wb = Workbook()
    wb.active.title = "source"
    wb.active.append(["notebook", "NB-MARK"])
    wb.create_sheet("samples").append(["label", "formula"])
    wb["samples"].append(["DE-1", "Na3InCl6"])
    steps = wb.create_sheet("steps")
    for row in (["sample", "step", "type", "rpm", "duration (h)"], ["DE-1", 1, "ball_milling", "1.100", "24,75"]):
        steps.append(row)
    wb.save(tmp_path / "lab.xlsx")
    issues = _fails(store, [tmp_path / "lab.xlsx"])
    assert len(issues) == 1 and "sheet 'steps'" in issues[0] and "row 2" in issues[0] and "'rpm'" in issues[0]
    assert "thousands separator" in issues[0]
