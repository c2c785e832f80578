"""Impedance spectra exported to a spreadsheet (XLSX): the first sheet whose header names
frequency and impedance columns (spellings and units as in :mod:`.columns`)."""

from __future__ import annotations

import io

import numpy as np

from ._base import BinaryInstrumentFile
from ._common import to_float
from .columns import ColumnPlan, accepted_spellings, match_header, resolve_columns
from .cycling import map_cycling_columns
from .errors import ParseError
from .numbers import DecimalMark
from .registry import register

HEADER_SCAN_ROWS = 30


def _open_workbook(data: bytes, filename: str):
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged archive
        raise ParseError(f"expected an .xlsx workbook: {exc}", file=filename) from None


def _is_blank(values) -> bool:
    return values is None or all(v is None or (isinstance(v, str) and not v.strip())
                                 for v in values)


def _impedance_cells(values) -> int:
    return sum(1 for v in values if isinstance(v, str) and match_header(v) is not None)


def workbook_kind(data: bytes, filename: str) -> str:
    """'impedance' or 'cycling': the kind of the first sheet with a recognised header.

    A header row with two or more impedance spellings counts as impedance even when it is
    incomplete or ambiguous, so that the impedance reader reports what is wrong with it.
    No recognised header at all is a ParseError listing each sheet's first row and the
    accepted spellings.
    """
    wb = _open_workbook(data, filename)
    firsts = []
    try:
        for ws in wb.worksheets:
            first = None
            for r, values in enumerate(ws.iter_rows(values_only=True), start=1):
                if r > HEADER_SCAN_ROWS:
                    break
                if _is_blank(values):
                    continue
                first = first or (r, values)
                if _impedance_cells(values) >= 2:
                    return "impedance"
                if map_cycling_columns(list(values)):
                    return "cycling"
            firsts.append((ws.title, first))
    finally:
        wb.close()
    seen = "; ".join(f"sheet {t!r}: " + (f"row {f[0]}: " + ", ".join(repr(v) for v in f[1])
                                          if f else "empty") for t, f in firsts)
    raise ParseError(f"no sheet has a recognised header; columns seen: {seen}. Accepted "
                     f"impedance spellings: {accepted_spellings()}. Or a cycling table with "
                     "cycle, charge capacity and discharge capacity columns", file=filename)


def _header(ws, filename: str):
    """(row number, ColumnPlan, rows iterator) of a sheet's impedance header, or None."""
    rows = ws.iter_rows(values_only=True)
    for r, values in enumerate(rows, start=1):
        if r > HEADER_SCAN_ROWS:
            return None
        if values is None or _impedance_cells(values) < 2:
            continue
        where = f"{filename} (sheet {ws.title!r})"
        plan = resolve_columns(list(values), file=where, line=r, required=True)
        return r, plan, rows
    return None


def _number(v, filename: str, row: int, name: str, mark: DecimalMark) -> float:
    """A cell as a float: numeric cells as they are, text read with the sheet's decimal mark."""
    if isinstance(v, bool) or v is None:
        raise ParseError(f"expected a number, got {'an empty cell' if v is None else v!r}",
                         file=filename, line=row, field=name)
    if isinstance(v, (int, float)):
        return float(v)
    return to_float(str(v), decimal_comma=mark, file=filename, line=row, field=name)


def _read_sheet(ws, header_row: int, plan: ColumnPlan, rows, filename: str):
    idx = [plan.index[k] for k in plan.used]
    cols: list[list[float]] = [[], [], []]
    linenos = []
    where = f"{filename} (sheet {ws.title!r})"
    mark = DecimalMark()  # text cells only; numeric cells carry no decimal mark
    for r, values in enumerate(rows, start=header_row + 1):
        if _is_blank(values):
            continue
        values = list(values) + [None] * (max(idx) + 1 - len(values))
        for col, i in zip(cols, idx):
            col.append(_number(values[i], where, r, plan.names[i], mark))
        linenos.append(r)
    if not linenos:
        raise ParseError("expected impedance rows under the header, found none", file=where,
                         line=header_row)
    return cols, np.array(linenos, dtype=int)


@register
class ImpedanceXlsx(BinaryInstrumentFile):
    """Frequency and impedance columns on the first sheet that has such a header.

    Never sniffed on its own: a workbook is detected as "xlsx" and
    :meth:`.cycling.CyclingXlsx.refine` answers this format for an impedance workbook."""

    format = "impedance_xlsx"
    kinds = ("impedance",)
    suffixes = (".xlsx", ".xlsm")
    detectable = False
    expected = "an .xlsx workbook"

    def __init__(self, spectra, metadata: dict, filename: str):
        self.spectra = spectra
        self.metadata = metadata
        self.filename = filename

    @classmethod
    def _parse_bytes(cls, data: bytes, filename: str) -> "ImpedanceXlsx":
        from .delimited import _columns_metadata, spectra_from_arrays

        wb = _open_workbook(data, filename)
        try:
            for ws in wb.worksheets:
                found = _header(ws, filename)
                if found is None:
                    continue
                header_row, plan, rows = found
                raw, linenos = _read_sheet(ws, header_row, plan, rows, filename)
                metadata = {"sheet": ws.title, "header_line": header_row,
                            "columns": _columns_metadata(plan)}
                freq, zr, zi = plan.convert(*raw, file=f"{filename} (sheet {ws.title!r})",
                                            lines=linenos)
                return cls(spectra_from_arrays(freq, zr, zi, linenos, metadata, filename),
                           metadata, filename)
            sheets = ", ".join(repr(s) for s in wb.sheetnames)
        finally:
            wb.close()
        raise ParseError(f"expected a sheet with frequency and impedance columns in its first "
                         f"{HEADER_SCAN_ROWS} rows, found none in sheets {sheets}",
                         file=filename, field="frequency")
