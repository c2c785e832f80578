"""Valid physical ranges applied to arrays and to whole documents (registry.VALID_RANGES is the source).

Scalars entered by users are checked where they are parsed (``units.parse_value``); this module checks
what does not pass through it: measurement arrays (inline and from instrument files) and every stored
document just before it is written (``schemas.validate``), so a derived value computed by a job from
good inputs but landing outside its range (a fit gone wild) fails its item instead of being stored.
NaN and infinities are refused everywhere, inside nested mappings too.
"""

from __future__ import annotations

import math
from typing import Any, Iterator

import numpy as np

from ionbase.schemas import registry
from ionbase.schemas.registry import ValidRange, valid_range

#: measurement array name -> its valid range in the stored unit (Hz, ohm, s, A, V); others: finite only
ARRAY_RANGES: dict[str, ValidRange] = {
    "frequency": registry.VALID_RANGES["frequency"],
    "z_real": ValidRange(-1e15, 1e15),
    "z_imag": ValidRange(-1e15, 1e15),
    "time": ValidRange(0, 1e10),
    "current": registry.VALID_RANGES["current"],
    "voltage": registry.VALID_RANGES["voltage"],
}

#: nesting depth beyond which a stored mapping is refused (no record of ours is deeper than ~6)
MAX_DEPTH = 32

_LATTICE_KINDS = {"a": "lattice_length", "b": "lattice_length", "c": "lattice_length",
                  "alpha": "angle", "beta": "angle", "gamma": "angle"}


def array_problem(name: str, values: Any) -> tuple[int, str] | None:
    """(index, message) of the first value of array ``name`` that is not finite or out of its range."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        return 0, f"{name}: no points"
    bad = ~np.isfinite(arr)
    rng = ARRAY_RANGES.get(name)
    if rng is not None:
        lo = arr > rng.low if rng.low_open else arr >= rng.low
        hi = arr < rng.high if rng.high_open else arr <= rng.high
        bad |= ~(lo & hi)
    if not bad.any():
        return None
    i = int(np.argmax(bad))
    where = f"outside the valid range {rng}" if rng is not None and math.isfinite(arr[i]) else "not a finite number"
    return i, f"{name} value {float(arr[i])!r} at point {i + 1} is {where}"


def _walk(value: Any, path: str, depth: int = 0) -> Iterator[tuple[str, str]]:
    """(path, message) of every non-finite float inside nested mappings and lists; too deep is one."""
    if depth > MAX_DEPTH:
        yield path, f"nested more than {MAX_DEPTH} levels deep"
        return
    if isinstance(value, float):
        if not math.isfinite(value):
            yield path, f"expected a finite number, got {value!r}"
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, f"{path}.{k}" if path else str(k), depth + 1)
    elif isinstance(value, (list, tuple)):
        if value and all(type(v) is float for v in value):  # an array: one vectorised check
            arr = np.asarray(value)
            if not np.isfinite(arr).all():
                i = int(np.argmax(~np.isfinite(arr)))
                yield f"{path}[{i}]", f"expected a finite number, got {value[i]!r}"
            return
        for i, v in enumerate(value):
            yield from _walk(v, f"{path}[{i}]", depth + 1)


def _suspect(value: Any, depth: int = 0) -> bool:
    """Whether :func:`_walk` would find anything in ``value``: the same walk without building paths
    or messages (most documents are clean; only a suspect one is walked again for its message)."""
    if depth > MAX_DEPTH:
        return True
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict):
        children = value.values()
    elif isinstance(value, (list, tuple)):
        if value and all(type(v) is float for v in value):  # an array, as in _walk
            return not np.isfinite(np.asarray(value)).all()
        children = value
    else:
        return False
    if not children:
        return False
    if depth == MAX_DEPTH:  # every child is one level too deep
        return True
    for v in children:
        t = type(v)
        if t is float:
            if not math.isfinite(v):
                return True
        elif t is not str and t is not int and t is not bool and v is not None and _suspect(v, depth + 1):
            return True
    return False


def _range_message(value: Any, kind: str, prop: str | None = None) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    rng = valid_range(kind, prop)
    if math.isfinite(value) and value in rng:
        return None
    return f"{value!r} {registry.QUANTITIES[kind].display_unit} is outside the valid range {rng} of {prop or kind}"


def _property_problems(doc: dict) -> Iterator[tuple[str, str]]:
    ptype = registry.PROPERTIES.get(doc.get("name"))
    if ptype is not None:
        msg = _range_message(doc.get("value"), ptype.quantity, ptype.name if ptype.name in registry.PROPERTY_RANGES else None)
        if msg:
            yield "value", msg
    if doc.get("temperature_k") is not None:
        msg = _range_message(doc["temperature_k"], "temperature")
        if msg:
            yield "temperature_k", msg


def _structure_problems(doc: dict) -> Iterator[tuple[str, str]]:
    for i, phase in enumerate(doc.get("phases") or []):
        for key, kind in _LATTICE_KINDS.items():
            entry = (phase.get("lattice") or {}).get(key)
            msg = _range_message(entry.get("value") if isinstance(entry, dict) else entry, kind)
            if msg:
                yield f"phases[{i}].lattice.{key}", msg
        vol = phase.get("volume")
        msg = _range_message(vol.get("value") if isinstance(vol, dict) else None, "cell_volume")
        if msg:
            yield f"phases[{i}].volume", msg


def _array_problems(doc: dict) -> Iterator[tuple[str, str]]:
    for name, values in (doc.get("arrays") or {}).items():
        problem = array_problem(name, values) if values else None
        if problem:
            yield f"arrays.{name}[{problem[0]}]", problem[1]


_BY_COLLECTION = {"properties": _property_problems, "structures": _structure_problems,
                  "measurement_arrays": _array_problems}


def document_problem(collection: str, doc: dict) -> tuple[str, str] | None:
    """(field path, message) of the first non-finite or out-of-range number of a document, or None."""
    check = _BY_COLLECTION.get(collection)
    if check is not None:
        first = next(check(doc), None)
        if first:
            return first
    rest = {k: v for k, v in doc.items() if k != "_id"}
    if not _suspect(rest):
        return None
    return next(_walk(rest, ""), None)
