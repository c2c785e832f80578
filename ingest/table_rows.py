"""Template table rows -> raw records, one function per table kind (samples, steps, properties and
conductivities, structures, sites, instrument-file manifests).

Called by ingest/tabular.py, which reads the tables and their header units. Each row function
pops the columns it knows; a column left over is an error naming it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from ionbase.ingest.errors import Issue
from ionbase.ingest.loaders import LoadedFile, RawRecord
from ionbase.ingest.parsers.cellformat import PercentText
from ionbase.ingest.table_quantities import Column, quantity_fields
from ionbase.schemas import build as B
from ionbase.schemas import registry

#: row columns that say where a value comes from (a record's ``source`` override)
SOURCE_COLUMNS = ("doi", "notebook", "table", "figure", "section", "quote", "page")

_FIT_NAMES = {"rp": "Rp", "rwp": "Rwp", "rexp": "Rexp", "chi2": "chi2", "rw": "Rw"}


class _RowError(Exception):
    def __init__(self, message: str, field: str | None = None):
        self.message, self.field = message, field
        super().__init__(message)


@dataclass
class TableRecords:
    """Where the rows of one file go: records, and the pieces joined after all its tables are read.

    Sample records and steps rows go to the file's record shelf, on disk (ingest/recordshelf.py);
    a steps row is checked as it is read, its issue kept with it (reported after the tables, by
    sample in order of first appearance)."""

    loaded: LoadedFile
    materials: dict[str, dict] = field(default_factory=dict)
    structures: dict[tuple[str, str], RawRecord] = field(default_factory=dict)
    site_rows: list[tuple[int, tuple[str, str], dict]] = field(default_factory=list)
    #: samples with a steps row that could not be read, as (label, the row's own source key,
    #: row_source_key): a row may name another doi
    broken_keys: set[tuple[str, tuple]] = field(default_factory=set)
    sheet: str | None = None  # the workbook sheet being read (None for a CSV)
    step_column: str = "step"  # the column that numbers the steps rows: "step" or "order"

    def add_step(self, label: str, order: Any, step: dict, lineno: int, numbered: bool = True) -> None:
        """Shelve a steps row, checked where it was written (its file, row and column): a bad one
        gets an issue and its sample's steps from this file are dropped (see tabular._check_steps)."""
        issue = None
        try:
            B.build_steps([step], "steps")
        except B.RecordError as exc:
            column = re.sub(r"^steps\[\d+\]\.?", "", exc.field or "") or None
            issue = Issue.in_table(self.loaded.path.name, self.sheet, exc.message + _percent_hint(step.get(column)),
                                   row=lineno, field=column)
            self.break_route(label)
        self.loaded.shelved().add_step(label, order, step, lineno, issue, self.sheet, numbered)

    def break_route(self, label: str, source: tuple = ()) -> None:
        """A steps row of ``label`` was refused (under the row's own ``source`` key, if it names one)."""
        self.broken_keys.add((label, source))

    @property
    def broken_routes(self) -> set[str]:
        """The labels of broken_keys: this file's samples of those labels lose their steps here."""
        return {label for label, _source in self.broken_keys}


def _percent_hint(value: Any) -> str:
    """How to fix a refused cell that is formatted as a percentage in Excel ("" for any other)."""
    if not isinstance(value, PercentText):
        return ""
    return (f" (the cell is formatted as a percentage in Excel and holds {float(value.cell):g}: format it as a "
            "number, with the column's unit in its header)")


#: the source columns that decide which sample a label names (schemas.build.source_key)
KEY_COLUMNS = ("doi", "notebook")


def row_source_key(cells: dict[str, str]) -> tuple:
    """The doi/notebook a table row gives for itself, as a hashable key (() when it gives none)."""
    return tuple(sorted((k, v) for k, v in cells.items() if k in KEY_COLUMNS and v))


@dataclass
class Row:
    """One data row: its cells by column, its line, its reference and its columns as written."""

    cells: dict
    lineno: int
    ref: str
    cols: dict[str, Column]
    source: dict


def row_to_records(kind: str, cells: dict, lineno: int, ref: str, out: TableRecords, cols: dict[str, Column]) -> None:
    """Turn one row of a ``kind`` table into records (or pieces of records) in ``out``."""
    source = {k: cell_text(cells.pop(k)) for k in SOURCE_COLUMNS if k in cells}
    try:
        ROW_KINDS[kind](Row(cells, lineno, ref, cols, source), out)
    except KeyError as exc:  # a row function popped a column this row leaves empty
        key = exc.args[0] if exc.args else "?"
        raise _RowError(f"the required cell '{key}' is empty", str(key)) from None


