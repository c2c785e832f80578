"""Generic cycling tables: CSV / TSV and XLSX (every sheet), one row per cycle (or several rows
per cycle, aggregated) with cycle, charge capacity, discharge capacity and optionally coulombic
efficiency columns.  Units are taken from the headers, e.g. ``Q discharge (mAh/g)``, and are
required: capacities in a capacity (mAh, Ah) or specific-capacity (mAh/g) unit, the same in both
columns; coulombic efficiency in ``%`` or as a fraction (``-``, ``1``), converted to percent."""

from __future__ import annotations

import io
import itertools
import os
import re
from typing import Any, Iterator

import numpy as np

from ionbase.schemas.units import UnitError, convert, round_sig

from ._base import BinaryInstrumentFile, TextInstrumentFile
from .cellformat import AmbiguousFormat, PercentCell, percent_format
from .delimited import SEPARATORS, _SEP_NAMES, split_row, splitter
from .errors import ParseError
from .models import CyclingData
from .numbers import DecimalMark
from .registry import ZIP_MAGIC, Head, register

_HEADER_SCAN_ROWS = 30


def _unit(name: str) -> str:
    m = re.search(r"[\(\[]([^\)\]]*)[\)\]]\s*$", name)
    if m:
        return m.group(1).strip()
    if "/" in name:
        return name.split("/", 1)[1].strip()
    return ""


def _base(name: str) -> str:
    n = re.sub(r"[\(\[][^\)\]]*[\)\]]\s*$", "", str(name)).strip().lower()
    if "/" in n:
        n = n.split("/", 1)[0]
    return re.sub(r"[\s_\-\.]+", " ", n).strip()


def classify_cycling_column(name: Any) -> str | None:
    if name is None:
        return None
    b = _base(str(name))
    if not b:
        return None
    if re.fullmatch(r"(cycle|cycle number|cycle index|cycle no|cycle nr|cycle#|cyc|"
                    r"cycle id|n cycle)", b):
        return "cycle"
    if "efficiency" in b or b in ("ce", "coulombic eff", "ce %"):
        return "efficiency"
    if "discharge" in b or re.search(r"\bdchg\b|\bdis\b", b):
        if "capacity" in b or "cap" in b.split() or b.startswith("q ") or b in (
                "discharge", "dchg", "q discharge"):
            return "discharge"
        return None
    if "charge" in b or re.search(r"\bchg\b", b):
        if "capacity" in b or "cap" in b.split() or b.startswith("q ") or b in (
                "charge", "chg", "q charge"):
            return "charge"
    return None


def map_cycling_columns(names: list) -> dict[str, int] | None:
    found: dict[str, int] = {}
    for i, n in enumerate(names):
        k = classify_cycling_column(n)
        if k and k not in found:
            found[k] = i
    if {"cycle", "charge", "discharge"} <= found.keys():
        return found
    return None


