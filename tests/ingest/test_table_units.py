"""Units, uncertainties and error text of properties/conductivity tables, imported for real (issue 9)."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import Workbook

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions

HEAD = "# notebook: NB-T\n"


def _run(store, *paths: Path):
    return Importer(store, ImportOptions()).run(list(paths))


@pytest.fixture()
def samples(tmp_path) -> Path:
    path = tmp_path / "samples.csv"
    path.write_text(HEAD + "label,formula\nU1,Li6PS5Cl\nU2,Li6PS5Cl\n", encoding="utf-8")
    return path


def _table(tmp_path: Path, text: str, name: str = "properties.csv") -> Path:
    path = tmp_path / name
    path.write_text(HEAD + text, encoding="utf-8")
    return path


def _fails(store, *paths: Path):
    """The batch's issues; the store must be left exactly as it was."""
    before = {c: store.db[c].count_documents({}) for c in store.db.list_collection_names()}
    with pytest.raises(ImportFailed) as err:
        _run(store, *paths)
    assert {c: store.db[c].count_documents({}) for c in store.db.list_collection_names()} == before
    return err.value.issues


def test_unit_column_is_converted_and_what_was_entered_is_kept(store, samples, tmp_path):
    # the issue's row: 0.5 mS/cm was stored as 0.5 S/cm
    table = _table(tmp_path, "sample,property,value,unit,temperature\nU1,ionic_conductivity,0.5,mS/cm,25 °C\n")
    _run(store, samples, table)
    doc = store.db.properties.find_one({"name": "ionic_conductivity"})
    assert (doc["value"], doc["unit"], doc["entered"]) == (5e-4, "S/cm", {"value": 0.5, "unit": "mS/cm"})
    assert doc["temperature_c"] == 25.0


def test_wrong_dimension_in_unit_column_names_file_row_and_column(store, samples, tmp_path):
    _run(store, samples)
    table = _table(tmp_path, "sample,property,value,unit,temperature (°C)\nU1,ionic_conductivity,0.5,mS/cm,25\n"
                             "U2,ionic_conductivity,0.7,ohm,25\n")
    issues = _fails(store, table)
    assert [str(i) for i in issues] == ["properties.csv, row 4, column 'unit': unit 'ohm' (in column 'unit') is not a "
                                        "unit of conductivity (canonical unit S/cm)"]


def test_header_unit_and_unit_column_must_agree(store, samples, tmp_path):
    conflict = _table(tmp_path, "sample,property,value (mS/cm),unit,temperature (°C)\nU1,ionic_conductivity,0.5,S/cm,25\n")
    (issue,) = _fails(store, samples, conflict)
    assert (issue.row, issue.column) == (3, "unit") and "'mS/cm'" in issue.message and "'S/cm'" in issue.message
    same = _table(tmp_path, "sample,property,value (mS/cm),unit,temperature (°C)\nU1,ionic_conductivity,0.5,mS/cm,25\n",
                  "same.csv")
    _run(store, samples, same)
    assert store.db.properties.find_one({"name": "ionic_conductivity"})["value"] == 5e-4


def test_inline_unit_and_unit_column_must_agree(store, samples, tmp_path):
    table = _table(tmp_path, "sample,property,value,unit,temperature (°C)\nU1,ionic_conductivity,0.5 mS/cm,S/m,25\n")
    (issue,) = _fails(store, samples, table)
    assert (issue.row, issue.column) == (3, "value") and "two different units" in issue.message
    assert "'S/m' in column 'unit'" in issue.message and "'mS/cm' in the cell '0.5 mS/cm'" in issue.message


def test_units_row_conflicting_with_header_is_an_error_and_empty_cell_keeps_header_unit(store, samples, tmp_path):
    conflict = _table(tmp_path, "sample,property,value (mS/cm),temperature (°C)\nunits,,S/cm,\n"
                                "U1,ionic_conductivity,0.5,25\n")
    (issue,) = _fails(store, samples, conflict)
    assert (issue.row, issue.column) == (3, "value (mS/cm)") and "units row" in issue.message
    # an empty units-row cell must not drop the header's °C (25 would become 25 K)
    keeps = _table(tmp_path, "sample,property,value,temperature (°C)\nunits,,mS/cm,\nU1,ionic_conductivity,0.5,25\n", "keeps.csv")
    _run(store, samples, keeps)
    doc = store.db.properties.find_one({"name": "ionic_conductivity"})
    assert (doc["value"], doc["temperature_c"]) == (5e-4, 25.0)


def test_uncertainty_takes_the_value_unit_or_its_own(store, samples, tmp_path):
    table = _table(tmp_path, "sample,property,value,unit,uncertainty,temperature (°C)\n"
                             "U1,ionic_conductivity,0.5,mS/cm,0.1,25\n"
                             "U1,ionic_conductivity,0.5 mS/cm,,20 µS/cm,60\n"
                             "U2,activation_energy,30,kJ/mol,1.5,\n")
    _run(store, samples, table)
    got = {(d["sample_label"], d["name"], d.get("temperature_c")): (d["value"], d["uncertainty"])
           for d in store.db.properties.find({})}
    assert got[("U1", "ionic_conductivity", 25.0)] == (5e-4, 1e-4)
    assert got[("U1", "ionic_conductivity", 60.0)] == (5e-4, 2e-5)
    # 1 eV = 96.4853321233 kJ/mol (N_A e, exact in the SI)
    assert got[("U2", "activation_energy", None)] == (pytest.approx(30 / 96.4853321233, rel=1e-11),
                                                      pytest.approx(1.5 / 96.4853321233, rel=1e-11))


