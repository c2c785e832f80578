"""Builders of materials, synthesis steps and routes, samples and properties (import records -> documents).

Pure functions, no database access; each raises RecordError naming the field.
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from ionbase.schemas import registry
from ionbase.schemas.build_common import (
    RecordError,
    _drop_none,
    _float,
    _known,
    _property_type,
    _value,
    build_source,
    location_key,
    make_id,
    measured,
    parse_formula,
    source_key,
    stable_hash,
)
from ionbase.schemas.units import UnitError, check_range, join_quantity, to_celsius


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
    components = [_component(comp, f"{field}.components[{i}]") for i, comp in enumerate(rec.get("components") or [])]
    _check_fractions(rec.get("components") or [], components, f"{field}.components")
    if components:
        doc["components"] = components
    # a material is identified within its source by its key: the five SiO2 scaffolds of one paper are
    # five materials, and a paper's Mg3AsN is not silently merged with another lab's
    doc["_id"] = make_id("mat", source_key(doc["source"]), doc["key"])
    doc["content_hash"] = stable_hash({k: v for k, v in doc.items() if k != "_id"})
    return _drop_none(doc)


def _component(comp: dict, cf: str) -> dict:
    """One component of a composite: formula, fraction (percent) in a basis, role, name, descriptors."""
    _known(comp, {"formula", "fraction", "basis", "role", "name", "descriptors"}, cf)
    cinfo = parse_formula(comp.get("formula"), f"{cf}.formula")
    basis = comp.get("basis")
    if basis is not None and basis not in ("vol", "wt", "mol"):
        raise RecordError(f"basis must be vol, wt or mol, got {basis!r}", f"{cf}.basis")
    fraction = _fraction(comp.get("fraction"), basis, f"{cf}.fraction")
    descriptors = {}
    for name, raw in (comp.get("descriptors") or {}).items():
        ptype = _property_type(name, f"{cf}.descriptors.{name}")
        descriptors[name] = measured(raw, ptype.quantity, f"{cf}.descriptors.{name}")
    return {
        "formula": comp["formula"],
        "reduced_formula": cinfo["reduced_formula"],
        "fraction": fraction,
        "basis": basis,
        "role": comp.get("role"),
        "name": comp.get("name"),
        "descriptors": descriptors,
    }


_BASIS_IN_TEXT = re.compile(r"\b(vol|wt|mol)\s*%")


def _fraction(raw: Any, basis: str | None, field: str) -> float | None:
    """A component's fraction in percent: a number (65) or a quantity with a unit ("65 %", "65 vol%",
    ``{value: 0.65, unit: "-"}``); between 0 and 100."""
    if raw is None or isinstance(raw, bool) or not isinstance(raw, (str, dict)):
        fraction = _float(raw, field)
    else:
        fraction = _value(raw, "percent", field).value
        written = _BASIS_IN_TEXT.search(str(raw.get("unit", "") if isinstance(raw, dict) else raw))
        if written and written[1] != basis:
            raise RecordError(f"the fraction {raw!r} is in {written[1]}% but the component's basis is {basis!r}",
                              field)
    if fraction is not None and not (0 <= fraction <= 100):
        raise RecordError(f"fraction must be between 0 and 100 (percent), got {fraction:g}", field)
    return fraction


#: the components' fractions must add up to 100 % within this many percentage points, or within the
#: rounding of the numbers as written when that is wider (half a unit of each one's last digit: whole
#: numbers 33/33/33 are 99 %, three thirds rounded)
FRACTION_SUM_TOLERANCE = 0.5


def _rounding(raw: Any) -> float:
    """Half a unit of the last digit of a fraction written as a number (0.5 for 33, 0.05 for 33.3);
    0 for a quantity with a unit (its digits are in another unit)."""
    if isinstance(raw, int) and not isinstance(raw, bool):
        return 0.5
    if isinstance(raw, float) and "e" not in repr(raw):
        return 0.5 * 10.0 ** -len(repr(raw).split(".")[1])
    return 0.0


def _check_fractions(raw: list, components: list[dict], field: str) -> None:
    """The fractions of a composite, when given, are given for every component, in one basis, and add
    up to 100 % (FRACTION_SUM_TOLERANCE); a sum near 1 means fractions of 1 written where percent is
    expected (0.65 and 0.35 stored as 0.65 vol%), refused."""
    given = [c["fraction"] for c in components if c["fraction"] is not None]
    if not given:
        return
    missing = [i for i, c in enumerate(components) if c["fraction"] is None]
    if missing:
        raise RecordError(f"component {missing[0]} has no fraction while others have one: give every component's "
                          "fraction (percent, adding up to 100; the balance too) or none", f"{field}[{missing[0]}].fraction")
    bases = sorted({c["basis"] or "none given" for c in components})
    if len(bases) > 1:
        raise RecordError(f"the components' fractions are in different bases ({', '.join(bases)}): give one basis "
                          "(vol, wt or mol) for every component", field)
    total = round(math.fsum(given), 9)
    tolerance = max(FRACTION_SUM_TOLERANCE, sum(_rounding(c.get("fraction")) for c in raw))
    if abs(total - 100) <= tolerance:
        return
    shown = " + ".join(f"{f:g}" for f in given)
    if total <= 1 + 0.05:  # 0.65 + 0.35, 0.6 + 0.3 + 0.1: fractions of 1
        raise RecordError(f"the components' fractions add up to {total:g} ({shown}), not 100: written as fractions "
                          "of 1? A component's fraction is in percent: write 65 for 65 %, or give the unit "
                          "('65 %', '65 vol%')", f"{field}[*].fraction")
    raise RecordError(f"the components' fractions add up to {total:g} % ({shown}), not 100 % (within "
                      f"{tolerance:g} percentage points)", f"{field}[*].fraction")


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
        params, entered = _step_params(raw, registry.STEP_TYPES[stype], sf)
        step = {"order": start_order + i, "type": stype, "params": params, "entered": entered}
        if raw.get("notes"):
            step["notes"] = str(raw["notes"])
        if raw.get("description"):
            step["description"] = str(raw["description"])
        steps.append(step)
    return steps


def _step_params(raw: dict, spec: registry.StepType, sf: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """A step's parameters in canonical units, and what was entered for each quantity."""
    params: dict[str, Any] = {}
    entered: dict[str, Any] = {}
    for key, val in raw.items():
        if key in ("type", "notes", "description"):
            continue
        if key not in spec.params:
            raise RecordError(
                f"unknown parameter {key!r} for step type {spec.name!r}; expected one of {sorted(spec.params)}"
                + (" (or put it in 'notes')" if spec.params else " (describe a generic step in 'description')"),
                f"{sf}.{key}",
            )
        if val is None:
            continue
        quantity = spec.params[key].quantity
        if quantity is None:
            params[key] = str(val)
        elif quantity == "count":
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val) or float(val) != int(val) or val < 0:
                raise RecordError(f"expected a whole number, got {val!r}", f"{sf}.{key}")
            params[key] = int(val)
        else:
            v = _value(val, quantity, f"{sf}.{key}")
            if v.value < 0 and quantity != "temperature":
                raise RecordError(f"must not be negative, got {val!r}", f"{sf}.{key}")
            if quantity == "temperature" and v.value <= 0:
                raise RecordError(f"temperature must be above absolute zero, got {val!r}", f"{sf}.{key}")
            params[key] = v.value
            entered[key] = val if not isinstance(val, dict) else v.entered
    return params, entered


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
            out[key] = _text_condition(ctype, val, cf)
        elif ctype.quantity == "count":
            if isinstance(val, bool) or not isinstance(val, (int, float)) or not math.isfinite(val) or float(val) != int(val):
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


