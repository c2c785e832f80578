"""``/api/v1/trends``: standing questions (property vs synthesis parameter, vs composition)."""

from __future__ import annotations

import marshmallow as ma
from ionbase.service.params import Blueprint

from ionbase.schemas import registry
from ionbase.service.common import get_store
from ionbase.errors import InvalidRequest
from ionbase.service.query.fields import TREND_PARAMETERS
from ionbase.service.query.filter import MAX_FILTER_LENGTH, parse_filter
from ionbase.service.query.pipelines import (GROUP_KEYS, group_points, synthesis_paths, trend_point, trend_points_pipeline,
                                             trend_summary_pipeline, value_range)

F = ma.fields
blp = Blueprint("trends", __name__, url_prefix="/api/v1/trends",
                description="Standing questions: a property against synthesis parameters or composition")

MAX_POINTS = 20000


class TrendArgs(ma.Schema):
    property = F.String(required=True, validate=ma.validate.OneOf(list(registry.PROPERTIES)),
                        metadata={"description": "Property name, e.g. ionic_conductivity"})
    temperature_c = F.Float(load_default=None, allow_nan=False, validate=ma.validate.Range(-273.15, 5000),
                            metadata={"description": "Only values measured at this temperature (°C)"})
    temperature_tolerance = F.Float(load_default=0.5, validate=ma.validate.Range(0, 100),
                                    metadata={"description": "± tolerance on temperature_c (°C)"})
    filter = F.String(load_default=None, validate=ma.validate.Length(max=MAX_FILTER_LENGTH),
                      metadata={"description": "Extra OPTIMADE filter (same fields as /properties)"})


class SynthesisTrendArgs(TrendArgs):
    parameter = F.String(required=True, validate=ma.validate.OneOf(TREND_PARAMETERS),
                         metadata={"description": "Synthesis parameter (route summary field)"})
    group_by = F.String(load_default="material", validate=ma.validate.OneOf(sorted(GROUP_KEYS)))


class CompositionTrendArgs(TrendArgs):
    series = F.String(load_default=None, validate=ma.validate.Length(max=200),
                      metadata={"description": "Series name, e.g. Na3-xIn1-xZrxCl6 (x = series parameter)"})
    component = F.String(load_default=None, validate=ma.validate.Length(max=100),
                         metadata={"description": "Composite component formula, e.g. SiO2 (x = its fraction)"})


class TrendPoint(ma.Schema):
    id = F.String()
    sample = F.String()
    sample_id = F.String()
    x = F.Float()
    value = F.Float(metadata={"description": "The stored value; with qualifier upper_bound/lower_bound it is a bound, not a value"})
    qualifier = F.String(allow_none=True, validate=ma.validate.OneOf(registry.QUALIFIERS), metadata={"description": (
        "null/exact: a value; approximate (e.g. an Arrhenius extrapolation); upper_bound (< value), "
        "lower_bound (> value); range")})
    origin = F.String(allow_none=True, metadata={"description": "reported, measured or derived (computed by an analysis job)"})
    method = F.String(allow_none=True, metadata={"description": "conditions.method, e.g. EIS or Arrhenius extrapolation"})
    flags = F.List(F.String(), metadata={"description": "Quality flags of the value (e.g. poor_fit, few_points)"})
    formula = F.String(allow_none=True)
    basis = F.String()


class TrendGroup(ma.Schema):
    key = F.String(allow_none=True)
    formula = F.String(allow_none=True)
    n = F.Integer(metadata={"description": "Number of points, bounds included"})
    n_bounds = F.Integer(metadata={"description": "Number of points that are upper/lower bounds"})
    min_x = F.Float(allow_none=True)
    max_x = F.Float(allow_none=True)
    min_value = F.Float(allow_none=True, metadata={"description": "Smallest value, bounds excluded (null: no value)"})
    max_value = F.Float(allow_none=True, metadata={"description": "Largest value, bounds excluded (null: no value)"})
    points = F.List(F.Nested(TrendPoint))


class Trend(ma.Schema):
    property = F.String()
    parameter = F.String()
    unit = F.String()
    temperature_c = F.Float(allow_none=True)
    group_by = F.String()
    groups = F.List(F.Nested(TrendGroup))
    n_stale = F.Integer(metadata={"description": (
        "Number of stale derived values left out (their inputs changed since they were computed; "
        "`ionbase analyze` recomputes them): values that match the question and would otherwise be points")})


def trend_match(args: dict, stale: bool = False) -> dict:
    """Base $match of a trend: property name, not stale, temperature window, optional filter.

    Stale derived values (inputs changed since they were computed) are left out, as export, OPTIMADE
    and the plots do: they are wrong until the analysis runs again. ``$nin`` (not ``$ne``): the
    embedded store drops documents without the field for ``$ne`` in a pipeline of more than one stage.
    With ``stale``, the complement (``$in``): the stale values the trend leaves out, to count them.
    """
    parts: list[dict] = [{"name": args["property"]}, {"stale": {"$in" if stale else "$nin": [True]}}]
    if args.get("temperature_c") is not None:
        t, tol = args["temperature_c"], args["temperature_tolerance"]
        parts.append({"temperature_c": {"$gte": t - tol, "$lte": t + tol}})
    if args.get("filter"):
        parts.append(parse_filter(args["filter"]))
    return {"$and": parts}


