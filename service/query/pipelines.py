"""Aggregation pipelines of the standing-question endpoints (pure functions, conformance-tested).

The embedded store's ``$group`` supports scalar group keys and ``$push`` of scalar fields (it
serialises pushed sub-documents as text and loses compound ``_id`` keys), so points are pushed as
parallel arrays and zipped in Python; ``$match`` requires the pushed fields to exist so that the
arrays stay aligned.
"""

from __future__ import annotations

from service.query.fields import FIELDS

GROUP_KEYS = {"material": "material_id", "series": "series_name", "family": "family", "doi": "doi"}


def synthesis_trend_pipeline(match: dict, parameter: str, group_by: str) -> list[dict]:
    """Points (sample, parameter value, property value) grouped by ``group_by``."""
    ppath = FIELDS[parameter].path
    gpath = GROUP_KEYS[group_by]
    return [
        {"$match": {"$and": [match, {ppath: {"$exists": True}}, {gpath: {"$exists": True}}]}},
        {"$sort": {ppath: 1, "_id": 1}},
        {
            "$group": {
                "_id": "$" + gpath,
                "n": {"$sum": 1},
                "ids": {"$push": "$_id"},
                "samples": {"$push": "$sample"},
                "labels": {"$push": "$sample_label"},
                "x": {"$push": "$" + ppath},
                "y": {"$push": "$value"},
                "formula": {"$first": "$reduced_formula"},
                "min_y": {"$min": "$value"},
                "max_y": {"$max": "$value"},
            }
        },
        {"$sort": {"_id": 1}},
    ]


def composition_trend_pipeline(match: dict) -> list[dict]:
    """Property against the series parameter x, one group per series."""
    return [
        {"$match": {"$and": [match, {"series_value": {"$exists": True}}, {"series_name": {"$exists": True}}]}},
        {"$sort": {"series_value": 1, "_id": 1}},
        {
            "$group": {
                "_id": "$series_name",
                "n": {"$sum": 1},
                "ids": {"$push": "$_id"},
                "samples": {"$push": "$sample"},
                "labels": {"$push": "$sample_label"},
                "x": {"$push": "$series_value"},
                "y": {"$push": "$value"},
                "formulas": {"$push": "$reduced_formula"},
            }
        },
        {"$sort": {"_id": 1}},
    ]


def zip_points(group: dict, keys: tuple[str, ...] = ("ids", "samples", "labels", "x", "y")) -> list[dict]:
    """Turn a group's parallel arrays into point dicts (sorted by x, then id)."""
    names = {"ids": "id", "samples": "sample_id", "labels": "sample", "x": "x", "y": "value", "formulas": "formula"}
    cols = [group.get(k) or [] for k in keys]
    n = min(len(c) for c in cols) if cols else 0
    pts = [{names[k]: col[i] for k, col in zip(keys, cols)} for i in range(n)]
    pts.sort(key=lambda p: (p["x"], p["id"]))
    return pts
