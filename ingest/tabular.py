"""The spreadsheet template: CSV files or XLSX sheets of samples, steps, properties, conductivities,
structures, sites and instrument-file manifests, linked by sample label.

A table's kind comes from its sheet name (XLSX) or, for CSV, from its header. Units go in the
header (``sigma (mS/cm)``, ``T (°C)``) or in a units row directly under it whose first cell is
``units``. See docs/import-template.md.
"""

from __future__ import annotations

import csv
import dataclasses
import re
import sys
from pathlib import Path
from typing import Any, Iterator

from ionbase.ingest import limits, xlsx
from ionbase.ingest.errors import Issue
from ionbase.ingest.loaders import LoadedFile, LoadError, RawRecord
from ionbase.ingest.parsers.cellformat import PercentCell
from ionbase.ingest.parsers.errors import ParseError
from ionbase.ingest.parsers.numbers import DecimalMark, Tokens, mark_of
from ionbase.ingest.table_quantities import CellError, Column, looks_numeric, percent_cell
from ionbase.ingest.table_rows import KEY_COLUMNS, TableRecords, _RowError, cell_text, row_source_key, row_to_records
from ionbase.schemas.units import UnitError, parse_unit, text_unit

_HEADER_RE = re.compile(r"^\s*(?P<name>[^()\[\]]+?)\s*(?:[(\[](?P<unit>[^()\[\]]*)[)\]])?\s*$")

#: column aliases -> canonical column names
ALIASES = {
    "t": "temperature", "temp": "temperature", "temperature": "temperature",
    "sigma": "conductivity", "σ": "conductivity", "conductivity": "conductivity",
    "ea": "value", "sample_label": "sample", "sample label": "sample", "space group": "space_group",
    "spacegroup": "space_group", "x (composition)": "x", "property": "property", "name": "property",
    "χ2": "chi2", "chi²": "chi2", "gof": "chi2",
}

#: checked in this order: the most specific column sets first
KIND_COLUMNS = {
    "manifest": {"file", "sample"},
    "sites": {"sample", "element", "occupancy"},
    "properties": {"sample", "property", "value"},
    "conductivity": {"sample", "temperature", "conductivity"},
    "steps": {"sample", "type"},
    "structures": {"sample", "method"},
    "samples": {"label"},
}
SHEET_KINDS = {k: k for k in KIND_COLUMNS} | {"measurements": "manifest", "files": "manifest", "structure": "structures",
                                              "sample": "samples", "step": "steps", "property": "properties",
                                              "conductivities": "conductivity", "source": "source"}


def _split_header(cell: Any) -> tuple[str, str | None]:
    text = str(cell or "").strip()
    m = _HEADER_RE.match(text)
    if not m:
        return text.lower(), None
    name = m["name"].strip().lower().replace("-", "_")
    name = ALIASES.get(name, name).replace(" ", "_")
    unit = m["unit"].strip() if m["unit"] else None
    return name, unit or None


def _kind_from_columns(columns: set[str]) -> str | None:
    for kind, needed in KIND_COLUMNS.items():
        if needed <= columns:
            return kind
    return None