def cell_text(v: Any) -> str:
    """A cell as text: a number read with its unit gives its number as written."""
    if isinstance(v, dict):
        return str(v["value"])
    return str(v).strip()


#: (the last table's columns, their mapping as written): every row of a table shares one mapping
#: (a dict per row cost about 175 bytes per sample of a large samples table). One tuple, read once
#: per call: two imports in two threads never get each other's mapping.
_WRITTEN: tuple[Any, dict[str, str]] = (None, {})


def _as_written(cols: dict[str, Column]) -> dict[str, str]:
    """Record field -> column as the user wrote it (one shared, read-only mapping per table)."""
    global _WRITTEN
    known = _WRITTEN
    if known[0] is not cols:
        known = (cols, {k: c.text for k, c in cols.items()})
        _WRITTEN = known
    return known[1]


def _refuse_leftovers(row: dict, what: str, keep: set[str] = frozenset()) -> None:
    extra = set(row) - set(keep)
    if extra:
        raise _RowError(f"unknown column(s) {sorted(extra)} in the {what}", sorted(extra)[0])


def _material_of_row(row: dict, materials: dict[str, dict]) -> str:
    """The material key a sample row names; a row with a formula, family or series declares it."""
    formula = row.pop("formula", None)
    mat_key = row.pop("material", None) or formula
    if mat_key is None:
        raise _RowError("a sample row needs a formula or material", "formula")
    mat_key = cell_text(mat_key)
    if formula is not None or any(k in row for k in ("family", "series", "x")):
        mat = materials.setdefault(mat_key, {"key": mat_key, "formula": cell_text(formula or mat_key)})
        if row.get("family"):
            mat["family"] = cell_text(row.pop("family"))
        if row.get("series"):
            mat["series"] = {"name": cell_text(row.pop("series")), "parameter": "x"}
            if row.get("x") is not None:
                mat["series"]["nominal"] = _fraction(row.pop("x"))
    row.pop("family", None)
    return mat_key


def _sample_row(r: Row, out: TableRecords) -> None:
    row = r.cells
    label = row.get("label")
    if label is None:
        raise _RowError("a sample row needs a label", "label")
    mat_key = _material_of_row(row, out.materials)
    data = {"label": cell_text(label), "material": mat_key}
    for k in ("parent", "operator", "date", "notes"):
        if row.get(k) is not None:
            data[k] = cell_text(row.pop(k))
    if row.get("tags"):
        data["tags"] = [t.strip() for t in cell_text(row.pop("tags")).split(";") if t.strip()]
    _refuse_leftovers(row, "samples table", {"label"})
    if r.source:
        data["source"] = r.source
    out.loaded.shelved().add(RawRecord("sample", data, r.lineno, r.ref, columns=_as_written(r.cols)))


def _step_row(r: Row, out: TableRecords) -> None:
    if r.source:
        raise _RowError("a steps row belongs to the sample of its label under this file's source (its '# doi:' or "
                        f"'# notebook:' line); a {sorted(r.source)[0]!r} column is not read in a steps table: give "
                        "the steps of another source's samples in a file of that source", sorted(r.source)[0])
    row = r.cells
    sample = cell_text(row.pop("sample"))
    order, numbered = _step_number(r)
    if numbered:
        out.step_column = "step" if "step" in r.cols else "order"
    step = {"type": cell_text(row.pop("type"))}
    for k, v in row.items():
        step[k] = v
    out.add_step(sample, order, step, r.lineno, numbered)


def _step_number(r: Row) -> tuple[float, bool]:
    """A steps row's number from its ``step`` (or ``order``) column, and whether the table numbers its
    steps; a table without such a column keeps its rows' order (the line is the number). Step 0 is a
    number like any other (it was read as "no number" until 2026-12-02, which put a sample's step 0
    after its step 1), and a table that numbers its steps numbers every row (a blank one is refused)."""
    col = "step" if "step" in r.cols else "order" if "order" in r.cols else None
    if col is None:
        return r.lineno, False
    value = r.cells.pop(col, None)
    if value is None or cell_text(value) == "":
        raise _RowError(f"the '{col}' cell is empty: a table that numbers its steps numbers every row", col)
    return _num(value, col), True  # "first" is an error naming the column, not a crash


