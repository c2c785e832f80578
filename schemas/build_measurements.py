"""Builders of measurements (cell, payload, point lists, arrays), array chunks and measured properties.

Pure functions, no database access; each raises RecordError naming the field.
"""

from __future__ import annotations

import math
from typing import Any

from ionbase.schemas import registry
from ionbase.schemas.ranges import array_problem
from ionbase.schemas.build_common import (
    ARRAY_CHUNK_POINTS,
    RecordError,
    _drop_none,
    _float,
    _known,
    build_source,
    measured,
)
from ionbase.schemas.units import to_celsius

# ---------------------------------------------------------------- measurements


def build_cell(raw: Any, field: str) -> dict | None:
    if raw is None:
        return None
    _known(raw, {"electrodes", "blocking", "thickness", "area", "diameter", "layers", "notes"}, field)
    cell: dict[str, Any] = {"electrodes": raw.get("electrodes"), "notes": raw.get("notes")}
    if raw.get("blocking") is not None:
        if raw["blocking"] not in ("ion", "electron", "none", "mixed"):
            raise RecordError(f"blocking must be ion, electron, none or mixed, got {raw['blocking']!r}", f"{field}.blocking")
        cell["blocking"] = raw["blocking"]
    if raw.get("thickness") is not None:
        cell["thickness"] = measured(raw["thickness"], "micro_length", f"{field}.thickness", positive=True)
    if raw.get("area") is not None:
        cell["area"] = measured(raw["area"], "area", f"{field}.area", positive=True)
    if raw.get("diameter") is not None:
        cell["diameter"] = measured(raw["diameter"], "milli_length", f"{field}.diameter", positive=True)
    layers = []
    for i, layer in enumerate(raw.get("layers") or []):
        lf = f"{field}.layers[{i}]"
        _known(layer, {"material", "role", "thickness", "resistance"}, lf)
        entry = {"material": layer.get("material"), "role": layer.get("role")}
        if layer.get("thickness") is not None:
            entry["thickness"] = measured(layer["thickness"], "micro_length", f"{lf}.thickness", positive=True)
        if layer.get("resistance") is not None:
            entry["resistance"] = measured(layer["resistance"], "resistance", f"{lf}.resistance", nonnegative=True)
        layers.append(_drop_none(entry))
    if layers:
        cell["layers"] = layers
    return _drop_none(cell)


# kind -> (scalar payload fields with quantity kinds, point-list fields)
_PAYLOAD_SCALARS: dict[str, dict[str, str | None]] = {
    "impedance_spectrum": {"file": None, "circuit": None},
    "conductivity_series": {"carrier": None},
    "dc_polarization": {
        "applied_voltage": "voltage", "initial_current": "current", "steady_state_current": "current",
        "initial_resistance": "resistance", "steady_state_resistance": "resistance", "duration": "duration",
        "electrodes": None,
    },
    "iv_steady_state": {},
    "voltammetry": {"mode": None, "scan_rate": None, "onset": "voltage", "reference": None},
    "galvanostatic_cycling": {
        "cell_type": None, "current_density": "current_density", "areal_capacity": "areal_capacity",
        "c_rate": "c_rate", "current": "current", "cutoff_low": "voltage", "cutoff_high": "voltage", "cathode": None, "anode": None,
        "mass_loading": None, "file": None, "n_cycles": None, "duration": "duration",
    },
    "critical_current_density": {"ccd": "current_density", "areal_capacity": "areal_capacity"},
    "spectroscopy": {"technique": None, "edge": None, "x_label": None, "x_unit": None, "y_label": None, "file": None},
}
_ARRAY_FIELDS = {
    "impedance_spectrum": {"frequency": "Hz", "z_real": "ohm", "z_imag": "ohm"},
    "dc_polarization": {"time": "s", "current": "A"},
    "voltammetry": {"voltage": "V", "current": "A"},
    "spectroscopy": {"x": None, "y": None},
}
_POINT_LISTS = {
    "conductivity_series": ("points", {"temperature": "temperature", "conductivity": "conductivity"}),
    "iv_steady_state": ("points", {"voltage": "voltage", "current": "current"}),
    "galvanostatic_cycling": (
        "cycles",
        {"cycle": "count", "charge_capacity": "specific_capacity", "discharge_capacity": "specific_capacity",
         "coulombic_efficiency": "percent", "overpotential": "voltage", "capacity_retention": "percent"},
    ),
    "critical_current_density": ("steps", {"current_density": "current_density", "result": None}),
    "spectroscopy": ("peaks", {"position": None, "assignment": None}),
}


