"""A workbook is read whole: rows beyond a stale <dimension> tag are imported, not dropped."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from ionbase.ingest.importer import Importer, ImportOptions

TEMPLATE = Path(__file__).resolve().parents[2] / "templates" / "ionbase-template.xlsx"


def _with_row_beyond_dimension(target: Path) -> None:
    """The template with a third sample on row 4 of the samples sheet, whose <dimension> still says A1:J3."""
    row = (b'<row r="4"><c r="A4" t="inlineStr"><is><t>NIZC-0.5-BEYOND</t></is></c>'
           b'<c r="B4" t="inlineStr"><is><t>Na2.5In0.5Zr0.5Cl6</t></is></c></row>')
    src = zipfile.ZipFile(TEMPLATE)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            body = src.read(info.filename)
            if info.filename == "xl/worksheets/sheet2.xml":
                assert b'<dimension ref="A1:J3"/>' in body
                body = body.replace(b"</sheetData>", row + b"</sheetData>")
            dst.writestr(info.filename, body)
    target.write_bytes(out.getvalue())


def test_rows_beyond_a_stale_dimension_are_imported(store, tmp_path):
    _with_row_beyond_dimension(tmp_path / "t.xlsx")
    report = Importer(store, ImportOptions()).run([tmp_path / "t.xlsx"])
    assert report.counts["samples"]["new"] == 3
    assert store.db.samples.find_one({"label": "NIZC-0.5-BEYOND"})["label"] == "NIZC-0.5-BEYOND"