def _property_record_row(kind: str) -> Callable[[Row, TableRecords], None]:
    def convert(r: Row, out: TableRecords) -> None:
        data, columns = _property_row(kind, r.cells, r.cols)
        if r.source:
            data["source"] = r.source
        out.loaded.records.append(RawRecord("property", data, r.lineno, r.ref, columns=columns))

    return convert


def _phase_of_row(row: dict, phase_name: str) -> dict[str, Any]:
    """The phase a structures row describes: name, formula, space group, lattice, sizes, fit."""
    phase: dict[str, Any] = {}
    if phase_name:
        phase["name"] = phase_name
    if row.get("formula"):
        phase["formula"] = cell_text(row.pop("formula"))
    if row.get("space_group"):
        phase["space_group"] = {"symbol": cell_text(row.pop("space_group"))}
    if row.get("space_group_number"):
        phase["space_group"] = dict(phase.get("space_group", {}), number=_count(row.pop("space_group_number"), "space_group_number"))
    lattice = {k: _with_default_unit(row.pop(k), "Å" if k in "abc" else "degree")
               for k in ("a", "b", "c", "alpha", "beta", "gamma") if k in row}
    if lattice:
        phase["lattice"] = lattice
    for k in ("volume", "density", "crystallite_size", "microstrain", "coherence_length", "phase_fraction"):
        if k in row:
            phase[k] = row.pop(k)
    if "z" in row:
        phase["z"] = _count(row.pop("z"), "z")
    fit = {_FIT_NAMES[k]: _num(row.pop(k), k) for k in ("rp", "rwp", "rexp", "chi2", "rw") if k in row}
    if fit:
        phase["fit"] = fit
    return phase


def _structure_row(r: Row, out: TableRecords) -> None:
    row = r.cells
    sample = cell_text(row.pop("sample"))
    phase_name = cell_text(row.pop("phase", "") or "")
    phase = _phase_of_row(row, phase_name)
    data = {"sample": sample, "method": cell_text(row.pop("method")), "phases": [phase]}
    for k in ("radiation", "notes", "label"):
        if k in row:
            data[k] = cell_text(row.pop(k))
    for k in ("wavelength", "temperature"):
        if k in row:
            data[k] = row.pop(k)
    _refuse_leftovers(row, "structures table")
    if r.source:
        data["source"] = r.source
    first = out.structures.get((sample, phase_name))
    if first is not None:
        raise _RowError(f"sample {sample!r}, phase {phase_name!r} is already described on row {first.row}: "
                        "conflicting rows for one structure are refused (give each phase a distinct 'phase')", "sample")
    out.structures[(sample, phase_name)] = RawRecord("structure", data, r.lineno, r.ref, columns=_as_written(r.cols))


def _site_row(r: Row, out: TableRecords) -> None:
    row = r.cells
    sample = cell_text(row.pop("sample"))
    phase_name = cell_text(row.pop("phase", "") or "")
    site: dict[str, Any] = {"label": cell_text(row.pop("label", row.get("element"))),
                            "species": {cell_text(row.pop("element")): _num(row.pop("occupancy"), "occupancy", fraction=True)}}
    if "wyckoff" in row:
        site["wyckoff"] = cell_text(row.pop("wyckoff"))
    if "multiplicity" in row:
        site["multiplicity"] = _count(row.pop("multiplicity"), "multiplicity")
    for k in ("x", "y", "z", "b", "u"):
        if k in row:
            site[k.upper() if k in "bu" else k] = _site_number(row.pop(k), k)
    _refuse_leftovers(row, "sites table")
    element = next(iter(site["species"]))
    for lineno, key, other in out.site_rows:  # the same site twice: which row is right is not ours to guess
        if key == (sample, phase_name) and other["label"] == site["label"] and element in other["species"]:
            raise _RowError(f"site {site['label']!r} ({element}) of sample {sample!r}, phase {phase_name!r} is "
                            f"already given on row {lineno}: conflicting rows are refused", "label")
    out.site_rows.append((r.lineno, (sample, phase_name), site))


def _manifest_row(r: Row, out: TableRecords) -> None:
    row = r.cells
    data = {"sample": cell_text(row.pop("sample")), "file": cell_text(row.pop("file")),
            "kind": cell_text(row.pop("kind", "impedance_spectrum"))}
    cell = {k: row.pop(k) for k in ("thickness", "area", "diameter", "electrodes", "blocking") if k in row}
    if cell:
        data["cell"] = cell
    for k in ("temperature", "label", "method", "notes"):
        if k in row:
            data[k] = row.pop(k)
    _refuse_leftovers(row, "manifest")
    if r.source:
        data["source"] = r.source
    out.loaded.records.append(RawRecord("measurement", data, r.lineno, r.ref, columns=_as_written(r.cols)))