def build_measurement(rec: dict, default_source: dict, field: str = "measurement") -> dict:
    """Validate a measurement record. Arrays come back under ``_arrays`` for chunking."""
    kind = rec.get("kind")
    if kind not in registry.MEASUREMENT_KINDS:
        raise RecordError(f"unknown measurement kind {kind!r}; expected one of {list(registry.MEASUREMENT_KINDS)}", f"{field}.kind")
    scalars = _PAYLOAD_SCALARS.get(kind, {})
    arrays_spec = _ARRAY_FIELDS.get(kind, {})
    plist = _POINT_LISTS.get(kind)
    allowed = {"sample", "kind", "label", "temperature", "cell", "method", "source", "notes", *scalars, *arrays_spec}
    if plist:
        allowed.add(plist[0])
    _known(rec, allowed, field)
    if not rec.get("sample"):
        raise RecordError("a measurement needs a 'sample' label", f"{field}.sample")
    payload = _payload_scalars(rec, scalars, field)
    if kind == "conductivity_series" and payload.get("carrier") not in registry.CARRIERS:
        raise RecordError(f"carrier must be one of {list(registry.CARRIERS)}", f"{field}.carrier")
    if plist and rec.get(plist[0]) is not None:
        key, cols = plist
        payload[key] = _point_list(rec[key], key, cols, field)
    arrays = _arrays(rec, kind, arrays_spec, field)
    temperature = None
    if rec.get("temperature") is not None:
        temperature = measured(rec["temperature"], "temperature", f"{field}.temperature", positive=True)
    label = rec.get("label")
    if label is None:
        label = kind + (f" {temperature['value']:.2f} K" if temperature else "")
    doc = {
        "kind": kind,
        "label": str(label),
        "temperature": temperature,
        "cell": build_cell(rec.get("cell"), f"{field}.cell"),
        "method": rec.get("method"),
        "payload": payload,
        "source": build_source(default_source, rec.get("source"), f"{field}.source"),
        "notes": rec.get("notes"),
        "_sample_ref": str(rec["sample"]).strip(),
        "_file": rec.get("file"),
        "_arrays": arrays,
    }
    if arrays_spec:
        doc["array_units"] = {k: v for k, v in arrays_spec.items() if v}
    return _drop_none(doc)


def _payload_scalars(rec: dict, scalars: dict[str, str | None], field: str) -> dict[str, Any]:
    """The kind's scalar payload fields: quantities in their canonical unit, labels as they are."""
    payload: dict[str, Any] = {}
    for key, qkind in scalars.items():
        if rec.get(key) is None or key == "file":
            continue
        if qkind is None:
            payload[key] = rec[key] if isinstance(rec[key], (int, float, str, bool)) else str(rec[key])
        else:
            payload[key] = measured(rec[key], qkind, f"{field}.{key}")
    return payload


def _point_list(raw: Any, key: str, cols: dict[str, str | None], field: str) -> list[dict]:
    """A kind's list of points (temperature/conductivity, cycles, ...), each column checked."""
    if not isinstance(raw, list):
        raise RecordError(f"{key} must be a list", f"{field}.{key}")
    points = []
    for i, pt in enumerate(raw):
        pf = f"{field}.{key}[{i}]"
        _known(pt, set(cols) | {"notes"}, pf)
        points.append({col: _point_value(pt[col], qkind, f"{pf}.{col}") for col, qkind in cols.items() if pt.get(col) is not None})
    return points


