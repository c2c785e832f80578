"""Read XLSX template workbooks completely or not at all.

openpyxl's read-only mode trusts a sheet's ``<dimension>`` tag (rows beyond a stale one are dropped),
skips a sheet whose part is missing from the package, and gives ``None`` for a formula cell whose
value was never computed (``data_only=True``). Each of these would lose data silently, so here: the
package is checked first (every sheet part present, no DTD or entity declaration in any XML part -
entity bombs and external entities are refused before a parser sees them, no text run above the
string limit, measured while decompressing), dimensions are reset, and every formula cell must carry
a cached value. Any row, sheet or cell that cannot be read is a LoadError naming the file, the sheet
and the row. A number in a cell formatted as a percentage (``0%``, ``0.00%``) is Excel's fraction
(0.85 for 85 %): it is given as a PercentCell, which the table reader takes as the quantity "85 %".
"""

from __future__ import annotations

import posixpath
import re
import zipfile
import zlib
from pathlib import Path
from typing import Any, Iterator

from ionbase.ingest import limits
from ionbase.ingest.errors import Issue
from ionbase.ingest.loaders import LoadError
from ionbase.ingest.parsers.cellformat import AmbiguousFormat, PercentCell, percent_format

_CHUNK = 256 * 1024
_REL = re.compile(rb'<Relationship\b[^>]*>')
_ATTR = re.compile(rb'(\w+)="([^"]*)"')


def _fail(path: Path, message: str, row: int | None = None, sheet: str | None = None, column: str | None = None) -> LoadError:
    return LoadError(Issue(path.name, message, row=row, record=f"sheet '{sheet}'" if sheet else None, column=column))


def check_package(path: Path) -> None:
    """Refuse a workbook whose package is broken, declares XML entities, lacks a sheet part or hides an
    over-long text, before openpyxl reads it."""
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise _fail(path, f"not a readable XLSX workbook: {exc}") from None
    with zf:
        names = set(zf.namelist())
        try:
            for name in names:
                if name.endswith((".xml", ".rels")):
                    _scan_part(path, zf, name)
            _check_sheet_parts(path, zf, names)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, OSError, EOFError, ValueError) as exc:
            raise _fail(path, f"not a readable XLSX workbook: {exc}") from None


def _scan_part(path: Path, zf: zipfile.ZipFile, name: str) -> None:
    """Stream one XML part: no DOCTYPE/ENTITY, no text run longer than the string limit."""
    run = 0
    first = True
    with zf.open(name) as fh:
        while chunk := fh.read(_CHUNK):
            if first and (b"<!DOCTYPE" in chunk or b"<!ENTITY" in chunk):
                raise _fail(path, f"part {name} declares a DTD or XML entities, which spreadsheet programs never "
                            "write (entity expansion, external entities): refused")
            first = False
            last = chunk.rfind(b"<")
            if last < 0:
                run += len(chunk)
            else:
                run += chunk.find(b"<")
                if run <= limits.MAX_STRING_CHARS:
                    run = len(chunk) - last - 1
            if run > limits.MAX_STRING_CHARS:
                raise _fail(path, f"part {name} holds a text of more than {limits.MAX_STRING_CHARS} characters "
                            "(the limit of one cell)")


def _check_sheet_parts(path: Path, zf: zipfile.ZipFile, names: set[str]) -> None:
    rels_name = "xl/_rels/workbook.xml.rels"
    if rels_name not in names:
        raise _fail(path, f"not a readable XLSX workbook: {rels_name} is missing")
    for rel in _REL.findall(zf.read(rels_name)):
        attrs = {k.decode(): v.decode() for k, v in _ATTR.findall(rel)}
        if not attrs.get("Type", "").endswith("/worksheet"):
            continue
        target = attrs.get("Target", "")
        part = target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))
        if part not in names:
            raise _fail(path, f"the workbook lists a sheet whose part {part} is missing from the file")


def open_workbook(path: Path, formulas: bool = False) -> Any:
    """openpyxl's read-only workbook (cached values, or formulas with ``formulas=True``)."""
    from openpyxl import load_workbook

    try:
        return load_workbook(path, read_only=True, data_only=not formulas)
    except Exception as exc:  # openpyxl raises many types for a broken package
        raise _fail(path, f"not a readable XLSX workbook: {exc}") from None


def sheet_titles(path: Path) -> list[str]:
    """The sheet titles, after the package checks."""
    check_package(path)
    wb = open_workbook(path)
    try:
        return list(wb.sheetnames)
    finally:
        wb.close()


def sheet_rows(path: Path, title: str) -> Iterator[tuple[int, list]]:
    """(row number, cells) of every row of a sheet, whatever its <dimension> says; a formula without a
    cached value, an over-long string or an unreadable row is a LoadError. Rows are padded with "" to
    the width of the sheet's first row (a row's trailing empty cells are not stored in the file)."""
    values_wb, formulas_wb = open_workbook(path), open_workbook(path, formulas=True)
    try:
        values, formulas = values_wb[title], formulas_wb[title]
        values.reset_dimensions()
        formulas.reset_dimensions()
        pairs = zip(values.iter_rows(), formulas.iter_rows(values_only=True))
        n = width = 0
        while True:
            try:
                row, frow = next(pairs)
            except StopIteration:
                return
            except Exception as exc:  # a malformed sheet part
                raise _fail(path, f"cannot read the row after row {n}: {exc}", row=n + 1, sheet=title) from None
            n += 1
            cells = _cells(path, title, n, row, frow)
            width = width or len(cells)
            yield n, cells + [""] * (width - len(cells))
    finally:
        values_wb.close()
        formulas_wb.close()


def _cells(path: Path, title: str, n: int, row: tuple, frow: tuple) -> list:
    """The values of one row's cells (openpyxl cells, with their number formats)."""
    from openpyxl.utils import get_column_letter

    cells = []
    for i, (xcell, formula) in enumerate(zip(row, frow)):
        cell = _value(path, title, n, i, xcell)
        if cell is None and isinstance(formula, str) and formula.startswith("="):
            raise _fail(path, f"cell {get_column_letter(i + 1)}{n} holds the formula {formula[:80]!r} without a computed "
                        "value; open and save the workbook in a spreadsheet program (or paste values)", row=n, sheet=title)
        if isinstance(cell, str) and len(cell) > limits.MAX_STRING_CHARS:
            raise _fail(path, f"cell {get_column_letter(i + 1)}{n} holds {len(cell)} characters, above the limit of "
                        f"{limits.MAX_STRING_CHARS}", row=n, sheet=title)
        cells.append("" if cell is None else cell)
    return cells


def _value(path: Path, title: str, n: int, i: int, xcell: Any) -> Any:
    """A cell's value; a number formatted as a percentage as a PercentCell (0.85 shown as 85 %)."""
    value = xcell.value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return value
    try:
        shown_as_percent = percent_format(xcell.number_format, value)
    except AmbiguousFormat as exc:
        from openpyxl.utils import get_column_letter

        raise _fail(path, f"cell {get_column_letter(i + 1)}{n}: {exc}; format the cell as a plain number",
                    row=n, sheet=title) from None
    return PercentCell(value) if shown_as_percent else value
