"""Lab workbooks and tables for tests: a workbook has a ``source`` sheet and one sheet per table, cells as a
spreadsheet holds them; a CSV table starts with its source line."""

from __future__ import annotations

from pathlib import Path
from typing import Callable

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


def table_writer(head: str) -> Callable[[Path, str, str], Path]:
    """``write(folder, name, text)``: ``folder/name`` holding ``head`` (a table's source line) then ``text``."""
    def write(folder: Path, name: str, text: str) -> Path:
        path = folder / name
        path.write_text(head + text, encoding="utf-8")
        return path

    return write
