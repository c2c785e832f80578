"""The quantity of one properties or conductivity table row: one value, one unit, one uncertainty.

A row's unit may be written in four places: the value column's header (``value (mS/cm)``), the
units row under the header, a ``unit`` column, or the cell itself (``0.5 mS/cm``). Every place that
gives a unit must agree (the same unit written twice is fine); two different units are an error,
never a silent choice. The unit's dimension is checked here, so the error names the column where
the unit was written (``unit``, ``value (ohm)``). An ``uncertainty`` column takes the value's unit
unless it has its own (header, units row or cell), which is then converted as a difference.

The conversion itself happens once, in ``schemas.build.build_property`` (pint, rounding rule of
``schemas.units``); this module only decides which unit applies and hands the value on as entered.

A workbook cell formatted as a percentage (a PercentCell: 0.85 shown as 85 %) is the quantity it
shows, ``85 %``: with the row's unit given elsewhere it is expressed in that unit (``%`` -> 85,
``-`` -> 0.85), which must then be a fraction; without one its unit is ``%``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ionbase.ingest.parsers.cellformat import PercentCell, PercentText
from ionbase.schemas import registry
from ionbase.schemas.units import UnitError, convert, number_and_unit, parse_unit, parse_value, round_sig, text_unit

_INT = re.compile(r"^[-+]?\d+$")
_FLOAT = re.compile(r"^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$")


@dataclass(frozen=True)
class Column:
    """A table column: its header as the user wrote it and the unit given for it, if any."""

    text: str
    unit: str | None = None
    unit_from: str | None = None  # "header" or "units row"


class CellError(ValueError):
    """A cell cannot be read; ``column`` is the column's canonical name (a key of the row)."""

    def __init__(self, message: str, column: str):
        self.message, self.column = message, column
        super().__init__(message)


_NUMBER_START = re.compile(r"^\s*(?:~|≈|<=|>=|<|>|≤|≥)?\s*[-+]?(?:\d|\.\d)")


def looks_numeric(text: str) -> bool:
    """True for text that starts as a quantity does (``4.2(3)``, ``~0.5``, ``<1e-9``), not for ``abc``."""
    return bool(_NUMBER_START.match(text))


def number_or_text(cell: Any) -> Any:
    """A CSV/XLSX cell as a number when it is one, else its stripped text. A decimal comma was read
    already, by the table's decimal mark (tabular._with_decimal_point)."""
    if not isinstance(cell, str):
        return cell
    text = cell.strip()
    if _INT.match(text):
        return int(text)
    if _FLOAT.match(text):
        return float(text)
    return text


def quantity_fields(row: dict, value_col: str, cols: dict[str, Column], quantity: str | None) -> dict:
    """Pop the value, ``unit`` and ``uncertainty`` cells of ``row``; return them for build_property.

    ``quantity`` is the registry quantity of the row's property (None when the property is unknown:
    build_property reports that). Raises CellError naming the column at fault.
    """
    raw = number_or_text(row.pop(value_col))
    places = []
    vcol = cols[value_col]
    if vcol.unit:
        places.append((vcol.unit, value_col, f"the {vcol.unit_from} of column '{vcol.text}'"))
    if "unit" in row:
        unit_cell = str(row.pop("unit")).strip()
        if unit_cell:
            places.append((unit_cell, "unit", f"column '{cols['unit'].text}'"))
    if isinstance(raw, str) and text_unit(raw):
        places.append((text_unit(raw), value_col, f"the cell {raw!r}"))
    unit, unit_col, unit_where = _one_unit(places, value_col)
    if isinstance(raw, PercentCell):
        raw, unit, unit_col, unit_where = _percent_value(raw, unit, unit_col, unit_where, value_col)
    if unit is not None and quantity is not None:
        _check_dimension(unit, quantity, unit_col, unit_where)
    out: dict[str, Any] = {}
    if isinstance(raw, str) and not looks_numeric(raw):
        raise CellError(f"expected a number, got {raw!r}", value_col)
    if isinstance(raw, str) and "uncertainty" in row and re.search(r"\(\d+\)|±|\+/?-", raw):
        raise CellError(f"the uncertainty is given twice: in the cell {raw!r} and in column "
                        f"'{cols['uncertainty'].text}'", value_col)
    if isinstance(raw, str):
        # "4.2(3)", "~0.5", "<1e-9" take the unit written elsewhere; a cell with its own unit stays as written
        out["value"] = raw if unit is None or text_unit(raw) else f"{raw} {unit}"
    else:
        out["value"] = raw
        if unit is not None:
            out["unit"] = unit
    if "uncertainty" in row:
        out["uncertainty"] = _uncertainty(row.pop("uncertainty"), cols["uncertainty"], unit, quantity)
    return out


