"""Aggregation pipelines of the standing-question endpoints (pure functions, conformance-tested).

Each trend runs two pipelines: ``points`` ($match, $sort, $project: one row per property with the
group key and x renamed to flat names, with what the value is: qualifier, origin, flags, conditions)
and ``summary`` ($match, $group with scalar accumulators: count, min/max of x, first formula per
group). Points are grouped in Python, where the value range is taken over values only: an upper or
lower bound is no value and never enters min/max.

Why not ``$push`` the points inside ``$group``: the embedded store (nx-27017) returns pushed arrays
as JSON *text* when the pipeline yields a single group, and loses compound ``_id`` keys; scalar
accumulators and ``$project`` renames behave like MongoDB (see tests/conformance/test_api_queries.py).
"""

from __future__ import annotations

from ionbase.service.query.fields import FIELDS

GROUP_KEYS = {"material": "material_id", "series": "series_name", "family": "family", "doi": "doi"}


def _match(match: dict, xpath: str, gpath: str) -> dict:
    return {"$match": {"$and": [match, {xpath: {"$exists": True}}, {gpath: {"$exists": True}}]}}


def trend_points_pipeline(match: dict, xpath: str, gpath: str) -> list[dict]:
    """One row per matching property: {_id, group, x, value, qualifier, origin, flags, conditions, sample, sample_label, formula}."""
    return [
        _match(match, xpath, gpath),
        {"$sort": {gpath: 1, xpath: 1, "_id": 1}},
        {"$project": {"group": "$" + gpath, "x": "$" + xpath, "value": 1, "qualifier": 1, "origin": 1, "flags": 1,
                      "conditions": 1, "sample": 1, "sample_label": 1, "formula": 1}},
    ]


def trend_summary_pipeline(match: dict, xpath: str, gpath: str) -> list[dict]:
    """Per group: n, x range, a formula (the value range is computed from the points: bounds excluded)."""
    return [
        _match(match, xpath, gpath),
        {"$group": {
            "_id": "$" + gpath,
            "n": {"$sum": 1},
            "min_x": {"$min": "$" + xpath},
            "max_x": {"$max": "$" + xpath},
            "formula": {"$first": "$formula"},
        }},
        {"$sort": {"_id": 1}},
    ]


def synthesis_paths(parameter: str, group_by: str) -> tuple[str, str]:
    return FIELDS[parameter].path, GROUP_KEYS[group_by]


#: qualifiers that make a value a bound, not a value: shown, never part of a value range or fit
BOUND_QUALIFIERS = ("upper_bound", "lower_bound")


def trend_point(doc: dict, x) -> dict:
    """One trend point from a property row: the value with what it is (qualifier, origin, method, flags)."""
    return {"id": doc["_id"], "sample_id": doc.get("sample"), "sample": doc.get("sample_label"), "x": x,
            "value": doc.get("value"), "qualifier": doc.get("qualifier"), "origin": doc.get("origin"),
            "method": (doc.get("conditions") or {}).get("method"), "flags": doc.get("flags") or [],
            "formula": doc.get("formula", doc.get("reduced_formula"))}


def value_range(points: list[dict]) -> dict:
    """min/max value over the points that are values (bounds excluded), and how many bounds there are."""
    values = [p["value"] for p in points if p.get("qualifier") not in BOUND_QUALIFIERS and p.get("value") is not None]
    return {"min_value": min(values, default=None), "max_value": max(values, default=None),
            "n_bounds": sum(p.get("qualifier") in BOUND_QUALIFIERS for p in points)}


def group_points(rows: list[dict], summaries: list[dict], limit: int | None = None) -> list[dict]:
    """Combine point rows and group summaries into ``[{key, formula, n, n_bounds, min/max, points}]``."""
    by_group: dict = {}
    for r in rows:
        by_group.setdefault(r.get("group"), []).append(trend_point(r, r.get("x")))
    out = []
    for s in summaries:
        pts = sorted(by_group.get(s["_id"], []), key=lambda p: (p["x"], p["id"]))
        out.append({"key": s["_id"], "formula": s.get("formula"), "n": s.get("n", len(pts)),
                    "min_x": s.get("min_x"), "max_x": s.get("max_x"), **value_range(pts),
                    "points": pts[:limit] if limit else pts})
    return out
