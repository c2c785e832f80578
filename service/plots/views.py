"""Plot endpoints: SVG by default, PNG with ``format=png``.

    GET /api/v1/plots/arrhenius/<sample_id>
    GET /api/v1/plots/nyquist/<measurement_id>
    GET /api/v1/plots/property-vs-parameter?property=...&parameter=...[&temperature_c=25&family=...]

Views only gather plain arrays from the store (every read through the store's typed collections, which hide uncommitted batches) and hand
them to the pure renderers in :mod:`service.plots.render`.
"""

from __future__ import annotations

import logging
import math
from typing import Any

from flask import Response, current_app
from marshmallow import Schema, fields, validate

from ionbase.errors import NotFound
from ionbase.schemas import carriers, registry
from ionbase.service.params import Blueprint
from ionbase.service.plots import render
from ionbase.store.shapes import get_path

log = logging.getLogger(__name__)

blp = Blueprint("plots", __name__, url_prefix="/api/v1/plots", description="Figures rendered from the database (SVG or PNG).")

MIME = {"svg": "image/svg+xml", "png": "image/png"}
BOUND_QUALIFIERS = ("upper_bound", "lower_bound")

#: x-axis parameters of property-vs-parameter: name -> (database path, axis label)
PARAMETERS: dict[str, tuple[str, str]] = {
    "milling_time_h": ("synthesis.milling_time_h", "milling time (h)"),
    "max_rpm": ("synthesis.max_rpm", "milling speed (rpm)"),
    "max_anneal_c": ("synthesis.max_anneal_c", "annealing temperature (°C)"),
    "anneal_time_h": ("synthesis.anneal_time_h", "annealing time (h)"),
    "n_steps": ("synthesis.n_steps", "number of synthesis steps"),
    "series_value": ("series_value", "series composition parameter"),
    "temperature_c": ("temperature_c", "temperature (°C)"),
}
#: conductivity property -> its carrier (what an Arrhenius fit of it describes: schemas.carriers)
CARRIERS = {"ionic_conductivity": "ionic", "total_conductivity": "total", "electronic_conductivity": "electronic"}
GROUP_BY = ("reduced_formula", "series_name", "family", "doi", "sample_label")


def _store():
    return current_app.extensions["ionbase_store"]


def _reply(data: bytes, fmt: str, name: str) -> Response:
    ext = "svg" if fmt == "svg" else "png"
    resp = Response(data, mimetype=MIME[fmt])
    resp.headers["Content-Disposition"] = f'inline; filename="{name}.{ext}"'
    resp.headers["Cache-Control"] = "no-cache"
    return resp


def _render(func, *args, fmt: str, name: str, **kwargs) -> Response:
    try:
        data = func(*args, fmt=fmt, **kwargs)
    except render.PlotError as exc:
        raise NotFound(str(exc))
    return _reply(data, fmt, name)


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


# ----------------------------------------------------------------------------- argument schemas


class FormatArgs(Schema):
    format = fields.String(load_default="svg", validate=validate.OneOf(render.FORMATS),
                           metadata={"description": "svg (default) or png"})


class ArrheniusArgs(FormatArgs):
    property = fields.String(load_default="ionic_conductivity", validate=validate.OneOf(registry.CONDUCTIVITY_PROPERTIES),
                             metadata={"description": "Which conductivity to plot"})
    fit = fields.Boolean(load_default=True, metadata={"description": "Draw the Arrhenius fit"})


class PropertyVsParameterArgs(FormatArgs):
    property = fields.String(required=True, validate=validate.OneOf(sorted(registry.PROPERTIES)))
    parameter = fields.String(required=True, validate=validate.OneOf(sorted(PARAMETERS)))
    temperature_c = fields.Float(load_default=None, metadata={"description": "Measurement temperature (°C)"})
    temperature_tolerance_c = fields.Float(load_default=0.5, validate=validate.Range(min=0, max=50))
    family = fields.String(load_default=None, validate=validate.OneOf(registry.FAMILIES))
    series_name = fields.String(load_default=None)
    reduced_formula = fields.String(load_default=None)
    group_by = fields.String(load_default="reduced_formula", validate=validate.OneOf(GROUP_BY))


