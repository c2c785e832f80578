"""Turn validated import records into storage documents (plain dicts ready for MongoDB).

Pure functions: no database access. Each raises :class:`RecordError` naming the field when a value
is wrong. Ids are deterministic from natural keys, so importing the same record twice yields the
same document id.
"""

from __future__ import annotations

import hashlib
import math

import orjson
from typing import Any, Iterable

from ionbase.schemas import registry
from ionbase.schemas.sources import SourceConflict, separate_page
from ionbase.schemas.units import UnitError, Value, join_quantity, parse_value, to_celsius

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


def _value(raw: Any, kind: str, field: str) -> Value:
    try:
        return parse_value(raw, kind, field)
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


def build_material(rec: dict, default_source: dict, field: str = "material") -> dict:
    _known(rec, {"key", "formula", "family", "name", "series", "components", "notes", "source"}, field)
    formula = rec.get("formula")
    info = parse_formula(formula, f"{field}.formula")
    family = rec.get("family")
    if family is not None and family not in registry.FAMILIES:
        raise RecordError(f"unknown family {family!r}; expected one of {list(registry.FAMILIES)}", f"{field}.family")
    doc: dict[str, Any] = {
        "key": str(rec.get("key") or formula),
        "formula": formula.strip(),
        **info,
        "family": family,
        "name": rec.get("name"),
        "notes": rec.get("notes"),
        "source": build_source(default_source, rec.get("source"), f"{field}.source"),
    }
    series = rec.get("series")
    if series is not None:
        _known(series, {"name", "parameter", "nominal", "refined"}, f"{field}.series")
        if not series.get("name") or not series.get("parameter"):
            raise RecordError("a series needs 'name' and 'parameter'", f"{field}.series")
        doc["series"] = _drop_none({
            "name": str(series["name"]),
            "parameter": str(series["parameter"]),
            "nominal": _float(series.get("nominal"), f"{field}.series.nominal"),
            "refined": _float(series.get("refined"), f"{field}.series.refined"),
        })
    components = []
    for i, comp in enumerate(rec.get("components") or []):
        cf = f"{field}.components[{i}]"
        _known(comp, {"formula", "fraction", "basis", "role", "name", "descriptors"}, cf)
        cinfo = parse_formula(comp.get("formula"), f"{cf}.formula")
        fraction = _float(comp.get("fraction"), f"{cf}.fraction")
        if fraction is not None and not (0 <= fraction <= 100):
            raise RecordError(f"fraction must be between 0 and 100 (percent), got {fraction}", f"{cf}.fraction")
        basis = comp.get("basis")
        if basis is not None and basis not in ("vol", "wt", "mol"):
            raise RecordError(f"basis must be vol, wt or mol, got {basis!r}", f"{cf}.basis")
        descriptors = {}
        for name, raw in (comp.get("descriptors") or {}).items():
            ptype = _property_type(name, f"{cf}.descriptors.{name}")
            descriptors[name] = measured(raw, ptype.quantity, f"{cf}.descriptors.{name}")
        components.append(
            {
                "formula": comp["formula"],
                "reduced_formula": cinfo["reduced_formula"],
                "fraction": fraction,
                "basis": basis,
                "role": comp.get("role"),
                "name": comp.get("name"),
                "descriptors": descriptors,
            }
        )
    if components:
        doc["components"] = components
    # a material is identified within its source by its key: the five SiO2 scaffolds of one paper are
    # five materials, and a paper's Mg3AsN is not silently merged with another lab's
    doc["_id"] = make_id("mat", source_key(doc["source"]), doc["key"])
    doc["content_hash"] = stable_hash({k: v for k, v in doc.items() if k != "_id"})
    return _drop_none(doc)


# ---------------------------------------------------------------- synthesis