def test_uncertainty_header_unit_is_converted_and_checked(store, samples, tmp_path):
    table = _table(tmp_path, "sample,property,value (mS/cm),uncertainty (µS/cm),temperature (°C)\n"
                             "U1,ionic_conductivity,0.5,20,25\n")
    _run(store, samples, table)
    doc = store.db.properties.find_one({"name": "ionic_conductivity"})
    assert (doc["value"], doc["uncertainty"]) == (5e-4, 2e-5)
    bad = _table(tmp_path, "sample,property,value (mS/cm),uncertainty (ohm),temperature (°C)\n"
                           "U2,ionic_conductivity,0.5,20,25\n", "bad.csv")
    (issue,) = _fails(store, samples, bad)
    assert (issue.file, issue.row, issue.column) == ("bad.csv", 3, "uncertainty (ohm)")


def test_conductivity_table_honours_a_unit_column(store, samples, tmp_path):
    table = _table(tmp_path, "sample,T (°C),sigma,unit\nU1,25,1.2,S/m\n", "sigma.csv")
    _run(store, samples, table)
    assert store.db.properties.find_one({"name": "ionic_conductivity"})["value"] == 0.012


def test_xlsx_unit_column_and_error_names_sheet(store, samples, tmp_path):
    path = tmp_path / "lab.xlsx"
    wb = Workbook()
    wb.active.title = "source"
    wb.active.append(["notebook", "NB-T"])
    ws = wb.create_sheet("properties")
    ws.append(["sample", "property", "value", "unit", "temperature (°C)"])
    ws.append(["U1", "ionic_conductivity", 0.5, "mS/cm", 25])
    ws.append(["U2", "ionic_conductivity", 0.7, "ohm", 25])
    wb.save(path)
    (issue,) = _fails(store, samples, path)
    assert str(issue).startswith("lab.xlsx, row 3 (sheet 'properties'), column 'unit': unit 'ohm'")


def test_error_text_names_columns_as_written(store, samples, tmp_path):
    table = _table(tmp_path, "Sample,Property,Value (mS/cm),Temperature (°C)\nU1,ionic_conductivity,abc,25\n"
                             "U1,ionic_condutivity,0.5,25\nU2,ionic_conductivity,0.5,warm\n")
    issues = sorted(_fails(store, samples, table), key=lambda i: i.row)
    text = [str(i) for i in issues]
    assert [(i.row, i.column) for i in issues] == [(3, "Value (mS/cm)"), (4, "Property"), (5, "Temperature (°C)")], text
    assert all("table row" not in t and "field '" not in t for t in text), text


def test_duplicate_property_rows_say_property(store, samples, tmp_path):
    table = _table(tmp_path, "sample,property,value,unit,temperature (°C)\nU1,ionic_conductivity,0.5,mS/cm,25\n"
                             "U1,ionic_conductivity,0.6,mS/cm,25\n")
    (issue,) = _fails(store, samples, table)
    assert "duplicate natural key: property prop-" in issue.message and "propertie " not in issue.message
    assert issue.row == 4


def test_converted_values_carry_no_float_noise(store, samples, tmp_path):
    table = _table(tmp_path, "sample,property,value,unit,uncertainty,temperature (°C)\n"
                             "U1,ionic_conductivity,0.1,mS/cm,0.03,25\n"
                             "U2,ionic_conductivity,0.6,S/cm,0.1,25.1\n")
    _run(store, samples, table)
    got = {d["sample_label"]: d for d in store.db.properties.find({})}
    assert (got["U1"]["value"], got["U1"]["uncertainty"]) == (1e-4, 3e-5)
    assert repr(got["U1"]["value"]) == "0.0001" and repr(got["U2"]["uncertainty"]) == "0.1"
    assert got["U2"]["temperature_k"] == 298.25


def test_a_cell_unit_agreeing_with_its_column_is_fine_and_a_different_one_is_an_error(store, samples, tmp_path):
    ok = _table(tmp_path, "sample,property,value (mS/cm),temperature (°C)\nU1,ionic_conductivity,0.5 mS/cm,25 °C\n", "ok.csv")
    _run(store, samples, ok)
    doc = store.db.properties.find_one({"name": "ionic_conductivity"})
    assert (doc["value"], doc["temperature_c"]) == (5e-4, 25.0)
    bad = _table(tmp_path, "sample,property,value,temperature (°C)\nU2,ionic_conductivity,0.5 mS/cm,300 K\n", "bad.csv")
    (issue,) = _fails(store, samples, bad)
    assert (issue.row, issue.column) == (3, "temperature (°C)") and "'300 K'" in issue.message


def test_uncertainty_given_twice_is_an_error(store, samples, tmp_path):
    table = _table(tmp_path, "sample,property,value,unit,uncertainty,temperature (°C)\n"
                             "U1,ionic_conductivity,4.2(3),mS/cm,0.1,25\nU2,ionic_conductivity,0.5,mS/cm,0.1(2),25\n")
    issues = sorted(_fails(store, samples, table), key=lambda i: i.row)
    assert [(i.row, i.column) for i in issues] == [(3, "value"), (4, "uncertainty")], [str(i) for i in issues]
