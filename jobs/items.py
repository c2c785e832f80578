"""What every job's ``select`` shares: the work item, the sample filter, a cell's geometry and the
temperature conditions of a derived value (jobs/definitions.py and jobs/dc.py import them)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ionbase.schemas.units import to_celsius


@dataclass
class Item:
    """One unit of work: a sample-level group of inputs."""

    id: str
    sample: str
    inputs: dict
    input_ids: list[str]


def sample_filter(sample_ids: list[str] | None) -> dict:
    """The store filter of a job run limited to ``sample_ids`` (all samples when None or empty)."""
    return {"sample": {"$in": list(sample_ids)}} if sample_ids else {}


def _measured(m: dict | None) -> tuple[float | None, float]:
    """(value, uncertainty or 0) of a stored quantity; (None, 0) when absent."""
    if not m:
        return None, 0.0
    return m.get("value"), m.get("uncertainty") or 0.0


def cell_geometry(cell: dict | None) -> dict:
    """Thickness (cm) and area (cm²) of a pellet from its cell record (area from diameter if needed)."""
    out: dict[str, Any] = {}
    if not cell:
        return out
    t, ut = _measured(cell.get("thickness"))  # µm
    if t:
        out["thickness_cm"], out["thickness_stderr"] = t * 1e-4, ut * 1e-4
    a, ua = _measured(cell.get("area"))  # cm²
    if a:
        out["area_cm2"], out["area_stderr"] = a, ua
    else:
        d, ud = _measured(cell.get("diameter"))  # mm
        if d:
            dcm, udcm = d / 10, ud / 10
            out["area_cm2"], out["area_stderr"] = math.pi * dcm**2 / 4, math.pi * dcm / 2 * udcm
    # a thickness, area or diameter given as approximate (or a bound) makes every sigma computed from it so
    used = [k for k in ("thickness", "area" if a else "diameter") if out and _measured(cell.get(k))[0]]
    inexact = {k: cell[k]["qualifier"] for k in used if cell[k].get("qualifier") not in (None, "exact")}
    if inexact:
        out["geometry_qualifiers"] = inexact
    layers = [
        {"name": layer.get("material") or f"layer{i}", "r": layer["resistance"]["value"], "u": layer["resistance"].get("uncertainty") or 0.0}
        for i, layer in enumerate(cell.get("layers") or [])
        if layer.get("resistance")
    ]
    if layers:
        out["layers"] = layers
    return out


def temperature_conditions(t_k: float | None) -> dict:
    """The temperature conditions (K and °C) of a derived value; none when the temperature is unknown."""
    if t_k is None:
        return {}
    return {"temperature_k": round(t_k, 6), "temperature_c": to_celsius(t_k)}