def build_steps(raw_steps: Any, field: str, start_order: int = 0) -> list[dict]:
    if raw_steps is None:
        return []
    if not isinstance(raw_steps, list):
        raise RecordError("expected a list of steps", field)
    steps = []
    for i, raw in enumerate(raw_steps):
        sf = f"{field}[{i}]"
        if not isinstance(raw, dict):
            raise RecordError("each step must be a mapping with a 'type'", sf)
        stype = raw.get("type")
        if stype not in registry.STEP_TYPES:
            raise RecordError(
                f"unknown step type {stype!r}; expected one of {sorted(registry.STEP_TYPES)}", f"{sf}.type"
            )
        spec = registry.STEP_TYPES[stype]
        params: dict[str, Any] = {}
        entered: dict[str, Any] = {}
        for key, val in raw.items():
            if key in ("type", "notes", "description"):
                continue
            if key not in spec.params:
                raise RecordError(
                    f"unknown parameter {key!r} for step type {stype!r}; expected one of {sorted(spec.params)}"
                    + (" (or put it in 'notes')" if spec.params else " (describe a generic step in 'description')"),
                    f"{sf}.{key}",
                )
            if val is None:
                continue
            p = spec.params[key]
            if p.quantity is None:
                params[key] = str(val)
            elif p.quantity == "count":
                if isinstance(val, bool) or not isinstance(val, (int, float)) or float(val) != int(val) or val < 0:
                    raise RecordError(f"expected a whole number, got {val!r}", f"{sf}.{key}")
                params[key] = int(val)
            else:
                v = _value(val, p.quantity, f"{sf}.{key}")
                if v.value < 0 and p.quantity != "temperature":
                    raise RecordError(f"must not be negative, got {val!r}", f"{sf}.{key}")
                if p.quantity == "temperature" and v.value <= 0:
                    raise RecordError(f"temperature must be above absolute zero, got {val!r}", f"{sf}.{key}")
                params[key] = v.value
                entered[key] = val if not isinstance(val, dict) else v.entered
        step = {"order": start_order + i, "type": stype, "params": params, "entered": entered}
        if raw.get("notes"):
            step["notes"] = str(raw["notes"])
        if raw.get("description"):
            step["description"] = str(raw["description"])
        steps.append(step)
    return steps


def _step_values(steps: list[dict], key: str) -> list | None:
    """``key`` of every step, or None when any step lacks it (unknown is not 0)."""
    vals = [s["params"].get(key) for s in steps]
    return None if not vals or any(v is None for v in vals) else vals


def _total(steps: list[dict], key: str) -> float | None:
    vals = _step_values(steps, key)
    return round(sum(vals), 6) if vals is not None else None


def _peak(steps: list[dict], key: str, convert=float) -> float | None:
    vals = _step_values(steps, key)
    return max(convert(v) for v in vals) if vals is not None else None


#: step types that heat the sample: they count in max_anneal_c, anneal_time_h and anneal_ceiling_c
HEAT_TREATMENTS = ("annealing", "sintering", "hot_pressing")


def summarize_route(steps: Iterable[dict]) -> dict:
    """Synthesis summaries that queries filter on (milling time, max anneal temperature, ...)."""
    steps = list(steps)
    if not steps:
        # no recorded route: how the sample was made is unknown, so no flag, time or ceiling is claimed
        return {"step_types": [], "n_steps": 0}
    milling = [s for s in steps if s["type"] == "ball_milling"]
    # heat treatments of the sample itself; hot pressing at temperature is one (a pellet hot-pressed at
    # 400 °C was not "never annealed above 300 °C")
    heat = [s for s in steps if s["type"] in HEAT_TREATMENTS]
    summary: dict[str, Any] = {
        "step_types": sorted({s["type"] for s in steps}),
        "n_steps": len(steps),
        "milled": bool(milling),
        "annealed": bool(heat),
        "hot_pressed": any(s["type"] == "hot_pressing" for s in steps),
        "cold_pressed": any(s["type"] == "cold_pressing" for s in steps),
        "coated": any(s["type"] in ("pvd", "gas_treatment", "casting") for s in steps),
        # a step of unknown duration/rpm/temperature makes the total or maximum unknown, not 0 or partial
        "milling_time_h": _total(milling, "duration") if milling else 0.0,
        "max_rpm": _peak(milling, "rpm"),
        "max_anneal_c": _peak(heat, "temperature", to_celsius),
        "anneal_time_h": _total(heat, "duration") if heat else 0.0,
    }
    # the field behind "never annealed above T": the highest heat-treatment temperature, or room
    # temperature (25 °C) for a known route without one, so one flat range condition answers the question
    # (an anneal of unknown temperature leaves it unset: such a sample matches no bound)
    summary["anneal_ceiling_c"] = summary["max_anneal_c"] if heat else 25.0
    return _drop_none(summary)


def build_route(steps: list[dict]) -> dict:
    """A route document; identical step lists share one id (content hash)."""
    canonical = [{k: s.get(k) for k in ("type", "params", "notes", "description")} for s in steps]
    ordered = [dict(s, order=i) for i, s in enumerate(steps)]
    return {"_id": "route-" + stable_hash(canonical, 16), "steps": ordered, "summary": summarize_route(steps)}


# ---------------------------------------------------------------- samples