def _point_value(raw: Any, qkind: str | None, field: str) -> Any:
    if qkind is None:
        return raw if isinstance(raw, (int, float, str)) else str(raw)
    if qkind == "count":
        return int(_float(raw, field))
    m = measured(raw, qkind, field)
    if qkind == "conductivity" and m["value"] <= 0:
        raise RecordError(f"conductivity must be positive, got {raw!r}", field)
    if qkind == "temperature" and m["value"] <= 0:
        raise RecordError(f"temperature must be above absolute zero, got {raw!r}", field)
    return m


def _arrays(rec: dict, kind: str, arrays_spec: dict[str, str | None], field: str) -> dict[str, list[float]]:
    """The kind's arrays as finite floats of one length (frequencies positive)."""
    arrays: dict[str, list[float]] = {}
    for name in arrays_spec:
        if rec.get(name) is None:
            continue
        arr = rec[name]
        if not isinstance(arr, list):
            raise RecordError("expected a list of numbers", f"{field}.{name}")
        try:
            arrays[name] = [float(x) for x in arr]
        except (TypeError, ValueError):
            raise RecordError("expected a list of numbers", f"{field}.{name}") from None
        if any(not math.isfinite(x) for x in arrays[name]):
            raise RecordError("contains a non-finite number", f"{field}.{name}")
        problem = array_problem(name, arrays[name])
        if problem:
            raise RecordError(problem[1], f"{field}.{name}[{problem[0]}]")
    if arrays:
        lengths = {len(v) for v in arrays.values()}
        if len(lengths) != 1:
            raise RecordError(f"arrays differ in length: { {k: len(v) for k, v in arrays.items()} }", field)
        if kind == "impedance_spectrum" and any(f <= 0 for f in arrays.get("frequency", [])):
            raise RecordError("frequencies must be positive", f"{field}.frequency")
    return arrays


def chunk_arrays(measurement_id: str, arrays: dict[str, list[float]], chunk_points: int = ARRAY_CHUNK_POINTS) -> list[dict]:
    """Split arrays into documents of at most ``chunk_points`` points (far below 16 MB)."""
    if not arrays:
        return []
    n = len(next(iter(arrays.values())))
    chunks = []
    for c, start in enumerate(range(0, max(n, 1), chunk_points)):
        chunks.append(
            {
                "_id": f"{measurement_id}:{c}",
                "measurement": measurement_id,
                "chunk": c,
                "arrays": {k: v[start : start + chunk_points] for k, v in arrays.items()},
            }
        )
    return chunks


def measurement_properties(meas: dict) -> list[dict]:
    """Scalar properties a measurement states directly (origin: measured)."""
    out = []
    kind = meas["kind"]
    payload = meas.get("payload", {})
    src = meas.get("source", {})
    base = {"method": meas.get("method")} if meas.get("method") else {}
    if kind == "conductivity_series":
        name = {"ionic": "ionic_conductivity", "electronic": "electronic_conductivity", "total": "total_conductivity"}[payload["carrier"]]
        for pt in payload.get("points", []):
            if "temperature" not in pt or "conductivity" not in pt:
                continue
            t = pt["temperature"]["value"]
            out.append(
                {
                    "name": name, "value": pt["conductivity"]["value"], "uncertainty": pt["conductivity"].get("uncertainty"),
                    "unit": "S/cm", "entered": pt["conductivity"].get("entered"),
                    "qualifier": pt["conductivity"].get("qualifier"),
                    "conditions": {**base, "temperature_k": t, "temperature_c": to_celsius(t)},
                    "temperature_k": t, "temperature_c": to_celsius(t),
                    "origin": "measured", "source": src, "measurement": meas["_id"],
                }
            )
    return [_drop_none(p) for p in out]

