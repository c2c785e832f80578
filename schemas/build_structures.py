"""Builders of structure results (phases, sites) and the properties they report.

Pure functions, no database access; each raises RecordError naming the field.
"""

from __future__ import annotations

from typing import Any

from ionbase.schemas import registry
from ionbase.schemas.build_common import (
    RecordError,
    _drop_none,
    _float,
    _known,
    _value,
    build_source,
    measured,
    parse_formula,
)
from ionbase.schemas.units import to_celsius

# ---------------------------------------------------------------- structures

_LATTICE = {"a": "lattice_length", "b": "lattice_length", "c": "lattice_length",
            "alpha": "angle", "beta": "angle", "gamma": "angle"}
_PHASE_MEASURED = {
    "volume": ("cell_volume", "cell_volume"),
    "density": ("density", "density"),
    "crystallite_size": ("nano_length", "crystallite_size"),
    "microstrain": ("percent", "microstrain"),
    "coherence_length": ("nano_length", "coherence_length"),
    "phase_fraction": ("percent", "phase_fraction"),
}


def build_structure(rec: dict, default_source: dict, field: str = "structure") -> dict:
    _known(rec, {"sample", "label", "method", "radiation", "wavelength", "temperature", "phases", "cif", "source", "notes"}, field)
    if not rec.get("sample"):
        raise RecordError("a structure result needs a 'sample' label", f"{field}.sample")
    method = rec.get("method")
    if method not in registry.STRUCTURE_METHODS:
        raise RecordError(f"unknown method {method!r}; expected one of {list(registry.STRUCTURE_METHODS)}", f"{field}.method")
    phases_raw = rec.get("phases") or []
    if not isinstance(phases_raw, list) or (not phases_raw and not rec.get("cif")):
        raise RecordError("a structure result needs a list of 'phases' (or a 'cif')", f"{field}.phases")
    phases = [build_phase(p, f"{field}.phases[{i}]") for i, p in enumerate(phases_raw)]
    doc = {
        "method": method,
        "radiation": rec.get("radiation"),
        "wavelength": measured(rec["wavelength"], "wavelength", f"{field}.wavelength", positive=True) if rec.get("wavelength") is not None else None,
        "temperature": measured(rec["temperature"], "temperature", f"{field}.temperature", positive=True) if rec.get("temperature") is not None else None,
        "phases": phases,
        "source": build_source(default_source, rec.get("source"), f"{field}.source"),
        "notes": rec.get("notes"),
        "label": str(rec.get("label") or f"{method}"),
        "_sample_ref": str(rec["sample"]).strip(),
        "_cif": rec.get("cif"),
    }
    return _drop_none(doc)


def build_phase(rec: dict, field: str) -> dict:
    _known(
        rec,
        {"name", "formula", "space_group", "lattice", "z", "sites", "fit", "notes", "structure", "cif", *_PHASE_MEASURED},
        field,
    )
    phase: dict[str, Any] = {"name": rec.get("name"), "formula": rec.get("formula"), "notes": rec.get("notes")}
    if rec.get("formula"):
        parse_formula(rec["formula"], f"{field}.formula")
    if rec.get("space_group") is not None:
        phase.update(_space_group(rec["space_group"], f"{field}.space_group"))
    lattice = _lattice(rec.get("lattice") or {}, f"{field}.lattice")
    if lattice:
        phase["lattice"] = lattice
    for key, (kind, _prop) in _PHASE_MEASURED.items():
        if rec.get(key) is not None:
            phase[key] = measured(rec[key], kind, f"{field}.{key}", nonnegative=True)
    if "phase_fraction" in phase and phase["phase_fraction"]["value"] > 100:
        raise RecordError("phase fraction cannot exceed 100 %", f"{field}.phase_fraction")
    if rec.get("z") is not None:
        phase["z"] = _positive_whole(rec["z"], "Z", f"{field}.z")
    if rec.get("fit") is not None:
        phase["fit"] = _fit(rec["fit"], f"{field}.fit")
    sites = [build_site(site, f"{field}.sites[{i}]") for i, site in enumerate(rec.get("sites") or [])]
    if sites:
        phase["sites"] = sites
    for key in ("structure", "cif"):
        if rec.get(key):
            phase[key] = rec[key]
    return _drop_none(phase)


def _space_group(sg: Any, field: str) -> dict:
    """``P21/n`` or ``{symbol, number}`` as the stored symbol and number (1-230)."""
    if isinstance(sg, str):
        sg = {"symbol": sg}
    _known(sg, {"symbol", "number"}, field)
    out = {"space_group_symbol": sg.get("symbol")}
    if sg.get("number") is not None:
        n = sg["number"]
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 230:
            raise RecordError(f"space group number must be 1-230, got {n!r}", f"{field}.number")
        out["space_group_number"] = n
    return out


def _lattice(raw: Any, field: str) -> dict:
    _known(raw, set(_LATTICE), field)
    return {key: measured(raw[key], kind, f"{field}.{key}", positive=True)
            for key, kind in _LATTICE.items() if raw.get(key) is not None}