def sample_id(source_key_: str, label: str) -> str:
    return make_id("smp", source_key_, label)


def build_sample(rec: dict, default_source: dict, field: str = "sample") -> dict:
    """Validate a sample record (without resolving its material/parent: the importer does that)."""
    _known(rec, {"label", "material", "parent", "steps", "operator", "date", "tags", "notes", "source"}, field)
    label = rec.get("label")
    if not isinstance(label, (str, int)) or not str(label).strip():
        raise RecordError("a sample needs a 'label'", f"{field}.label")
    if not rec.get("material"):
        raise RecordError("a sample needs a 'material' (a material key or formula)", f"{field}.material")
    source = build_source(default_source, rec.get("source"), f"{field}.source")
    skey = source_key(source)
    tags = rec.get("tags") or []
    if not isinstance(tags, list):
        raise RecordError("tags must be a list", f"{field}.tags")
    doc = {
        "_id": sample_id(skey, str(label).strip()),
        "label": str(label).strip(),
        "source_key": skey,
        "source": source,
        "own_steps": build_steps(rec.get("steps"), f"{field}.steps"),
        "operator": rec.get("operator"),
        "date": str(rec["date"]) if rec.get("date") is not None else None,
        "notes": rec.get("notes"),
        "tags": [str(t) for t in tags],
        "_material_ref": str(rec["material"]),
        "_parent_ref": str(rec["parent"]).strip() if rec.get("parent") is not None else None,
    }
    return _drop_none(doc)


# ---------------------------------------------------------------- properties


def _property_type(name: Any, field: str) -> registry.PropertyType:
    if name not in registry.PROPERTIES:
        raise RecordError(f"unknown property {name!r}; see `ionbase vocab` for the controlled vocabulary", field)
    return registry.PROPERTIES[name]