def _build(rows: list[tuple[int, float, float, float | None]], names: list, mapping: dict,
           filename: str, header_line: int, metadata: dict) -> CyclingData:
    if not rows:
        raise ParseError("expected cycling rows after the header, found none (truncated "
                         "file?)", file=filename, line=header_line)
    where = f"sheet {metadata['sheet']!r}: " if "sheet" in metadata else ""
    unit = _capacity_unit(names, mapping, filename, header_line, where)
    ce_scale, ce_unit = _efficiency_scale(names, mapping, filename, header_line, where)
    order = list(dict.fromkeys(r[0] for r in rows))
    agg: dict[int, list] = {c: [-np.inf, -np.inf, None] for c in order}
    for c, qc, qd, ce in rows:
        a = agg[c]
        a[0] = max(a[0], qc)
        a[1] = max(a[1], qd)
        if ce is not None and not np.isnan(ce):
            a[2] = ce if ce_scale == 1.0 else round_sig(ce * ce_scale)
    charge = np.array([agg[c][0] for c in order], dtype=float)
    discharge = np.array([agg[c][1] for c in order], dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        computed = np.where(charge > 0, discharge / charge * 100.0, np.nan)
    ce = np.array([agg[c][2] if agg[c][2] is not None else computed[k]
                   for k, c in enumerate(order)], dtype=float)
    meta = dict(metadata)
    meta["columns"] = {k: str(names[i]) for k, i in mapping.items()}
    meta["header_line"] = header_line
    if ce_unit is not None:
        meta["coulombic_efficiency_unit"] = ce_unit  # as written in the header; values are in %
    meta["coulombic_efficiency_source"] = ("file" if "efficiency" in mapping and
                                           all(agg[c][2] is not None for c in order)
                                           else "computed as discharge / charge * 100 where "
                                                "the file has none")
    if len(order) != len(rows):
        meta["aggregation"] = "several rows per cycle: max capacity per cycle"
    return CyclingData(cycle=np.array(order, dtype=int), charge_capacity=charge,
                       discharge_capacity=discharge, coulombic_efficiency=ce,
                       capacity_unit=unit, metadata=meta, source_file=filename)


def _capacity_unit(names: list, mapping: dict, filename: str, header_line: int,
                   where: str = "") -> str:
    """The capacity unit written in the charge and discharge headers (both, and the same):
    a missing unit is refused, never taken from the other column or guessed."""
    units = {}
    for key in ("charge", "discharge"):
        name = str(names[mapping[key]])
        units[key] = _unit(name)
        if not units[key]:
            raise ParseError(f"{where}expected a unit in the {key} capacity header, e.g. "
                             f"'{name} (mAh/g)' or '{name} (mAh)'", file=filename,
                             line=header_line, field=name)
        _check_capacity_unit(units[key], name, filename, header_line, where)
    if units["charge"] != units["discharge"]:
        raise ParseError(f"{where}expected charge and discharge capacity in the same unit, got "
                         f"{units['charge']!r} and {units['discharge']!r}", file=filename,
                         line=header_line, field=str(names[mapping["discharge"]]))
    return units["charge"]


def _check_capacity_unit(unit: str, name: str, filename: str, header_line: int,
                         where: str) -> None:
    """Refuse a header unit that is neither a capacity (mAh) nor a specific capacity (mAh/g)."""
    text = unit.replace("mA.h", "mA*h").replace("A.h", "A*h")
    for target in ("mA*h/g", "mA*h"):
        try:
            convert(1.0, text, target)
            return
        except UnitError:
            continue
    raise ParseError(f"{where}expected a capacity unit (e.g. mAh, Ah, mAh/g), got {unit!r}",
                     file=filename, line=header_line, field=name)


def _efficiency_unit(name: str) -> str:
    """The unit of a coulombic-efficiency header: in brackets or after '/', or a trailing '%'
    ("CE %")."""
    unit = _unit(name)
    if not unit and name.strip().endswith("%"):
        return "%"
    return unit


def _efficiency_scale(names: list, mapping: dict, filename: str, header_line: int,
                      where: str = "") -> tuple[float, str | None]:
    """Factor taking the file's coulombic efficiencies to percent, and the unit as written.

    The unit must be in the header: '%' (kept), or '-' / '1' for a fraction (0.9 -> 90 %).  A
    header without a unit is refused: 0.95 could be a fraction or a percent, never guessed."""
    if "efficiency" not in mapping:
        return 1.0, None
    name = str(names[mapping["efficiency"]])
    unit = _efficiency_unit(name)
    if not unit:
        raise ParseError(f"{where}expected a unit in the coulombic efficiency header: "
                         f"'{name} (%)' for percent or '{name} (-)' for a fraction "
                         "(0.9 = 90 %); a bare number could be either", file=filename,
                         line=header_line, field=name)
    try:
        return convert(1.0, unit, "percent"), unit
    except UnitError:
        raise ParseError(f"{where}expected coulombic efficiency in % or as a fraction ('-', "
                         f"'1'), got unit {unit!r}", file=filename, line=header_line,
                         field=name) from None


def _row_values(values: list, mapping: dict, names: list, filename: str, line: int,
                mark: DecimalMark, where: str = ""):
    """(cycle, charge, discharge, efficiency or None) of one row; text read by ``mark``."""
    def num(key, optional=False):
        i = mapping[key]
        v = values[i] if i < len(values) else None
        if v is None or (isinstance(v, str) and not v.strip()):
            if optional:
                return None
            raise ParseError(f"{where}expected a number, got an empty cell", file=filename,
                             line=line, field=str(names[i]))
        if isinstance(v, bool):
            raise ParseError(f"{where}expected a number, got {v!r}", file=filename,
                             line=line, field=str(names[i]))
        if isinstance(v, (int, float)):
            return float(v)
        try:
            return mark.to_float(str(v), file=filename, line=line, field=str(names[i]))
        except ParseError as exc:
            raise ParseError(where + exc.message, file=filename, line=line,
                             field=str(names[i])) from None

    cyc = num("cycle")
    if cyc != int(cyc):
        raise ParseError(f"{where}expected an integer cycle number, got {cyc!r}",
                         file=filename, line=line, field=str(names[mapping["cycle"]]))
    ce = num("efficiency", optional=True) if "efficiency" in mapping else None
    return int(cyc), num("charge"), num("discharge"), ce


@register
class CyclingCsv(TextInstrumentFile):
    """Cycling summary as delimited text (comma, semicolon, tab or whitespace)."""

    format = "cycling_csv"
    kinds = ("cycling",)
    suffixes = (".csv", ".tsv", ".txt")
    priority = 200
    description = "a cycling table"

    @classmethod
    def sniff(cls, head: Head) -> bool:
        """A line among the first 30 with cycle, charge and discharge capacity columns."""
        return any(map_cycling_columns(splitter(sep)(line))
                   for line in head.nonempty[:_HEADER_SCAN_ROWS] for sep in SEPARATORS)

    def records(self) -> list[CyclingData]:
        return list(self.tables)

    def __init__(self, tables: list[CyclingData], filename: str):
        self.tables = tables
        self.filename = filename

    @property
    def cycling(self) -> CyclingData:
        return self.tables[0]

    @classmethod
    def _parse(cls, lines: Iterator[tuple[int, str]], filename: str) -> "CyclingCsv":
        head = list(itertools.islice(lines, _HEADER_SCAN_ROWS))
        found = None
        for lineno, line in head:
            for sep in SEPARATORS:
                names = splitter(sep)(line)
                m = map_cycling_columns(names)
                if m:
                    found = (lineno, sep, names, m)
                    break
            if found:
                break
        if not found:
            raise ParseError("expected a header with cycle, charge capacity and discharge "
                             "capacity columns (e.g. 'cycle', 'Q charge (mAh/g)', "
                             "'Q discharge (mAh/g)')", file=filename, line=1, field="cycle")
        header_line, sep, names, mapping = found
        rows = _csv_rows(itertools.chain(head, lines), header_line, sep, names, mapping,
                         filename)
        meta = {"separator": _SEP_NAMES[sep]}
        return cls([_build(rows, names, mapping, filename, header_line, meta)], filename)


def _csv_rows(lines: Iterator[tuple[int, str]], header_line: int, sep: str | None,
              names: list, mapping: dict, filename: str) -> list:
    """The (cycle, charge, discharge, efficiency) rows below the header of a delimited table.

    Fields are split with quotes respected (``1,"150,2"``); the file's decimal mark is decided
    from every value read (:mod:`.numbers`) before any is converted."""
    split = splitter(sep, strict=True)
    need = max(mapping["cycle"], mapping["charge"], mapping["discharge"]) + 1
    table = []
    for lineno, line in lines:
        if lineno <= header_line or not line.strip():
            continue
        fields = split_row(split, line, filename, lineno)
        if len(fields) < need:
            raise ParseError(f"expected {len(names)} {_SEP_NAMES[sep]}-separated fields, "
                             f"got {len(fields)} (truncated row?)", file=filename,
                             line=lineno, field=str(names[len(fields)]))
        table.append((lineno, fields))
    mark = DecimalMark()
    for lineno, fields in table:
        for i in mapping.values():
            if i < len(fields):
                mark.observe(fields[i], file=filename, line=lineno, field=str(names[i]))
    return [_row_values(fields, mapping, names, filename, lineno, mark)
            for lineno, fields in table]


@register
class CyclingXlsx(BinaryInstrumentFile):
    """Cycling summary in an ``.xlsx`` workbook; every sheet with a recognised header becomes
    one CyclingData (``metadata["sheet"]``).  Formulas are read as their cached values.

    Detection recognises any workbook as "xlsx"; :meth:`refine` then opens it and answers
    "impedance_xlsx" when its first recognised header is an impedance one."""

    format = "xlsx"
    kinds = ("cycling",)
    suffixes = (".xlsx", ".xlsm")
    priority = 990
    description = "XLSX"
    expected = "an .xlsx workbook"

    @classmethod
    def sniff(cls, head: Head) -> bool:
        return head.data.startswith(ZIP_MAGIC) and (
            b"xl/" in head.data or b"[Content_Types].xml" in head.data
            or head.suffix in cls.suffixes)

    @classmethod
    def refine(cls, path: str | os.PathLike) -> str:
        from .spreadsheet import ImpedanceXlsx, workbook_kind

        with open(path, "rb") as fh:
            if workbook_kind(fh.read(), os.fspath(path)) == "impedance":
                return ImpedanceXlsx.format
        return cls.format

    def records(self) -> list[CyclingData]:
        return list(self.tables)

    def __init__(self, tables: list[CyclingData], filename: str):
        self.tables = tables
        self.filename = filename

    @property
    def cycling(self) -> CyclingData:
        return self.tables[0]

    @classmethod
    def _parse_bytes(cls, data: bytes, filename: str) -> "CyclingXlsx":
        import openpyxl

        try:
            wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:
            raise ParseError(f"expected an .xlsx workbook: {exc}", file=filename) from None
        try:
            tables = [t for ws in wb.worksheets if (t := cls._sheet(ws, filename)) is not None]
        finally:
            wb.close()
        if not tables:
            raise ParseError("expected a sheet with cycle, charge capacity and discharge "
                             "capacity columns, found none in sheets "
                             + ", ".join(repr(s) for s in wb.sheetnames), file=filename,
                             field="cycle")
        return cls(tables, filename)

    @classmethod
    def _sheet(cls, ws: Any, filename: str) -> CyclingData | None:
        """The cycling table of one sheet, or None when no header among its first rows is one."""
        rows_iter = ws.iter_rows()  # cells, not values: a cell's number format can say "percent"
        header = None
        for r, cells in enumerate(rows_iter, start=1):
            m = map_cycling_columns([c.value for c in cells])
            if m:
                header = (r, [c.value for c in cells], m)
                break
            if r >= _HEADER_SCAN_ROWS:
                break
        if header is None:
            return None
        header_row, names, mapping = header
        where = f"sheet {ws.title!r}: "
        # a coulombic efficiency header without a unit, or with one that is not a fraction, is refused
        # before its cells are read (a percentage-formatted cell is expressed in the header's unit)
        _efficiency_scale(names, mapping, filename, header_row, where)
        rows = []
        mark = DecimalMark()  # text cells only; numeric cells carry no decimal mark
        for r, cells in enumerate(rows_iter, start=header_row + 1):
            values = cls._values(cells, names, mapping, filename, r, where)
            if all(v is None or (isinstance(v, str) and not v.strip()) for v in values):
                continue
            rows.append(_row_values(values, mapping, names, filename, r, mark, where))
        return _build(rows, names, mapping, filename, header_row, {"sheet": ws.title})

    @staticmethod
    def _values(cells: tuple, names: list, mapping: dict, filename: str, line: int,
                where: str) -> list:
        """A row's values; a coulombic efficiency formatted as a percentage in Excel (0.986 shown
        as 98.6 %) in its header's unit ('%' -> 98.6, '-' -> 0.986). A cycle number or a capacity
        formatted as a percentage is refused: neither is a fraction."""
        values = [c.value for c in cells]
        for key, i in mapping.items():
            v = values[i] if i < len(values) else None
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                continue
            try:
                shown_as_percent = percent_format(cells[i].number_format, v)
            except AmbiguousFormat as exc:
                raise ParseError(f"{where}{exc}; format the cell as a plain number", file=filename,
                                 line=line, field=str(names[i])) from None
            if shown_as_percent:
                values[i] = CyclingXlsx._percent(PercentCell(v), key, str(names[i]), filename, line,
                                                 where)
        return values

    @staticmethod
    def _percent(cell: PercentCell, key: str, name: str, filename: str, line: int,
                 where: str) -> float:
        """A percentage-formatted cell of column ``name`` in the header's unit (efficiency only;
        its unit was checked by _efficiency_scale)."""
        if key != "efficiency":
            raise ParseError(f"{where}the cell shows {cell.percent:g} % (formatted as a percentage "
                             f"in Excel), but the {key} column is not a fraction: format the cell "
                             "as a plain number", file=filename, line=line, field=name)
        return round_sig(convert(cell.percent, "percent", _efficiency_unit(name)))