def sniff_table_kind(path: Path) -> str | None:
    """'samples', 'steps', ... for a template table; None for anything else (e.g. a spectrum CSV)."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            wb = load_workbook(path, read_only=True, data_only=True)
        except Exception:  # unreadable: read it as a workbook, so the error says why (ingest/xlsx.py)
            return "workbook"
        try:
            for ws in wb.worksheets:
                if ws.title.strip().lower() in SHEET_KINDS:
                    return "workbook"
                header = next(ws.iter_rows(max_row=1, values_only=True), None)
                if header and _kind_from_columns({_split_header(c)[0] for c in header if c is not None}):
                    return "workbook"
        finally:
            wb.close()
        return None
    with open(path, "r", encoding="utf-8-sig", errors="replace") as fh:
        while line := fh.readline(limits.MAX_LINE_CHARS + 1):
            if len(line) > limits.MAX_LINE_CHARS:
                return "unreadable"  # read as a table, so the error names the over-long line
            if line.strip() and not line.startswith("#"):
                header = next(csv.reader([line], dialect=_dialect(line)))
                return _kind_from_columns({_split_header(c)[0] for c in header})
    return None


def _dialect(sample_line: str):
    if "\t" in sample_line:
        return "excel-tab"
    if sample_line.count(";") > sample_line.count(","):
        class Semi(csv.excel):
            delimiter = ";"

        return Semi
    return "excel"


def _bounded_lines(fh, name: str) -> Iterator[str]:
    """The lines of a file open in binary mode, each read with a length limit (a 50 MB line is refused
    after 1 MiB, not read whole) and decoded on its own, so an undecodable byte or a control character
    is a LoadError naming its line exactly."""
    lineno = 0
    while True:
        raw = fh.readline(limits.MAX_LINE_CHARS + 1)
        if not raw:
            return
        lineno += 1
        try:
            line = raw.decode("utf-8-sig" if lineno == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            raise LoadError(Issue(name, f"not UTF-8 text ({exc.reason} at byte {exc.start + 1} of the line); "
                                  "save the CSV as UTF-8", row=lineno)) from None
        problem = limits.line_problem(line)
        if problem:
            raise LoadError(Issue(name, problem, row=lineno))
        yield line


def _csv_rows(path: Path) -> tuple[dict, Iterator[tuple[int, list[str]]]]:
    """Stream (line number, cells) of a CSV; leading ``# key: value`` lines give the source."""
    fh = open(path, "rb")
    lines = _bounded_lines(fh, path.name)
    source: dict[str, str] = {}
    first = ""
    lineno = 0
    for raw in lines:
        lineno += 1
        if raw.startswith("#"):
            m = re.match(r"#\s*(doi|notebook|citation|title)\s*[:=]\s*(.+)", raw.strip(), re.I)
            if m:
                source[m.group(1).lower()] = m.group(2).strip()
            continue
        if raw.strip():
            first = raw
            break
    dialect = _dialect(first)
    start = lineno

    def rows():
        i = start
        try:
            yield start, next(csv.reader([first], dialect=dialect))
            reader = csv.reader(lines, dialect=dialect)
            for i, row in enumerate(reader, start + 1):
                yield i, row
        except csv.Error as exc:
            raise LoadError(Issue(path.name, f"not a readable CSV: {exc}", row=i + 1)) from None
        finally:
            fh.close()

    return source, rows()


def load_tabular(path: Path) -> LoadedFile:
    """Read a CSV or an XLSX workbook of template tables into raw records."""
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        return _load_workbook(path)
    source, rows = _csv_rows(path)
    loaded = LoadedFile(path, "csv", source=source)
    try:
        _convert_tables(loaded, [(None, rows)])
    finally:
        rows.close()  # a streamed table was not read to the end here
    return loaded


def _load_workbook(path: Path) -> LoadedFile:
    """Every sheet of a workbook, read whole (ingest/xlsx.py): a sheet that cannot be read is an error."""
    loaded = LoadedFile(path, "xlsx")
    tables = []
    for title in xlsx.sheet_titles(path):
        rows = xlsx.sheet_rows(path, title)
        if SHEET_KINDS.get(title.strip().lower()) == "source":
            for _i, row in rows:
                if len(row) >= 2 and str(row[0]).strip().lower() in ("doi", "notebook", "citation", "title") and row[1]:
                    loaded.source[str(row[0]).strip().lower()] = str(row[1]).strip()
            continue
        tables.append((title, rows))
    _convert_tables(loaded, tables)
    return loaded