def _positive_whole(value: Any, what: str, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise RecordError(f"{what} must be a positive whole number, got {value!r}", field)
    return value


def _fit(fit: Any, field: str) -> dict:
    """Refinement figures of merit (non-negative numbers) and the fitted range (text)."""
    _known(fit, {"Rp", "Rwp", "Rexp", "chi2", "Rw", "GOF", "range", "Rbragg"}, field)
    out: dict[str, Any] = {}
    for k, v in fit.items():
        if v is None:
            continue
        if k == "range":
            out[k] = str(v)
            continue
        fv = _float(v, f"{field}.{k}")
        if fv < 0:
            raise RecordError(f"must not be negative, got {v!r}", f"{field}.{k}")
        out[k] = fv
    return out


def build_site(rec: dict, field: str) -> dict:
    _known(rec, {"label", "species", "wyckoff", "multiplicity", "x", "y", "z", "B", "U", "b_iso", "u_iso", "occupancy", "notes"}, field)
    if not rec.get("label"):
        raise RecordError("a site needs a 'label'", f"{field}.label")
    site: dict[str, Any] = {"label": str(rec["label"]), "species": _species(rec, field), "wyckoff": rec.get("wyckoff")}
    if rec.get("multiplicity") is not None:
        site["multiplicity"] = _positive_whole(rec["multiplicity"], "multiplicity", f"{field}.multiplicity")
    for axis in ("x", "y", "z"):
        if rec.get(axis) is not None:
            site[axis] = _coord(rec[axis], f"{field}.{axis}")
    for key, target in (("B", "b_iso"), ("b_iso", "b_iso"), ("U", "u_iso"), ("u_iso", "u_iso")):
        if rec.get(key) is not None:
            site[target] = _dimensionless_measured(rec[key], f"{field}.{key}")
    if rec.get("occupancy") is not None and isinstance(rec["occupancy"], (str, dict)):
        site["occupancy"] = _dimensionless_measured(rec["occupancy"], f"{field}.occupancy")
        if not 0 < site["occupancy"]["value"] <= 1.0 + 1e-6:
            raise RecordError(f"occupancy must be in (0, 1], got {rec['occupancy']!r}", f"{field}.occupancy")
    return _drop_none(site)


def _species(rec: dict, field: str) -> dict[str, float]:
    """element -> occupancy in (0, 1], summing to at most 1; a bare element takes the site's occupancy."""
    species = rec.get("species")
    if isinstance(species, str):
        species = {species: rec.get("occupancy", 1.0) if not isinstance(rec.get("occupancy"), (dict, str)) else 1.0}
    if not isinstance(species, dict) or not species:
        raise RecordError("species must map element -> occupancy, e.g. {Na: 0.8}", f"{field}.species")
    clean = {}
    for el, occ in species.items():
        parse_formula(str(el), f"{field}.species.{el}")
        o = _float(occ, f"{field}.species.{el}")
        if o is None or not (0 < o <= 1.0 + 1e-6):
            raise RecordError(f"occupancy must be in (0, 1], got {occ!r}", f"{field}.species.{el}")
        clean[str(el)] = o
    if sum(clean.values()) > 1.0 + 1e-6:
        raise RecordError(f"total occupancy {sum(clean.values()):.3f} exceeds 1", f"{field}.species")
    return clean


def _coord(raw: Any, field: str) -> float:
    if isinstance(raw, str) and "/" in raw:
        num, _, den = raw.partition("/")
        try:
            return float(num) / float(den)
        except ValueError:
            raise RecordError(f"expected a fractional coordinate, got {raw!r}", field) from None
    if isinstance(raw, str):
        raw = raw.split("(")[0]
    return _float(raw, field)


def _dimensionless_measured(raw: Any, field: str) -> dict:
    """B/U factors (Å²) and occupancies written as ``0.8(1)``; stored as value/uncertainty."""
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        return {"value": float(raw), "unit": ""}
    v = _value(raw, "dimensionless", field) if not (isinstance(raw, str) and "Å" in raw) else None
    if v is None:
        v = _value(raw.replace("Å^2", "").replace("Å2", ""), "dimensionless", field)
    return v.to_dict()


def structure_properties(structure: dict) -> list[dict]:
    """Property records for the queryable numbers of each phase (origin: reported)."""
    props = []
    src = structure.get("source", {})
    for i, phase in enumerate(structure.get("phases", [])):
        base_cond = {"phase": phase.get("name") or phase.get("formula") or f"phase {i + 1}"}
        for key, m in (phase.get("lattice") or {}).items():
            name = f"lattice_{key}"
            props.append(_structure_prop(name, m, base_cond, src, structure))
        for key, (_kind, pname) in _PHASE_MEASURED.items():
            if key in phase:
                props.append(_structure_prop(pname, phase[key], base_cond, src, structure))
    return props


def _structure_prop(name: str, m: dict, cond: dict, src: dict, structure: dict) -> dict:
    out = {
        "name": name,
        "value": m["value"],
        "uncertainty": m.get("uncertainty"),
        "unit": registry.QUANTITIES[registry.PROPERTIES[name].quantity].display_unit,
        "qualifier": m.get("qualifier"),
        "entered": m.get("entered"),
        "conditions": dict(cond),
        "origin": "reported",
        "source": src,
        "structure": structure.get("_id"),
    }
    if structure.get("temperature"):
        out["conditions"]["temperature_k"] = structure["temperature"]["value"]
        out["conditions"]["temperature_c"] = to_celsius(structure["temperature"]["value"])
        out["temperature_k"] = out["conditions"]["temperature_k"]
        out["temperature_c"] = out["conditions"]["temperature_c"]
    return _drop_none(out)

