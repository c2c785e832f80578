"""Shared pieces of the record builders: the error type, ids and hashes, quantities, sources, formulas.

Pure functions, no database access (see ``schemas.build``, which re-exports every public name).
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import orjson

from ionbase.schemas import registry
from ionbase.schemas.sources import SourceConflict, separate_page
from ionbase.schemas.units import UnitError, Value, parse_value

ARRAY_CHUNK_POINTS = 20_000


class RecordError(ValueError):
    """A record is invalid. ``field`` is a dotted path inside the record."""

    def __init__(self, message: str, field: str | None = None):
        self.field = field
        self.message = message
        super().__init__(f"{field}: {message}" if field else message)


def stable_hash(obj: Any, n: int = 20) -> str:
    """Short SHA-1 of a canonical JSON rendering (sorted keys), by orjson: ids and change detection depend on it."""
    data = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS, default=str)
    return hashlib.sha1(data).hexdigest()[:n]


def make_id(prefix: str, *parts: Any) -> str:
    return f"{prefix}-{stable_hash([str(p) for p in parts], 16)}"


def _value(raw: Any, kind: str, field: str, prop: str | None = None) -> Value:
    try:
        return parse_value(raw, kind, field, prop=prop)
    except UnitError as exc:
        raise RecordError(str(exc).split(": ", 1)[-1], field) from None


def measured(raw: Any, kind: str, field: str, *, positive: bool = False, nonnegative: bool = False) -> dict:
    """Parse a quantity into the stored form ``{value, unit, uncertainty?, qualifier?, entered}``."""
    v = _value(raw, kind, field)
    if positive and not v.value > 0:
        raise RecordError(f"must be positive, got {v.entered.get('text', v.value)}", field)
    if nonnegative and v.value < 0:
        raise RecordError(f"must not be negative, got {v.entered.get('text', v.value)}", field)
    return v.to_dict()


# ---------------------------------------------------------------- sources

_SOURCE_KEYS = ("doi", "notebook", "citation", "title", "table", "figure", "section", "page", "quote", "file", "line")


def build_source(default: dict | None, override: dict | None, field: str = "source") -> dict:
    """The file default refined by the record's own source; a notebook's page is a location.

    ``notebook: "LAB-NB-12 p. 34"`` is stored as ``notebook: LAB-NB-12, page: "34"`` so that the
    notebook alone identifies the source (and the ids of its samples) across pages.
    """
    out = {k: (str(v) if k == "page" else v) for k, v in (default or {}).items()
           if k in ("doi", "notebook", "citation", "title", "page") and v is not None}
    try:
        out = separate_page(out)
        if override is not None:
            if not isinstance(override, dict):
                raise RecordError("expected a mapping {doi, notebook, table, figure, section, page, quote}", field)
            unknown = set(override) - set(_SOURCE_KEYS)
            if unknown:
                raise RecordError(f"unknown keys {sorted(unknown)}", field)
            own = separate_page({k: (str(v) if k != "line" else int(v)) for k, v in override.items() if v is not None})
            if own.get("notebook") not in (None, out.get("notebook")) and "page" not in own:
                out.pop("page", None)  # another notebook: the file's page is not its location
            out.update(own)
    except SourceConflict as exc:
        raise RecordError(str(exc), field) from None
    return out


def source_key(source: dict) -> str:
    key = source.get("doi") or source.get("notebook")
    if not key:
        raise RecordError("every record needs a source DOI or notebook reference", "source")
    return str(key).strip().lower() if source.get("doi") else str(key).strip()


def location_key(source: dict) -> str:
    """The place inside a source, used in property identity."""
    return "|".join(str(source.get(k, "")) for k in ("table", "figure", "section", "page"))


# ---------------------------------------------------------------- materials


def parse_formula(formula: Any, field: str) -> dict:
    """Reduced formula, elements, chemical system with pymatgen; error names the field."""
    from pymatgen.core import Composition, Element

    if not isinstance(formula, str) or not formula.strip():
        raise RecordError("a chemical formula is required", field)
    try:
        comp = Composition(formula.strip())
        if comp.num_atoms <= 0:
            raise ValueError("empty composition")
        dummies = [str(e) for e in comp.elements if not isinstance(e, Element)]
        if dummies:
            raise ValueError(f"not chemical elements: {', '.join(d.rstrip('0+') for d in dummies)}")
        elements = sorted(str(e) for e in comp.elements)
        reduced = comp.reduced_formula
    except Exception as exc:
        raise RecordError(f"pymatgen cannot parse formula {formula!r} ({exc})", field) from None
    return {"reduced_formula": reduced, "elements": elements, "nelements": len(elements), "chemsys": "-".join(elements)}


def _property_type(name: Any, field: str) -> registry.PropertyType:
    if name not in registry.PROPERTIES:
        raise RecordError(f"unknown property {name!r}; see `ionbase vocab` for the controlled vocabulary", field)
    return registry.PROPERTIES[name]


# ---------------------------------------------------------------- helpers


def _known(rec: Any, allowed: set, field: str) -> None:
    if not isinstance(rec, dict):
        raise RecordError(f"expected a mapping, got {type(rec).__name__}", field)
    unknown = set(rec) - set(allowed)
    if unknown:
        raise RecordError(f"unknown field(s) {sorted(unknown)}; expected some of {sorted(allowed)}", field)


def _float(x: Any, field: str) -> float | None:
    if x is None:
        return None
    if isinstance(x, bool):
        raise RecordError(f"expected a number, got {x!r}", field)
    try:
        val = float(x)
    except (TypeError, ValueError, OverflowError):  # OverflowError: an integer beyond any float
        raise RecordError(f"expected a number, got {str(x)[:40]!r}", field) from None
    if not math.isfinite(val):
        raise RecordError(f"expected a finite number, got {x!r}", field)
    return val


def _drop_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None and v != {} and v != []}


def stable_json(obj: Any) -> Any:
    """A JSON-safe copy (numpy scalars to floats, tuples to lists, NaN/inf to None) for storage."""
    if isinstance(obj, dict):
        return {str(k): stable_json(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [stable_json(v) for v in obj]
    if hasattr(obj, "tolist"):
        return stable_json(obj.tolist())
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    if hasattr(obj, "to_dict"):
        return stable_json(obj.to_dict())
    return str(obj)