#: where the unit of a PercentCell comes from, for the errors
_PERCENT_FORMAT = "the cell's percentage format (Excel)"


def percent_in_unit(cell: PercentCell, unit: str, column: str, where: str) -> float:
    """The quantity a percentage-formatted cell shows (0.85 -> 85 %) in ``unit``, which must be a
    fraction or a percentage (``%``, ``-``, ``ppm``); CellError otherwise."""
    try:
        return round_sig(convert(cell.percent, "percent", unit))
    except UnitError:
        raise CellError(f"the cell shows {cell.percent:g} % (formatted as a percentage in Excel), but {where} gives "
                        f"the unit {unit!r}, which is not a fraction or a percentage: format the cell as a plain "
                        "number", column) from None


def percent_cell(cell: PercentCell, unit: str | None, column: str) -> Any:
    """A percentage-formatted cell of a column with unit ``unit`` (or none): the quantity it shows."""
    if unit is None:
        return PercentText(cell)  # "85.0 %", read as any quantity written in a cell (or a plain fraction)
    return {"value": percent_in_unit(cell, unit, column, f"column '{column}'"), "unit": unit}


def _percent_value(cell: PercentCell, unit: str | None, unit_col: str, unit_where: str,
                   value_col: str) -> tuple[float, str, str, str]:
    """(number, unit, column of the unit, where it was written) of a percentage-formatted value cell."""
    if unit is None:
        return cell.percent, "%", value_col, _PERCENT_FORMAT
    return percent_in_unit(cell, unit, value_col, unit_where), unit, unit_col, unit_where


def _one_unit(places: list[tuple[str, str, str]], value_col: str) -> tuple[str | None, str, str]:
    """The single unit the places agree on; CellError when two differ or one is unknown."""
    chosen: tuple[str, str, str] | None = None
    for unit, col, where in places:
        parsed = _parse(unit, col, where)
        if chosen is None:
            chosen = (unit, col, where)
        elif _parse(*chosen) != parsed:
            raise CellError(f"two different units for one value: {chosen[0]!r} in {chosen[2]} and {unit!r} "
                            f"in {where}; give the unit in one place", col)
    return chosen if chosen is not None else (None, value_col, "")


def _parse(unit: str, col: str, where: str):
    try:
        return parse_unit(unit)
    except UnitError as exc:
        raise CellError(f"{exc} (in {where})", col) from None


def _check_dimension(unit: str, quantity: str, col: str, where: str) -> None:
    """Refuse a unit of the wrong dimension, naming where it was written."""
    try:
        parse_value({"value": 1.0, "unit": unit}, quantity, col)
    except UnitError:
        q = registry.QUANTITIES[quantity]
        raise CellError(f"unit {unit!r} (in {where}) is not a unit of {q.label} "
                        f"(canonical unit {q.display_unit})", col) from None


def _uncertainty(cell: Any, col: Column, value_unit: str | None, quantity: str | None) -> Any:
    """The uncertainty as a number in the value's unit, or ``{value, unit}`` when it has its own unit."""
    raw = number_or_text(cell)
    places = [(col.unit, "uncertainty", f"the {col.unit_from} of column '{col.text}'")] if col.unit else []
    if isinstance(raw, PercentCell) and col.unit:
        raw = percent_in_unit(raw, col.unit, "uncertainty", places[0][2])
    elif isinstance(raw, PercentCell):
        raw = raw.percent
        places.append(("%", "uncertainty", _PERCENT_FORMAT))
    if isinstance(raw, str):
        try:
            raw, inline = number_and_unit(raw)
        except UnitError:
            raise CellError(f"expected a number (optionally with a unit), got {raw!r}", "uncertainty") from None
        if inline:
            places.append((inline, "uncertainty", f"the cell '{cell}'"))
    if isinstance(raw, bool) or not isinstance(raw, (int, float)):
        raise CellError(f"expected a number, got {raw!r}", "uncertainty")
    unit, _col, where = _one_unit(places, "uncertainty")
    if unit is None:
        return raw
    if quantity is not None:
        _check_dimension(unit, quantity, "uncertainty", where)
    if value_unit is not None and _parse(value_unit, "uncertainty", where) == _parse(unit, "uncertainty", where):
        return raw
    return {"value": raw, "unit": unit}