# ----------------------------------------------------------------------------- Arrhenius


def _arrhenius_points(store, sample_id: str, prop: str) -> list[dict]:
    query = {"sample": sample_id, "name": prop}
    out = []
    # top-level projections only: the embedded store returns a dotted projection ("a.b") as a flat key
    for p in store.properties.find(query, {"value": 1, "temperature_k": 1, "origin": 1, "stale": 1, "qualifier": 1,
                                           "provenance": 1, "conditions": 1, "measurement": 1}):
        if p.get("stale") or not _finite(p.get("temperature_k")) or not _finite(p.get("value")):
            continue
        # values the Arrhenius job itself produced (σ(25 °C) from the fit) are not data points
        if (p.get("provenance") or {}).get("job") == "arrhenius" or "Arrhenius" in str((p.get("conditions") or {}).get("method", "")):
            continue
        if p["temperature_k"] > 0 and p["value"] > 0:
            out.append(p)
    out.sort(key=lambda p: p["temperature_k"])
    return out


def _stored_fit(store, sample_id: str, prop: str, points: list[dict]) -> dict | None:
    """A fit dict for the renderer from stored activation-energy properties, if any."""
    carrier = CARRIERS.get(prop)
    query = {"sample": sample_id, "name": "activation_energy"}
    derived, reported = [], []
    for p in store.properties.find(query):
        # only values of this carrier (schemas.carriers: an unknown carrier is nobody's line)
        if p.get("stale") or not carriers.describes(p, carrier):
            continue
        params = (p.get("provenance") or {}).get("parameters") or {}
        (derived if p.get("origin") == "derived" else reported).append((p, params))
    segs = []
    for p, params in derived:
        pref = params.get("prefactor_S_per_cm") or params.get("prefactor")
        if not _finite(pref) or pref <= 0:
            pref = _prefactor_property(store, sample_id, p)
        if pref is None:
            continue
        segs.append({"Ea_eV": p["value"], "Ea_stderr_eV": p.get("uncertainty"), "prefactor": pref,
                     "form": params.get("form", "sigma"), "T_min_K": params.get("T_min_K"), "T_max_K": params.get("T_max_K"),
                     "r2": params.get("r2"), "label": _fit_label(params, p.get("flags"))})
    if segs:
        # each stored fit is drawn over its own series' temperature range and labelled by that series
        # (several series of one sample are separate fits, not the segments of one)
        segs.sort(key=lambda s: (s.get("T_min_K") or 0, s["label"] or ""))
        return {"segments": segs} if len(segs) > 1 else {**segs[0], "label": None}
    if reported and points:
        # a reported Ea without prefactor: draw the line with that slope through the data
        p, _ = reported[0]
        ea = p["value"]
        lnp = [math.log(q["value"]) + ea / (render.KB_EV * q["temperature_k"]) for q in points]
        return {"Ea_eV": ea, "Ea_stderr_eV": p.get("uncertainty"), "prefactor": math.exp(sum(lnp) / len(lnp)),
                "form": "sigma", "label": "reported"}
    return None


def _fit_label(params: dict, flags: list[str] | None) -> str | None:
    """Legend text of a stored fit: its series (method, cell or measurement), break segment and flags."""
    series = params.get("series") or {}
    parts = [series.get("method") or series.get("measurement") or series.get("kind") or "",
             series.get("electrodes") or series.get("cell") or "", params.get("segment") or ""]
    label = " ".join(str(x) for x in parts if x)
    if flags:
        label += f" ({', '.join(flags)})"
    return label or None


def _one_series(points: list[dict]) -> bool:
    """Whether the points form one series (one measurement, or one method and cell): only then is an
    on-the-fly fit over all of them meaningful (the analysis job's rule, jobs/definitions._series_key)."""
    keys = set()
    for p in points:
        cond = p.get("conditions") or {}
        keys.add(("measurement", p["measurement"]) if p.get("measurement") else
                 ("pooled", p.get("origin") == "derived", cond.get("method"), cond.get("cell")))
    return len(keys) == 1