#: table kind -> its row converter
ROW_KINDS: dict[str, Callable[[Row, TableRecords], None]] = {
    "samples": _sample_row,
    "steps": _step_row,
    "properties": _property_record_row("properties"),
    "conductivity": _property_record_row("conductivity"),
    "structures": _structure_row,
    "sites": _site_row,
    "manifest": _manifest_row,
}


def _property_row(kind: str, row: dict, cols: dict[str, Column]) -> tuple[dict, dict[str, str]]:
    """The property record of a properties/conductivity row, and its fields' columns as written."""
    if kind == "conductivity":
        carrier = cell_text(row.pop("carrier", "ionic")).lower()
        name = {"ionic": "ionic_conductivity", "electronic": "electronic_conductivity", "total": "total_conductivity"}.get(carrier)
        if name is None:
            raise _RowError(f"carrier must be ionic, electronic or total, got {carrier!r}", "carrier")
        value_col = "conductivity"
    else:
        name, value_col = cell_text(row.pop("property")), "value"
    ptype = registry.PROPERTIES.get(name)
    columns = {"sample": "sample", "name": "property", "value": value_col, "unit": "unit", "uncertainty": "uncertainty",
               "qualifier": "qualifier", "notes": "notes"}
    data: dict[str, Any] = {"sample": cell_text(row.pop("sample")), "name": name,
                            **quantity_fields(row, value_col, cols, ptype.quantity if ptype else None)}
    for k in ("qualifier", "notes"):
        if k in row:
            data[k] = row.pop(k)
    cond = {}
    for k in list(row):
        if k in registry.CONDITIONS:
            cond[k] = row.pop(k)
            columns[f"conditions.{k}"] = k
    if row:
        raise _RowError(f"unknown column(s) {sorted(cols[k].text for k in row)}; conditions must be one of "
                        f"{sorted(registry.CONDITIONS)}", sorted(row)[0])
    if cond:
        data["conditions"] = cond
    return data, {f: cols[c].text for f, c in columns.items() if c in cols}


def _fraction(v: Any) -> Any:
    """A cell of a field that is a plain fraction: a percentage-formatted cell is its fraction
    (shown 62 %, it is 0.62); other cells as they are."""
    return float(v.cell) if isinstance(v, PercentText) else v


def _site_number(v: Any, field: str) -> Any:
    """A site's x, y, z (fractional coordinates: a percentage-formatted cell is its fraction) or
    b, u (not fractions: such a cell is refused); text (``0.25(1)``) as written."""
    if isinstance(v, str) and not isinstance(v, PercentText):
        return v
    return _num(v, field, fraction=field in ("x", "y", "z"))


def _num(v: Any, field: str, fraction: bool = False) -> float:
    """A cell's finite number (NaN, inf and 1e400 are refused naming the column). A percentage-formatted
    cell is its fraction in a ``fraction`` field (62 % -> 0.62), and refused in any other."""
    if isinstance(v, PercentText) and fraction:
        return float(v.cell)
    if isinstance(v, PercentText):
        raise _RowError(f"the cell shows {v} (formatted as a percentage in Excel), but this column takes a plain "
                        f"number, not a percentage: format the cell as a number (it holds {float(v.cell):g})", field)
    if isinstance(v, dict):
        v = v["value"]
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        num = float(v)
    else:
        try:  # a decimal comma was read already, by the table's decimal mark (tabular._with_decimal_point)
            num = float(str(v).strip())
        except ValueError:
            raise _RowError(f"expected a number, got {v!r}", field) from None
    if not math.isfinite(num):
        raise _RowError(f"expected a finite number, got {v!r}", field)
    return num


def _count(v: Any, field: str) -> int:
    """A whole number cell (multiplicity, z): 2 or 2.0, never 2.5, inf or 1e308."""
    num = _num(v, field)
    if num != int(num) or abs(num) > 1e9:
        raise _RowError(f"expected a whole number, got {v!r}", field)
    return int(num)


def _with_default_unit(v: Any, unit: str) -> Any:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return {"value": v, "unit": unit}
    if isinstance(v, str) and re.fullmatch(r"[-+\d.eE]+(\(\d+\))?", v.strip()):
        return f"{v.strip()} {unit}"
    return v
