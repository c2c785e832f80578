"""Write one quantity through every input form Ionbase documents (YAML/JSON string and mappings,
CSV/XLSX header unit, ``unit`` column, ``units`` row, inline cell), for the unit acceptance tests.

Numbers are written as decimal text computed here with :mod:`decimal` and the SI-exact molar
constant (N_A * e = 96485.33212331001 J/mol per eV), never with Ionbase's own conversion code.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import yaml
from openpyxl import Workbook

NOTEBOOK = "NB-UNITS"
EV_IN_J_PER_MOL = 96485.33212331001  # exact since the 2019 SI: 6.02214076e23 * 1.602176634e-19

#: kind -> (property, {unit: scale of (number in that unit) per (canonical number)}), offset for °C
KINDS = {
    "conductivity": ("ionic_conductivity", {"S/cm": 1, "mS/cm": 10**3, "S/m": 10**2, "µS/cm": 10**6, "mS/m": 10**5}),
    "energy": ("activation_energy", {"eV": 1, "meV": 10**3, "kJ/mol": EV_IN_J_PER_MOL / 1000,
                                     "J/mol": EV_IN_J_PER_MOL, "kcal/mol": EV_IN_J_PER_MOL / 4184}),
    "temperature": ("phase_transition_temperature", {"K": 1, "°C": 1}),
}
WRONG = {"conductivity": ["ohm", "eV", "K"], "energy": ["S/cm", "K", "mAh/g"], "temperature": ["eV", "S/cm", "h"]}

FORMS = ["yaml_string", "yaml_mapping", "yaml_beside", "json_string", "json_mapping",
         "csv_header", "csv_unit_column", "csv_units_row", "csv_inline",
         "xlsx_header", "xlsx_unit_column", "xlsx_units_row", "xlsx_inline"]


@dataclass(frozen=True)
class Written:
    """One quantity in one unit: the numbers as text, as the user would type them."""

    kind: str
    unit: str
    value: str
    uncertainty: str

    @property
    def prop(self) -> str:
        return KINDS[self.kind][0]


def express(kind: str, canonical: Decimal, unc: Decimal, unit: str) -> Written:
    """The canonical value and uncertainty written in ``unit`` (°C: an offset for the value only)."""
    scale = KINDS[kind][1][unit]
    if unit == "°C":
        return Written(kind, unit, str(canonical - Decimal("273.15")), str(unc))
    if isinstance(scale, int):
        return Written(kind, unit, str(canonical * scale), str(unc * scale))
    return Written(kind, unit, repr(float(canonical) * scale), repr(float(unc) * scale))


def _conditions(w: Written) -> dict:
    return {"temperature": "25 °C"} if w.kind == "conductivity" else {}


def write_samples(folder: Path, labels: list[str]) -> Path:
    path = folder / "samples.csv"
    path.write_text(f"# notebook: {NOTEBOOK}\nlabel,formula\n" + "".join(f"{lab},Li6PS5Cl\n" for lab in labels), encoding="utf-8")
    return path


def write_form(folder: Path, form: str, label: str, w: Written) -> Path:
    """The file of one form holding one property row/record of sample ``label``."""
    if form.startswith(("yaml", "json")):
        return _write_records(folder, form, label, w)
    header, rows = _table(form, label, w)
    if form.startswith("csv"):
        path = folder / f"{form}.csv"
        lines = [f"# notebook: {NOTEBOOK}", ",".join(header)] + [",".join(str(c) for c in r) for r in rows]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path
    path = folder / f"{form}.xlsx"
    wb = Workbook()
    src = wb.active
    src.title = "source"
    src.append(["notebook", NOTEBOOK])
    ws = wb.create_sheet("properties")
    ws.append(header)
    for r in rows:
        ws.append([_number(c) for c in r])
    wb.save(path)
    return path


def _number(cell):
    """XLSX cells hold numbers as numbers, as a spreadsheet does."""
    try:
        return float(cell)
    except (TypeError, ValueError):
        return cell


def _table(form: str, label: str, w: Written) -> tuple[list[str], list[list]]:
    cond_h, cond_v = (["temperature (°C)"], [25]) if w.kind == "conductivity" else ([], [])
    style = form.split("_", 1)[1]
    if style == "header":
        return (["sample", "property", f"value ({w.unit})", f"uncertainty ({w.unit})", *cond_h],
                [[label, w.prop, w.value, w.uncertainty, *cond_v]])
    if style == "unit_column":
        return (["sample", "property", "value", "unit", "uncertainty", *cond_h],
                [[label, w.prop, w.value, w.unit, w.uncertainty, *cond_v]])
    if style == "units_row":
        return (["sample", "property", "value", "uncertainty", *cond_h],
                [["units", "", w.unit, w.unit, *(["°C"] if cond_h else [])], [label, w.prop, w.value, w.uncertainty, *cond_v]])
    if style == "inline":
        return (["sample", "property", "value", "uncertainty", *cond_h],
                [[label, w.prop, f"{w.value} {w.unit}", w.uncertainty, *cond_v]])
    raise ValueError(form)


def _write_records(folder: Path, form: str, label: str, w: Written) -> Path:
    style = form.split("_", 1)[1]
    rec: dict = {"sample": label, "name": w.prop}
    if style == "string":
        rec["value"] = f"{w.value} ± {w.uncertainty} {w.unit}"
    elif style == "mapping":
        rec["value"] = {"value": float(w.value), "unit": w.unit, "uncertainty": float(w.uncertainty)}
    else:
        rec.update(value=float(w.value), unit=w.unit, uncertainty=float(w.uncertainty))
    if _conditions(w):
        rec["conditions"] = _conditions(w)
    doc = {"source": {"notebook": NOTEBOOK}, "properties": [rec]}
    if form.startswith("yaml"):
        path = folder / f"{form}.yaml"
        path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    else:
        path = folder / f"{form}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def expected_location(form: str, unit: str) -> tuple[int | None, str | None]:
    """(row, column) an error about the value's unit in ``form`` must name (tables only)."""
    if not form.startswith(("csv", "xlsx")):
        return None, None
    first = 3 if form.startswith("csv") else 2  # CSV: '# notebook' line, header; XLSX: header
    style = form.split("_", 1)[1]
    row = first + 1 if style == "units_row" else first
    column = {"header": f"value ({unit})", "unit_column": "unit"}.get(style, "value")
    return row, column