def _text_condition(ctype: registry.ConditionType, val: Any, field: str) -> str:
    """A text condition as stored; one with ``choices`` (e.g. carrier) must be one of them (any case)."""
    text = str(val).strip()
    if ctype.choices is None:
        return str(val)
    if text.lower() not in ctype.choices:
        raise RecordError(f"{ctype.name} must be one of {list(ctype.choices)}, got {val!r}", field)
    return text.lower()


def _check_condition_scope(ptype: registry.PropertyType, conditions: dict, field: str) -> None:
    """Conditions that only some properties may state (carrier: the Arrhenius-fit ones) are refused on others."""
    for key in conditions:
        allowed = registry.CONDITIONS[key].properties if key in registry.CONDITIONS else None
        if allowed is not None and ptype.name not in allowed:
            raise RecordError(f"condition {key!r} applies to {list(allowed)} only, not to {ptype.name} "
                              f"(a conductivity states its carrier by its name, e.g. electronic_conductivity)",
                              f"{field}.{key}")


def property_id(sample_id_: str, name: str, conditions: dict, source: dict, origin: str, extra: str = "") -> str:
    """The id of a stated property: sample, name, the conditions that name a measurement (not those
    that only qualify its number, e.g. ``carrier``: a lab stating the carrier of an activation energy
    it imported without one updates that value instead of adding a second), source location, origin."""
    named = {k: v for k, v in conditions.items() if k not in _QUALIFYING_CONDITIONS}
    return make_id("prop", sample_id_, name, stable_hash(named), location_key(source), origin, extra)


#: conditions left out of a property's id (``registry.ConditionType.identity``)
_QUALIFYING_CONDITIONS = frozenset(k for k, c in registry.CONDITIONS.items() if not c.identity)


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
    v = _value(raw, ptype.quantity, f"{field}.value", prop=ptype.name)
    qualifier = rec.get("qualifier") or v.qualifier
    if qualifier is not None and qualifier not in registry.QUALIFIERS:
        raise RecordError(f"unknown qualifier {qualifier!r}; expected one of {list(registry.QUALIFIERS)}", f"{field}.qualifier")
    _check_physical(ptype, v.value, f"{field}.value")
    conditions = build_conditions(rec.get("conditions"), f"{field}.conditions")
    _check_condition_scope(ptype, conditions, f"{field}.conditions")
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
    try:
        check_range(value, q, field, prop=ptype.name if ptype.name in registry.PROPERTY_RANGES else None)
    except UnitError as exc:
        raise RecordError(str(exc).split(": ", 1)[-1], field) from None
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
    # an unknown route claims nothing (not even "0 steps"): the property matches no synthesis filter
    prop["synthesis"] = {} if sample.get("route_unknown") else (route_summary or summarize_route([]))
    if "_id" not in prop:
        extra = prop.get("measurement") or prop.get("structure") or ""
        prop["_id"] = property_id(sample["_id"], prop["name"], prop.get("conditions", {}), prop.get("source", {}), prop["origin"], extra)
    prop.pop("_sample_ref", None)
    prop["content_hash"] = stable_hash({k: v for k, v in prop.items() if k not in ("_id", "content_hash", "batch_id", "updated_at")})
    return _drop_none(prop)

