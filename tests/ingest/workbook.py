"""Lab workbooks for tests: a ``source`` sheet and one sheet per table, cells as a spreadsheet holds them."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook


def write_workbook(path: Path, notebook: str, sheets: dict[str, list[list]]) -> Path:
    """``path`` as an XLSX file: the source sheet naming ``notebook``, then ``sheets`` (name -> rows,
    the header first), in order."""
    wb = Workbook()
    wb.active.title = "source"
    wb.active.append(["notebook", notebook])
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for row in rows:
            ws.append(row)
    wb.save(path)
    return path
