"""CSV exports escape text cells a spreadsheet would run as formulas (issue 14, point 6; OWASP rule).

Text starting with =, +, -, @, tab or CR gets a leading ``'``; numbers, negative ones included, are
written as numbers.
"""

from __future__ import annotations

import csv
import io

import pytest

from ionbase.service.export.table import escape_formula, write_csv

HOSTILE = ["=cmd|' /C calc'!A0", "@SUM(1+1)*cmd|' /C calc'!A0", "+1+cmd|' /C calc'!A0", "-2+3", "\t=1+1", "\r=1+1"]


@pytest.mark.parametrize("text", HOSTILE)
def test_formula_text_is_escaped(text):
    assert escape_formula(text) == "'" + text


@pytest.mark.parametrize("value", [-0.52, -3, 0.0, 1e-4, "Na3InCl6", "a=b", "", None, "=", "-"])
def test_other_values_untouched(value):
    assert escape_formula(value) == value


def test_write_csv_escapes_text_not_numbers():
    hostile = HOSTILE  # a CR inside a cell is quoted (RFC 4180), so it reads back
    rows = [{"sample_label": t, "value": -0.52, "note": "ok"} for t in hostile]
    rows.append({"sample_label": "NIC-BM", "value": -1e-3, "note": None})
    text = "".join(write_csv(rows, ["sample_label", "value", "note", "=HYPERLINK(\"x\")"]))
    got = list(csv.reader(io.StringIO(text)))
    assert got[0][-1] == "'=HYPERLINK(\"x\")"
    assert [r[0] for r in got[1:]] == ["'" + t for t in hostile] + ["NIC-BM"]
    assert [r[1] for r in got[1:]] == ["-0.52"] * len(hostile) + ["-0.001"]


def test_api_export_of_an_imported_hostile_label(store, app_client_for, tmp_path):
    from ionbase.ingest.importer import Importer, ImportOptions

    (tmp_path / "lab.yaml").write_text(
        "source: {notebook: NB-CSV}\n"
        "samples:\n  - {label: \"=cmd|' /C calc'!A0\", material: Na3InCl6}\n  - {label: '@SUM(1+1)', material: Na3InCl6}\n"
        "properties:\n"
        "  - {sample: \"=cmd|' /C calc'!A0\", name: ionic_conductivity, value: 1e-4 S/cm, conditions: {temperature: -20 °C}}\n"
        "  - {sample: '@SUM(1+1)', name: ionic_conductivity, value: 2e-4 S/cm, conditions: {temperature: 25 °C}}\n")
    Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])
    r = app_client_for(store).get("/api/v1/export?format=csv")
    assert r.status_code == 200
    rows = list(csv.DictReader(io.StringIO(r.get_data(as_text=True))))
    labels = sorted(row["sample_label"] for row in rows)
    assert labels == ["'=cmd|' /C calc'!A0", "'@SUM(1+1)"]
    temps = sorted(float(row["temperature_C"]) for row in rows if row.get("temperature_C"))
    assert temps == [-20.0, 25.0], "a negative number stays a number"
