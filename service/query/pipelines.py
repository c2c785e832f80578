"""Aggregation pipelines of the standing-question endpoints (pure functions, conformance-tested).

Each trend runs two pipelines: ``points`` ($match, $sort, $project: one row per property with the
group key and x renamed to flat names) and ``summary`` ($match, $group with scalar accumulators:
count, min/max of x and value, first formula per group). Points are grouped in Python.

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
    """One row per matching property: {_id, group, x, value, sample, sample_label, formula}."""
    return [
        _match(match, xpath, gpath),
        {"$sort": {gpath: 1, xpath: 1, "_id": 1}},
        {"$project": {"group": "$" + gpath, "x": "$" + xpath, "value": 1, "sample": 1, "sample_label": 1, "formula": 1}},
    ]


def trend_summary_pipeline(match: dict, xpath: str, gpath: str) -> list[dict]:
    """Per group: n, x range, value range, a formula."""
    return [
        _match(match, xpath, gpath),
        {"$group": {
            "_id": "$" + gpath,
            "n": {"$sum": 1},
            "min_x": {"$min": "$" + xpath},
            "max_x": {"$max": "$" + xpath},
            "min_value": {"$min": "$value"},
            "max_value": {"$max": "$value"},
            "formula": {"$first": "$formula"},
        }},
        {"$sort": {"_id": 1}},
    ]


def synthesis_paths(parameter: str, group_by: str) -> tuple[str, str]:
    return FIELDS[parameter].path, GROUP_KEYS[group_by]


def group_points(rows: list[dict], summaries: list[dict], limit: int | None = None) -> list[dict]:
    """Combine point rows and group summaries into ``[{key, formula, n, min/max, points}]``."""
    by_group: dict = {}
    for r in rows:
        by_group.setdefault(r.get("group"), []).append({
            "id": r["_id"], "sample_id": r.get("sample"), "sample": r.get("sample_label"), "x": r.get("x"),
            "value": r.get("value"), "formula": r.get("formula"),
        })
    out = []
    for s in summaries:
        pts = sorted(by_group.get(s["_id"], []), key=lambda p: (p["x"], p["id"]))
        out.append({"key": s["_id"], "formula": s.get("formula"), "n": s.get("n", len(pts)),
                    "min_x": s.get("min_x"), "max_x": s.get("max_x"),
                    "min_value": s.get("min_value"), "max_value": s.get("max_value"),
                    "points": pts[:limit] if limit else pts})
    return out