def _prefactor_property(store, sample_id: str, ea_doc: dict) -> float | None:
    cond = ea_doc.get("conditions") or {}
    query = {"sample": sample_id, "name": "conductivity_prefactor"}
    for p in store.properties.find(query, {"value": 1, "conditions": 1, "stale": 1}):
        if p.get("stale"):
            continue
        c = p.get("conditions") or {}
        if c.get("temperature_range_low_k") == cond.get("temperature_range_low_k") and _finite(p.get("value")):
            return p["value"]
    return None


def _fit_on_the_fly(points: list[dict]) -> dict | None:
    """Fit with analysis.arrhenius when available (imported lazily); None when it cannot."""
    try:
        from ionbase.analysis.arrhenius import fit_arrhenius
    except ImportError:
        return None
    usable = [p for p in points if p.get("qualifier") not in BOUND_QUALIFIERS]
    if not _one_series(usable):
        log.info("no on-the-fly Arrhenius fit: the points belong to several series")
        return None
    try:
        res = fit_arrhenius([p["temperature_k"] for p in usable], [p["value"] for p in usable], form="sigma")
    except Exception as exc:  # too few temperatures, invalid data: plot the data alone
        log.info("no on-the-fly Arrhenius fit: %s", exc)
        return None
    d = res.to_dict() if hasattr(res, "to_dict") else dict(vars(res))
    if d.get("break_detected") and d.get("segments"):
        segs = []
        for label, s in zip(("low-T", "high-T"), d["segments"]):
            segs.append({**s, "form": d["form"], "label": label})
        return {"segments": segs}
    return {**d, "label": None}


@blp.route("/arrhenius/<string:sample_id>")
@blp.arguments(ArrheniusArgs, location="query")
@blp.response(200, content_type="image/svg+xml", description="Arrhenius plot (SVG, or PNG with format=png)")
@blp.alt_response(404, description="Unknown sample or no conductivity data")
def arrhenius(args: dict, sample_id: str):
    """Conductivity of one sample vs temperature (log σ vs 1000/T), with its Arrhenius fit."""
    store = _store()
    sample = store.samples.find_one({"_id": sample_id}, {"label": 1, "reduced_formula": 1})
    if sample is None:
        raise NotFound(f"sample {sample_id!r} not found")
    prop = args["property"]
    points = _arrhenius_points(store, sample_id, prop)
    if not points:
        raise NotFound(f"sample {sample_id!r} has no {prop} values with a temperature")
    fit = None
    if args["fit"]:
        fit = _stored_fit(store, sample_id, prop, points) or _fit_on_the_fly(points)
    title = f"{sample.get('reduced_formula') or ''} — {sample.get('label') or sample_id}".strip(" —")
    return _render(render.arrhenius_svg, [(p["temperature_k"], p["value"]) for p in points], fit,
                   title=title, fmt=args["format"], name=f"arrhenius-{sample_id}")


# ----------------------------------------------------------------------------- Nyquist


def _fitted_curve(store, measurement_id: str, frequency: list[float]):
    """(z_real, z_imag, circuit) of the stored equivalent-circuit fit, or (None, None, None)."""
    query = {"origin": "derived", "provenance.parameters.measurement": measurement_id}
    doc = None
    for p in store.properties.find(query, {"provenance": 1, "stale": 1}, limit=20):
        params = (p.get("provenance") or {}).get("parameters") or {}
        if not p.get("stale") and params.get("circuit") and params.get("fit_parameters"):
            doc = params
            break
    if doc is None or not frequency:
        return None, None, None
    try:
        import numpy as np

        from ionbase.analysis.circuits import compile_circuit

        cc = compile_circuit(doc["circuit"])
        fp = doc["fit_parameters"]
        values = [float(fp[n]["value"] if isinstance(fp[n], dict) else fp[n]) for n in cc.param_names]
        f = np.asarray([x for x in frequency if _finite(x) and x > 0], dtype=float)
        if f.size == 0:
            return None, None, None
        grid = np.logspace(np.log10(f.min()), np.log10(f.max()), 300)
        z = cc.impedance(np.asarray(values), grid)
        return z.real.tolist(), z.imag.tolist(), doc["circuit"]
    except Exception as exc:  # analysis package missing or parameters incomplete: data only
        log.info("no fitted curve for %s: %s", measurement_id, exc)
        return None, None, None