def _convert_tables(loaded: LoadedFile, tables) -> None:
    """Turn each table into records; steps rows are attached to their samples."""
    out = TableRecords(loaded)
    for sheet, rows in tables:
        out.sheet = sheet
        _convert_table(out, sheet, rows)
    _join_steps_and_sites(out)


def _convert_table(out: TableRecords, sheet: str | None, rows) -> None:
    """The records of one table (a streamed kind is only noted, to be read again when written)."""
    loaded = out.loaded
    name = loaded.path.name
    header_row = next(rows, None)
    if header_row is None:
        return
    header_line, header = header_row
    columns = [_split_header(c) for c in header]
    names = [c[0] for c in columns]
    kind = SHEET_KINDS.get(str(sheet).strip().lower()) if sheet else None
    kind = kind or _kind_from_columns(set(names))
    where = f"sheet '{sheet}'" if sheet else "table"
    if kind is None:
        loaded.issues.append(Issue(name, f"cannot tell what the {where} holds from its columns {names}; "
                                   "see docs/import-template.md", row=header_line))
        return
    if kind in STREAMED_KINDS:
        loaded.streams.append(_stream(loaded.path, sheet, kind, dict(loaded.source)))
        return
    for item in _table_rows(name, header, columns, rows, sheet, table_mark(loaded.path, sheet, header)):
        if isinstance(item, Issue):
            loaded.issues.append(item)
            continue
        if isinstance(item, BadRow):
            loaded.issues.append(item.issue)
            if kind == "steps" and item.sample:
                out.break_route(item.sample, item.source)
            continue
        lineno, row, cols = item
        sample = row.get("sample")  # before the row function pops its cells
        source = row_source_key({k: cell_text(row[k]) for k in KEY_COLUMNS if k in row}) if kind == "steps" else ()
        try:
            row_to_records(kind, row, lineno, f"{where} row {lineno}", out, cols)
        except (_RowError, CellError) as exc:
            loaded.issues.append(_row_issue(name, exc, lineno, sheet, cols))
            if kind == "steps" and sample is not None:
                # a bad steps row (any: unreadable cell, unit, too many cells) drops its sample's other
                # steps from this table too (_check_steps): a route missing a step would misstate it
                out.break_route(cell_text(sample), source)


def _check_steps(out: TableRecords) -> None:
    """The issues of the steps rows (each checked where it was written, its file, row and column,
    as it was read: TableRecords.add_step), after the tables' own; a sample with a bad steps row
    loses its steps from this table, so an error never names the sample's row in another table
    or file instead."""
    shelf = out.loaded.shelf
    if shelf is not None:
        _refuse_repeated_numbers(out, shelf)
    out.loaded.broken_labels |= out.broken_keys  # and steps given in other files too (planning.merge_fragments)
    if shelf is None:  # (no row of the file was shelved: every steps row was refused as it was read)
        return
    out.loaded.issues.extend(shelf.step_issues())
    for label in out.broken_routes:
        # a route with one step missing would misstate the synthesis ("never annealed above 300 °C"
        # for a sample whose 600 °C anneal was the bad row): with --skip-invalid, none of the sample's
        # steps from this table are kept, so its route is unknown rather than wrong; the rejected-rows
        # file gets them all (ingest/rejects.py), to be imported again together once the bad one is fixed
        out.loaded.withheld_rows.extend(shelf.step_rows(label))
        shelf.drop_steps(label)


def _refuse_repeated_numbers(out: TableRecords, shelf) -> None:
    """A step number given twice to one sample in one table: the order of the two steps is unknown
    (they were kept in row order until 2026-12-03, as across tables they are not: planning._order_problem),
    so the later row is refused, and with it the sample's steps."""
    for seq, label, number, first, lineno, sheet in shelf.repeated_numbers():
        shown = int(number) if float(number).is_integer() else number
        shelf.refuse_step(seq, Issue.in_table(
            out.loaded.path.name, sheet, f"step {shown} of sample {label!r} is numbered so in row {first} too: the "
            "order of the two is unknown (number every step of a sample once)", row=lineno, field=out.step_column))
        out.break_route(label)