def build_conditions(raw: Any, field: str) -> dict:
    """Canonical conditions; temperature is stored as ``temperature_k`` and ``temperature_c``."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise RecordError("conditions must be a mapping", field)
    out: dict[str, Any] = {}
    for key, val in raw.items():
        cf = f"{field}.{key}"
        if key not in registry.CONDITIONS:
            raise RecordError(f"unknown condition {key!r}; expected one of {sorted(registry.CONDITIONS)}", cf)
        ctype = registry.CONDITIONS[key]
        if val is None:
            continue
        if ctype.quantity is None:
            out[key] = str(val)
        elif ctype.quantity == "count":
            if isinstance(val, bool) or not isinstance(val, (int, float)) or float(val) != int(val):
                raise RecordError(f"expected a whole number, got {val!r}", cf)
            out[key] = int(val)
        elif ctype.quantity == "temperature":
            v = _value(val, "temperature", cf)
            if v.value <= 0:
                raise RecordError(f"temperature must be above absolute zero, got {val!r}", cf)
            out[f"{key}_k"] = round(v.value, 6)
            out[f"{key}_c"] = to_celsius(v.value)
        else:
            out[key] = _value(val, ctype.quantity, cf).value
    return out


def property_id(sample_id_: str, name: str, conditions: dict, source: dict, origin: str, extra: str = "") -> str:
    return make_id("prop", sample_id_, name, stable_hash(conditions), location_key(source), origin, extra)


def build_property(
    rec: dict, default_source: dict, field: str = "property", *, origin: str = "reported"
) -> dict:
    """A reported or measured scalar value, validated and in its canonical unit."""
    _known(
        rec,
        {"sample", "name", "value", "unit", "uncertainty", "qualifier", "range", "conditions", "source", "notes", "origin"},
        field,
    )
    if not rec.get("sample"):
        raise RecordError("a property needs a 'sample' label", f"{field}.sample")
    ptype = _property_type(rec.get("name"), f"{field}.name")
    if rec.get("value") is None and rec.get("range") is None:
        raise RecordError("a property needs a 'value'", f"{field}.value")
    try:
        raw = join_quantity(rec.get("value"), {k: rec.get(k) for k in ("unit", "uncertainty", "range")})
    except UnitError as exc:
        raise RecordError(str(exc), f"{field}.value") from None
    v = _value(raw, ptype.quantity, f"{field}.value")
    qualifier = rec.get("qualifier") or v.qualifier
    if qualifier is not None and qualifier not in registry.QUALIFIERS:
        raise RecordError(f"unknown qualifier {qualifier!r}; expected one of {list(registry.QUALIFIERS)}", f"{field}.qualifier")
    _check_physical(ptype, v.value, f"{field}.value")
    conditions = build_conditions(rec.get("conditions"), f"{field}.conditions")
    for req in ptype.required_conditions:
        if req == "temperature" and "temperature_k" not in conditions:
            raise RecordError(f"{ptype.name} needs conditions.temperature", f"{field}.conditions.temperature")
    origin = rec.get("origin") or origin
    if origin not in registry.ORIGINS:
        raise RecordError(f"unknown origin {origin!r}", f"{field}.origin")
    source = build_source(default_source, rec.get("source"), f"{field}.source")
    doc = {
        "name": ptype.name,
        "value": v.value,
        "uncertainty": v.uncertainty,
        "unit": v.unit,
        "qualifier": qualifier,
        "range": list(v.range) if v.range else None,
        "entered": v.entered,
        "conditions": conditions,
        "temperature_k": conditions.get("temperature_k"),
        "temperature_c": conditions.get("temperature_c"),
        "origin": origin,
        "source": source,
        "notes": rec.get("notes"),
        "_sample_ref": str(rec["sample"]).strip(),
    }
    return _drop_none(doc)


def _check_physical(ptype: registry.PropertyType, value: float, field: str) -> None:
    q = ptype.quantity
    if q in ("conductivity", "conductivity_temperature", "resistance", "area_resistance", "specific_area",
             "specific_volume", "nano_length", "density", "cell_volume", "lattice_length", "capacitance") and value <= 0:
        raise RecordError(f"{ptype.name} must be positive, got {value}", field)
    if q == "dimensionless" and ptype.name.endswith("number") and not (0 <= value <= 1):
        raise RecordError(f"{ptype.name} must be between 0 and 1, got {value}", field)
    if q == "count" and value < 0:
        raise RecordError(f"{ptype.name} must not be negative, got {value}", field)


def denormalize(prop: dict, sample: dict, material: dict, route_summary: dict | None) -> dict:
    """Copy onto a property what queries filter on; finish its deterministic id."""
    prop = dict(prop)
    prop["sample"] = sample["_id"]
    prop["sample_label"] = sample["label"]
    prop["material_id"] = material["_id"]
    prop["formula"] = material["formula"]
    prop["reduced_formula"] = material["reduced_formula"]
    prop["elements"] = material["elements"]
    prop["nelements"] = material["nelements"]
    prop["family"] = material.get("family")
    if material.get("series"):
        prop["series_name"] = material["series"]["name"]
        ser = material["series"]
        prop["series_value"] = ser.get("refined") if ser.get("refined") is not None else ser.get("nominal")
    comps = [c for c in material.get("components") or [] if c.get("fraction") is not None and c.get("basis")]
    if comps:
        # composites: which components, in what fraction (queries and ML features need them)
        prop["components"] = [{"formula": c["reduced_formula"], "fraction": c["fraction"], "basis": c["basis"]} for c in comps]
        prop["component_formulas"] = sorted({c["reduced_formula"] for c in comps})
        prop["component_keys"] = sorted({f"{c['basis']}:{c['reduced_formula']}" for c in comps})
    prop["doi"] = (sample.get("source") or {}).get("doi")
    prop["synthesis"] = route_summary or summarize_route([])
    if "_id" not in prop:
        extra = prop.get("measurement") or prop.get("structure") or ""
        prop["_id"] = property_id(sample["_id"], prop["name"], prop.get("conditions", {}), prop.get("source", {}), prop["origin"], extra)
    prop.pop("_sample_ref", None)
    prop["content_hash"] = stable_hash({k: v for k, v in prop.items() if k not in ("_id", "content_hash", "batch_id", "updated_at")})
    return _drop_none(prop)


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
    sg = rec.get("space_group")
    if sg is not None:
        if isinstance(sg, str):
            sg = {"symbol": sg}
        _known(sg, {"symbol", "number"}, f"{field}.space_group")
        phase["space_group_symbol"] = sg.get("symbol")
        if sg.get("number") is not None:
            n = sg["number"]
            if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 230:
                raise RecordError(f"space group number must be 1-230, got {n!r}", f"{field}.space_group.number")
            phase["space_group_number"] = n
    lattice = {}
    raw_lat = rec.get("lattice") or {}
    _known(raw_lat, set(_LATTICE), f"{field}.lattice")
    for key, kind in _LATTICE.items():
        if raw_lat.get(key) is not None:
            lattice[key] = measured(raw_lat[key], kind, f"{field}.lattice.{key}", positive=True)
    if lattice:
        phase["lattice"] = lattice
    for key, (kind, _prop) in _PHASE_MEASURED.items():
        if rec.get(key) is not None:
            phase[key] = measured(rec[key], kind, f"{field}.{key}", nonnegative=True)
    if "phase_fraction" in phase and phase["phase_fraction"]["value"] > 100:
        raise RecordError("phase fraction cannot exceed 100 %", f"{field}.phase_fraction")
    if rec.get("z") is not None:
        z = rec["z"]
        if isinstance(z, bool) or not isinstance(z, int) or z <= 0:
            raise RecordError(f"Z must be a positive whole number, got {z!r}", f"{field}.z")
        phase["z"] = z
    if rec.get("fit") is not None:
        fit = rec["fit"]
        _known(fit, {"Rp", "Rwp", "Rexp", "chi2", "Rw", "GOF", "range", "Rbragg"}, f"{field}.fit")
        out = {}
        for k, v in fit.items():
            if v is None:
                continue
            if k == "range":
                out[k] = str(v)
            else:
                fv = _float(v, f"{field}.fit.{k}")
                if fv < 0:
                    raise RecordError(f"must not be negative, got {v!r}", f"{field}.fit.{k}")
                out[k] = fv
        phase["fit"] = out
    sites = []
    for i, site in enumerate(rec.get("sites") or []):
        sites.append(build_site(site, f"{field}.sites[{i}]"))
    if sites:
        phase["sites"] = sites
    if rec.get("structure"):
        phase["structure"] = rec["structure"]
    if rec.get("cif"):
        phase["cif"] = rec["cif"]
    return _drop_none(phase)


def build_site(rec: dict, field: str) -> dict:
    _known(rec, {"label", "species", "wyckoff", "multiplicity", "x", "y", "z", "B", "U", "b_iso", "u_iso", "occupancy", "notes"}, field)
    if not rec.get("label"):
        raise RecordError("a site needs a 'label'", f"{field}.label")
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
    site: dict[str, Any] = {"label": str(rec["label"]), "species": clean, "wyckoff": rec.get("wyckoff")}
    if rec.get("multiplicity") is not None:
        m = rec["multiplicity"]
        if isinstance(m, bool) or not isinstance(m, int) or m <= 0:
            raise RecordError(f"multiplicity must be a positive whole number, got {m!r}", f"{field}.multiplicity")
        site["multiplicity"] = m
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
    payload: dict[str, Any] = {}
    for key, qkind in scalars.items():
        if rec.get(key) is None or key == "file":
            continue
        if qkind is None:
            payload[key] = rec[key] if isinstance(rec[key], (int, float, str, bool)) else str(rec[key])
        else:
            payload[key] = measured(rec[key], qkind, f"{field}.{key}")
    if kind == "conductivity_series" and payload.get("carrier") not in registry.CARRIERS:
        raise RecordError(f"carrier must be one of {list(registry.CARRIERS)}", f"{field}.carrier")
    if plist and rec.get(plist[0]) is not None:
        key, cols = plist
        points = []
        if not isinstance(rec[key], list):
            raise RecordError(f"{key} must be a list", f"{field}.{key}")
        for i, pt in enumerate(rec[key]):
            pf = f"{field}.{key}[{i}]"
            _known(pt, set(cols) | {"notes"}, pf)
            row = {}
            for col, qkind in cols.items():
                if pt.get(col) is None:
                    continue
                if qkind is None:
                    row[col] = pt[col] if isinstance(pt[col], (int, float, str)) else str(pt[col])
                elif qkind == "count":
                    row[col] = int(_float(pt[col], f"{pf}.{col}"))
                else:
                    m = measured(pt[col], qkind, f"{pf}.{col}")
                    if qkind == "conductivity" and m["value"] <= 0:
                        raise RecordError(f"conductivity must be positive, got {pt[col]!r}", f"{pf}.{col}")
                    if qkind == "temperature" and m["value"] <= 0:
                        raise RecordError(f"temperature must be above absolute zero, got {pt[col]!r}", f"{pf}.{col}")
                    row[col] = m
            points.append(row)
        payload[key] = points
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
    if arrays:
        lengths = {len(v) for v in arrays.values()}
        if len(lengths) != 1:
            raise RecordError(f"arrays differ in length: { {k: len(v) for k, v in arrays.items()} }", field)
        if kind == "impedance_spectrum" and any(f <= 0 for f in arrays.get("frequency", [])):
            raise RecordError("frequencies must be positive", f"{field}.frequency")
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
    except (TypeError, ValueError):
        raise RecordError(f"expected a number, got {x!r}", field) from None
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