def impedance_arrays(store, measurement_id: str) -> dict[str, list]:
    """frequency, z_real, z_imag of a measurement, concatenated from its chunks in chunk order."""
    return store.measurement_arrays.arrays(measurement_id, ("frequency", "z_real", "z_imag"), align="z_real").arrays


@blp.route("/nyquist/<string:measurement_id>")
@blp.arguments(FormatArgs, location="query")
@blp.response(200, content_type="image/svg+xml", description="Nyquist plot (SVG, or PNG with format=png)")
@blp.alt_response(404, description="Unknown measurement or no impedance arrays")
def nyquist(args: dict, measurement_id: str):
    """Impedance spectrum −Z'' vs Z' with the stored equivalent-circuit fit when there is one."""
    store = _store()
    m = store.measurements.find_one({"_id": measurement_id},
                                    {"kind": 1, "label": 1, "sample": 1, "temperature": 1})
    if m is None:
        raise NotFound(f"measurement {measurement_id!r} not found")
    if m.get("kind") != "impedance_spectrum":
        raise NotFound(f"measurement {measurement_id!r} is a {m.get('kind')}, not an impedance spectrum")
    arrays = impedance_arrays(store, measurement_id)
    if not arrays["z_real"]:
        raise NotFound(f"measurement {measurement_id!r} has no impedance arrays")
    fr, fi, circuit = _fitted_curve(store, measurement_id, arrays["frequency"])
    t = (m.get("temperature") or {}).get("value")
    title = m.get("label") or measurement_id
    if _finite(t):
        title = f"{title} ({t - 273.15:.0f} °C)"
    return _render(render.nyquist_svg, arrays["z_real"], arrays["z_imag"], fr, fi, circuit,
                   title=title, fmt=args["format"], name=f"nyquist-{measurement_id}")


# ----------------------------------------------------------------------------- property vs parameter


@blp.route("/property-vs-parameter")
@blp.arguments(PropertyVsParameterArgs, location="query")
@blp.response(200, content_type="image/svg+xml", description="Scatter/line plot (SVG, or PNG with format=png)")
@blp.alt_response(404, description="No matching values")
def property_vs_parameter(args: dict):
    """A property (e.g. ionic_conductivity at 25 °C) vs a synthesis or series parameter, grouped."""
    store = _store()
    prop, param = args["property"], args["parameter"]
    path, x_label = PARAMETERS[param]
    query: dict[str, Any] = {"name": prop}
    if args.get("temperature_c") is not None:
        t, tol = args["temperature_c"], args["temperature_tolerance_c"]
        query["temperature_c"] = {"$gte": t - tol, "$lte": t + tol}
    for key in ("family", "series_name", "reduced_formula"):
        if args.get(key):
            query[key] = args[key]
    group_by = args["group_by"]
    projection = {"value": 1, "uncertainty": 1, "stale": 1, path.split(".")[0]: 1, group_by: 1, "temperature_c": 1}
    groups: dict[str, list[tuple]] = {}
    for p in store.properties.find(query, projection):
        x, y = get_path(p, path), p.get("value")
        if p.get("stale") or not _finite(x) or not _finite(y):
            continue
        label = str(p.get(group_by) or "(none)")
        groups.setdefault(label, []).append((float(x), float(y), p.get("uncertainty")))
    if not groups:
        raise NotFound(f"no {prop} values with a {param} match these conditions")
    ptype = registry.PROPERTIES[prop]
    unit = registry.QUANTITIES[ptype.quantity].display_unit
    y_label = f"{ptype.description} ({unit})" if unit else ptype.description
    title = ptype.description
    if args.get("temperature_c") is not None:
        title += f" at {args['temperature_c']:g} °C"
    if args.get("family"):
        title += f" ({args['family']})"
    return _render(render.property_vs_parameter_svg, groups, x_label=x_label, y_label=y_label, title=title,
                   fmt=args["format"], name=f"{prop}-vs-{param}")