def _join_steps_and_sites(out: TableRecords) -> None:
    """Steps rows onto their samples and site rows onto their structures (or, for samples and
    structures in another file of the batch, as fragments the importer merges); materials first."""
    loaded = out.loaded
    _check_steps(out)
    shelf = loaded.shelf
    broken = out.broken_routes
    if shelf is not None and (shelf.has_steps() or broken):  # (a refused row's steps are dropped)
        for seq, rec in shelf.records("sample"):
            label = str(rec.data.get("label"))
            taken = shelf.take_steps(label)
            if taken.steps:
                rec.data["steps"], rec.step_rows, rec.step_orders = taken
            rec.steps_refused = label in broken  # (its steps here were dropped: _check_steps)
            if taken.rows or rec.steps_refused:
                shelf.replace(seq, rec)
        # steps for samples defined in another file of the batch: the importer merges them
        while (left := shelf.first_left()) is not None:
            label, lineno = left
            taken = shelf.take_steps(label)
            shelf.add(RawRecord("sample_steps", {"sample": label, "steps": taken.steps}, lineno, f"steps of {label}",
                                step_rows=taken.rows, step_orders=taken.orders))
    for lineno, key, site in out.site_rows:
        st = out.structures.get(key)
        if st is None:
            loaded.records.append(RawRecord("structure_sites", {"sample": key[0], "phase": key[1], "site": site}, lineno, f"site row {lineno}"))
            continue
        phase = st.data["phases"][0]
        phase.setdefault("sites", []).append(site)
    # a material a table names only by its formula is a reference, not a declaration: the sample finds
    # it (the committed one, with the family and series another table gave it) or creates it by
    # formula (adapt_samples.material_from_ref). Declared, it replaced the committed one, and a table
    # without a family column erased the family of every sample of that formula (review, 2026-12-03)
    loaded.records[:0] = [RawRecord("material", m, None, f"material {k}", partial=True) for k, m in out.materials.items()
                          if set(m) - {"key", "formula"} or m["key"] != m["formula"]]
    loaded.records.extend(out.structures.values())


#: tables of one record per row, streamed from the file rather than held in memory
STREAMED_KINDS = ("properties", "conductivity")


#: cells read by ingest.table_quantities, which needs them as written to check where a unit comes from
_RAW_COLUMNS = frozenset({"value", "conductivity", "unit", "uncertainty"})


def _row_issue(name: str, exc: _RowError | CellError, lineno: int, sheet: str | None, cols: dict[str, Column]) -> Issue:
    """An Issue naming the column as the user wrote it in the header."""
    key = exc.column if isinstance(exc, CellError) else exc.field
    column = cols[key].text if key in cols else None
    return Issue.in_table(name, sheet, exc.message, row=lineno, field=key, column=column)


def _columns(header: list, columns: list) -> dict[str, Column]:
    return {n: Column(str(h).strip(), u, "header" if u else None) for h, (n, u) in zip(header, columns)}


def _same_unit(a: str, b: str) -> bool:
    try:
        return parse_unit(a) == parse_unit(b)
    except UnitError:
        return a == b


def _units_row(name: str, sheet: str | None, lineno: int, cells: list, cols: dict[str, Column],
               names: list[str]) -> dict[str, Column] | Issue:
    """Columns updated by a units row; a unit differing from the one in the header is an error."""
    out = dict(cols)
    for i, (col, cell) in enumerate(zip(names, cells)):
        unit = str(cell).strip() if i and cell is not None else ""
        if not unit:
            continue  # an empty cell keeps the header's unit
        if cols[col].unit and not _same_unit(cols[col].unit, unit):
            return Issue.in_table(name, sheet, f"the header gives the unit {cols[col].unit!r} but the units row gives {unit!r}; "
                          "give the unit in one place", row=lineno, field=col, column=cols[col].text)
        out[col] = Column(cols[col].text, unit, cols[col].unit_from or "units row")
    return out