def _unit(prop: str) -> str:
    return registry.QUANTITIES[registry.PROPERTIES[prop].quantity].display_unit


@blp.route("/synthesis")
@blp.arguments(SynthesisTrendArgs, location="query")
@blp.response(200, Trend)
def synthesis_trend(args):
    """A property against a synthesis parameter (e.g. conductivity vs milling time), grouped.

    Example: `?property=ionic_conductivity&parameter=milling_time_h&temperature_c=25&group_by=material`.
    Uses a `$group` aggregation on the store; points are sorted by the parameter.
    """
    store = get_store()
    paths = synthesis_paths(args["parameter"], args["group_by"])
    groups = _run_trend(store, trend_match(args), *paths)
    return {"property": args["property"], "parameter": args["parameter"], "unit": _unit(args["property"]),
            "temperature_c": args.get("temperature_c"), "group_by": args["group_by"], "groups": groups,
            "n_stale": _count_stale(store, trend_match(args, stale=True), *paths)}


@blp.route("/composition")
@blp.arguments(CompositionTrendArgs, location="query")
@blp.response(200, Trend)
def composition_trend(args):
    """A property against composition: the series parameter x, or a composite component's fraction.

    `?property=ionic_conductivity&series=Na3-xIn1-xZrxCl6&temperature_c=25` plots against x;
    `?property=ionic_conductivity&component=SiO2` plots against the SiO2 fraction of composites
    (in the basis stated by the material: vol, wt or mol %).
    """
    store = get_store()
    if args.get("series") and args.get("component"):
        raise InvalidRequest("give either series or component, not both",
                             {"series": ["not with component"], "component": ["not with series"]})
    match, stale = trend_match(args), trend_match(args, stale=True)
    unit = _unit(args["property"])
    if args.get("component"):
        fractions = _component_fractions(store, args["component"])
        return {"property": args["property"], "parameter": f"fraction of {args['component']}", "unit": unit,
                "temperature_c": args.get("temperature_c"), "group_by": "component",
                "groups": [_component_group(store, match, args["component"], fractions)],
                "n_stale": store.properties.count(_component_match(stale, fractions)) if fractions else 0}
    if args.get("series"):
        match, stale = ({"$and": [m, {"series_name": args["series"]}]} for m in (match, stale))
    groups = _run_trend(store, match, "series_value", "series_name")
    return {"property": args["property"], "parameter": "x", "unit": unit, "temperature_c": args.get("temperature_c"),
            "group_by": "series", "groups": groups, "n_stale": _count_stale(store, stale, "series_value", "series_name")}


def _run_trend(store, match: dict, xpath: str, gpath: str) -> list[dict]:
    # the typed collection adds visibility to the pipelines' first $match and flattens it
    rows = store.properties.aggregate(trend_points_pipeline(match, xpath, gpath))
    summaries = store.properties.aggregate(trend_summary_pipeline(match, xpath, gpath))
    return group_points(rows, summaries, MAX_POINTS)


def _count_stale(store, stale_match: dict, xpath: str, gpath: str) -> int:
    """How many stale values the trend left out: those it would have shown (x and group known)."""
    return sum(int(s.get("n") or 0) for s in store.properties.aggregate(trend_summary_pipeline(stale_match, xpath, gpath)))


def _component_fractions(store, component: str) -> dict[str, tuple[float, str]]:
    """material id -> (fraction, basis) of ``component`` in the composites that state its fraction."""
    fractions: dict[str, tuple[float, str]] = {}
    for m in store.materials.find({"components": {"$elemMatch": {"formula": component}}},
                                 {"components": 1, "reduced_formula": 1}):
        for c in m.get("components") or []:
            if c.get("formula") == component and c.get("fraction") is not None:
                fractions[m["_id"]] = (float(c["fraction"]), c.get("basis") or "")
                break
    return fractions


def _component_match(match: dict, fractions: dict) -> dict:
    return {"$and": [match, {"material_id": {"$in": sorted(fractions)}}]}


def _component_group(store, match: dict, component: str, fractions: dict[str, tuple[float, str]]) -> dict:
    """Properties of composites containing ``component``, x = its fraction (``fractions``)."""
    points = []
    if fractions:
        q = _component_match(match, fractions)
        for p in store.properties.find(q, {"sample": 1, "sample_label": 1, "value": 1, "material_id": 1, "reduced_formula": 1,
                                           "qualifier": 1, "origin": 1, "flags": 1, "conditions": 1}, limit=MAX_POINTS):
            x, basis = fractions[p["material_id"]]
            points.append({**trend_point(p, x), "basis": basis})
    points.sort(key=lambda p: (p["x"], p["id"]))
    xs = [p["x"] for p in points]
    return {"key": component, "formula": component, "n": len(points), "points": points,
            "min_x": min(xs, default=None), "max_x": max(xs, default=None), **value_range(points)}