def table_mark(path: Path, sheet: str | None, header: list) -> DecimalMark:
    """The decimal mark of one table (a CSV file or a workbook sheet), learnt from its text cells as
    ingest/parsers/numbers.py learns an instrument file's: ``24,75`` anywhere in the table makes
    ``1.100`` a possible thousands separator (refused), ``2.5`` makes ``1,100`` one. The table is read
    a second time only when a number cannot be judged by the cells before it."""
    def tokens() -> Tokens:
        rows, close = open_table(path, sheet)
        try:
            next(rows, None)  # the header
            for lineno, cells in rows:
                if not is_units_row(cells):
                    yield from ((c, lineno, str(h).strip()) for h, c in zip(header, cells) if isinstance(c, str))
        finally:
            close()

    return DecimalMark(tokens, what="table")


def _table_rows(name: str, header: list, columns: list, rows, sheet: str | None, mark: DecimalMark) -> Iterator:
    """(line, {column: cell}, {column: Column}) per data row, honouring a units row; Issues for malformed rows.
    Text cells are read with the table's decimal ``mark``."""
    names = [c[0] for c in columns]
    cols = _columns(header, columns)
    dup = sorted({n for n in names if n and names.count(n) > 1})
    if dup:
        yield Issue.in_table(name, sheet, f"column(s) {dup} appear more than once in the header", field=dup[0])
        return
    for lineno, cells in rows:
        if not any(str(c).strip() for c in cells):
            continue
        if is_units_row(cells):
            cols = _units_row(name, sheet, lineno, cells, cols, names)
            if isinstance(cols, Issue):
                yield cols
                return
            continue
        if len(cells) > len(names) and any(str(c).strip() for c in cells[len(names):]):
            yield _bad_row(cells, names, Issue.in_table(name, sheet, f"row has {len(cells)} cells but the header has "
                                                f"{len(names)} columns", row=lineno))
            continue
        if len(cells) < len(names):
            yield _bad_row(cells, names, Issue.in_table(name, sheet, f"row has {len(cells)} cells but the header has "
                                                f"{len(names)} columns (a truncated row?)", row=lineno))
            continue
        try:
            row = _row_dict(names, cells, cols, mark, lineno)
        except _RowError as exc:
            yield _bad_row(cells, names, Issue.in_table(name, sheet, exc.message, row=lineno, field=exc.field,
                                                column=cols[exc.field].text))
            continue
        yield lineno, row, cols


@dataclasses.dataclass(frozen=True)
class BadRow:
    """A data row refused as it was read: its issue, and the sample it names (a bad steps row drops
    that sample's other steps from the table)."""

    issue: Issue
    sample: str | None
    source: tuple = ()  # the row's own doi/notebook cells (row_source_key)


def _bad_row(cells: list, names: list[str], issue: Issue) -> BadRow:
    def cell(column: str) -> str:
        i = names.index(column) if column in names else -1
        return str(cells[i]).strip() if 0 <= i < len(cells) and cells[i] is not None else ""

    return BadRow(issue, cell("sample") or None, row_source_key({k: cell(k) for k in KEY_COLUMNS}))


def is_units_row(cells: list) -> bool:
    """Whether a table row is a units row (its first cell says so), not data."""
    return bool(cells) and str(cells[0]).strip().lower() in ("units", "unit", "[units]")


def _row_dict(names: list[str], cells: list, cols: dict[str, Column], mark: DecimalMark, lineno: int) -> dict:
    """{column: cell} of the non-empty cells, read with the table's decimal mark and their column's unit
    (_RowError names the column)."""
    row = {}
    for col, cell in zip(names, cells):
        if cell is None or (isinstance(cell, str) and not cell.strip()):
            continue
        try:
            cell = _with_decimal_point(cell, mark, lineno, cols[col].text)
            row[col] = cell if col in _RAW_COLUMNS else _cell(cell, cols[col].unit, cols[col].text)
        except _RowError as exc:
            raise _RowError(exc.message, col) from None
    return row


def _with_decimal_point(cell: Any, mark: DecimalMark, lineno: int, column: str) -> Any:
    """A text cell that is a number, written with a decimal point (``"24,75"`` -> ``"24.75"`` in a table
    whose mark is ','); _RowError for a thousands separator, possible or certain, and for a decimal mark
    other than the table's. Other cells (words, ``4.2(3)``, ``1,234.5``) are returned as they are."""
    if not isinstance(cell, str) or mark_of(cell) in (None, "grouped"):
        return cell
    try:
        return mark.read(cell, file=None, line=lineno, field=column)
    except ParseError as exc:
        raise _RowError(exc.message) from None


def open_table(path: Path, sheet: str | None):
    """(rows iterator, closer) of one table, opened afresh."""
    if sheet is None:
        _source, rows = _csv_rows(path)
        return rows, lambda: rows.close()
    rows = xlsx.sheet_rows(path, sheet)
    return rows, rows.close


def _stream(path: Path, sheet: str | None, kind: str, source: dict):
    """A re-readable stream of the records of one properties/conductivity table."""
    name = path.name
    where = f"sheet '{sheet}'" if sheet else "table"

    def records():
        try:
            yield from _records()
        except LoadError as exc:  # a line or cell that cannot be read, found on this pass: the table ends there
            yield dataclasses.replace(exc.issue, message=f"{exc.issue.message}; the rows after it in this table "
                                      "were not read (none of them is imported)")

    def _records():
        rows, close = open_table(path, sheet)
        try:
            header_line, header = next(rows)
            columns = [_split_header(c) for c in header]
            sink = LoadedFile(path, "stream", source=source)
            for item in _table_rows(name, header, columns, rows, sheet, table_mark(path, sheet, header)):
                if isinstance(item, (Issue, BadRow)):
                    yield item if isinstance(item, Issue) else item.issue
                    continue
                lineno, row, cols = item
                ref = f"{where} row {lineno}"
                sink.records = []
                try:
                    row_to_records(kind, row, lineno, ref, TableRecords(sink), cols)
                except (_RowError, CellError) as exc:
                    yield _row_issue(name, exc, lineno, sheet, cols)
                    continue
                yield from sink.records
        finally:
            close()

    return records


_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


#: text cells up to this length are interned (a large table holds each distinct word once)
_INTERN_CHARS = 40


def _cell(cell: Any, unit: str | None, column: str = "") -> Any:
    """A cell read with its column's unit: a number becomes ``{value, unit}``; text stays text."""
    if isinstance(cell, PercentCell):  # a workbook cell shown as 85 % (0.85): the quantity "85 %"
        try:
            return percent_cell(cell, unit, column)
        except CellError as exc:
            raise _RowError(exc.message) from None
    if isinstance(cell, str):
        cell = number = cell.strip()  # a decimal comma was read already (_with_decimal_point)
        if not unit and _INT.match(number):
            return int(number)
        if not unit and _FLOAT.match(number):
            return float(number)
        if unit:
            try:
                return {"value": float(number), "unit": unit}
            except ValueError:
                pass
            own = text_unit(cell)
            if own and not _same_unit(own, unit):
                raise _RowError(f"two different units: {unit!r} for the column and {own!r} in the cell {cell!r}")
            # e.g. "4.2307(3)" with the column's unit; "warm" stays as written for the error
            return cell if own or not looks_numeric(cell) else f"{cell} {unit}"
        # short words repeat down a column ("Ar", "ball_milling"): one string object, not one per row
        return sys.intern(cell) if len(cell) <= _INTERN_CHARS else cell
    if unit and isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return {"value": cell, "unit": unit}
    return cell
