"""Pure tests of the query builders (no database)."""

from __future__ import annotations

import copy

import pytest

from ionbase.errors import InvalidRequest as BadRequest
from ionbase.service.errors import http_error_for
from ionbase.service.query import cursor as C
from ionbase.service.query.fields import FIELDS, OUTPUT_FIELDS
from ionbase.service.query.filter import MAX_FILTER_LENGTH, parse_filter
from ionbase.service.query.pipelines import group_points, trend_points_pipeline, trend_summary_pipeline
from ionbase.service.query.properties import build_property_query, parse_fields

EXAMPLE = ('property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 AND elements HAS "Na" '
           "AND milling_time_h>=4 AND max_anneal_c<=300")


def _ops(q):
    """Every key anywhere in a query."""
    if isinstance(q, dict):
        for k, v in q.items():
            yield k
            yield from _ops(v)
    elif isinstance(q, list):
        for v in q:
            yield from _ops(v)


def test_example_filter_maps_fields_and_anneal_semantics():
    q = parse_filter(EXAMPLE)
    # one flat document: the embedded store evaluates $and/$or in Python (store.shapes); "never
    # annealed above 300" is one range on anneal_ceiling_c (max anneal T, or 25 °C without an anneal)
    assert q == {
        "name": {"$eq": "ionic_conductivity"},
        "temperature_c": {"$eq": 25},
        "value": {"$gte": 0.0001},
        "elements": {"$in": ["Na"]},
        "synthesis.milling_time_h": {"$gte": 4},
        "synthesis.anneal_ceiling_c": {"$lte": 300},
    }


@pytest.mark.parametrize("text,expected", [
    ("max_anneal_c<300", {"synthesis.anneal_ceiling_c": {"$lt": 300}}),
    ("max_anneal_c>=300", {"synthesis.max_anneal_c": {"$gte": 300}}),
    ("NOT max_anneal_c>300", {"synthesis.anneal_ceiling_c": {"$lte": 300}}),
    ('annealed="false"', {"synthesis.annealed": {"$eq": False}}),  # known routes only (was $ne: true)
    ('stale="false"', {"stale": {"$ne": True}}),  # absent means not stale
    ('annealed!="false"', {"synthesis.annealed": {"$eq": True, "$exists": True}}),
    ("stale=1", {"stale": {"$eq": True}}),
    ('method="EIS"', {"conditions.method": {"$eq": "EIS"}}),
    ("current_density>0.1", {"conditions.current_density": {"$gt": 0.1}}),
    ("cycle_number=100", {"conditions.cycle_number": {"$eq": 100}}),
    ('series="Na3-xIn1-xZrxCl6" AND x>=0.5', {"series_name": {"$eq": "Na3-xIn1-xZrxCl6"}, "series_value": {"$gte": 0.5}}),
    ('sample="a"', {"sample_label": {"$eq": "a"}}),
    ('sample_id="smp-1"', {"sample": {"$eq": "smp-1"}}),
    ("elements LENGTH 3", {"nelements": {"$eq": 3}}),
    ("elements LENGTH >= 4", {"nelements": {"$gte": 4}}),
    ('elements HAS ALL "Na","Cl"', {"elements": {"$all": ["Na", "Cl"]}}),
    ('elements HAS ANY "Na","Li"', {"elements": {"$in": ["Na", "Li"]}}),
    ("x IS KNOWN", {"series_value": {"$exists": True}}),
    ("value != 3", {"value": {"$ne": 3, "$exists": True}}),
    ('sample CONTAINS ".*"', {"sample_label": {"$regex": r"\.\*"}}),
    ('sample STARTS WITH "NCB"', {"sample_label": {"$regex": "^NCB"}}),
    ('doi ENDS "1"', {"doi": {"$regex": "1$"}}),
])
def test_filter_translations(text, expected):
    assert parse_filter(text) == expected


def test_parsed_filters_are_fresh_copies_of_the_cache():
    """Callers add conditions to the query they get (cursor, visibility); the cached parse must not change."""
    text = 'elements HAS ANY "Na","Li" AND (value > 1 OR x IS KNOWN)'
    first = parse_filter(text)
    expected = copy.deepcopy(first)
    first["injected"] = 1
    for node in _nodes(first):
        if isinstance(node, dict):
            node["injected"] = 1
        elif isinstance(node, list):
            node.append("injected")
    assert parse_filter(text) == expected


def _nodes(tree):
    """Every dict and list inside ``tree`` (``tree`` included)."""
    if isinstance(tree, dict):
        yield tree
        for v in list(tree.values()):
            yield from _nodes(v)
    elif isinstance(tree, list):
        yield tree
        for v in list(tree):
            yield from _nodes(v)


def test_has_only_uses_complement_not_not():
    q = parse_filter('elements HAS ONLY "Na","Cl"')
    assert "$not" not in set(_ops(q))
    nin = q["elements"]["$nin"]
    assert q["nelements"] == {"$gte": 1}
    assert "Na" not in nin and "Cl" not in nin and "Li" in nin


@pytest.mark.parametrize("text", [
    EXAMPLE, "NOT value > 3", 'NOT (family="halide" OR value < 1)', 'NOT elements HAS "Na"', "x IS UNKNOWN",
    'elements HAS ONLY "Na","B","C","H"', "value != 1",
])
def test_only_whitelisted_operators_are_emitted(text):
    from ionbase.service.query.filter import ALLOWED_OPERATORS

    ops = {k for k in _ops(parse_filter(text)) if k.startswith("$")}
    assert ops <= ALLOWED_OPERATORS
    assert "$not" not in ops and "$where" not in ops


@pytest.mark.parametrize("text,needle", [
    ("foo=1", "unknown field 'foo'"),
    ("value >> 3", "syntax error"),
    ('value="abc"', "is a number"),
    ("family=3", "is text"),
    ("value = sample", "comparing two fields"),
    ('NOT sample CONTAINS "x"', "NOT is not supported"),
    ('annealed="maybe"', "true or false"),
    ("value > 1e999", "finite"),
    ('$where="1"', "'$' is not allowed"),
    ('sample="$gt"', "'$' is not allowed"),
    ("(" * 30 + "value>1" + ")" * 30, "nested"),
    ("value>1 AND " * 300 + "value>1", "too many comparisons"),
    ('step_types LENGTH 2', "LENGTH is only supported"),
])
def test_filter_errors_are_400_with_details(text, needle):
    with pytest.raises(BadRequest) as info:
        parse_filter(text)
    assert http_error_for(info.value).status == 400
    assert needle in info.value.message, info.value.message
    assert "filter" in info.value.errors


def test_filter_error_positions():
    with pytest.raises(BadRequest) as info:
        parse_filter('value > 1 AND bogus = "x"')
    f = info.value.errors["filter"]
    assert f["position"] == 14 and f["column"] == 15 and f["line"] == 1
    with pytest.raises(BadRequest) as info:
        parse_filter("value >> 3")
    assert info.value.errors["filter"]["position"] == 7


def test_filter_length_cap():
    with pytest.raises(BadRequest):
        parse_filter("value>1 OR " * (MAX_FILTER_LENGTH // 10) + "value>1")


def test_every_field_path_is_a_document_field():
    from ionbase.schemas.documents import Property

    for f in FIELDS.values():
        top = f.path.split(".")[0]
        assert top == "_id" or top in Property._fields, f
    for name in OUTPUT_FIELDS:
        assert name == "id" or name in Property._fields


def test_sort_parsing_and_whitelist():
    assert C.parse_sort("-value,temperature_c") == [("value", -1), ("temperature_c", 1), ("_id", 1)]
    assert C.parse_sort(None) == [("_id", 1)]
    assert C.parse_sort("-id") == [("_id", -1)]
    for bad in ("elements", "nope", "value,value", "a,b,c,d,e"):
        with pytest.raises(BadRequest):
            C.parse_sort(bad)


def test_keyset_condition_shapes():
    spec = [("value", -1), ("temperature_c", 1), ("_id", 1)]
    cond = C.keyset_condition(spec, [1.0, None, "p5"])
    assert cond == {"$or": [
        {"$or": [{"value": {"$lt": 1.0}}, {"value": {"$exists": False}}]},
        {"$and": [{"value": 1.0}, {"temperature_c": {"$exists": True}}]},
        {"$and": [{"value": 1.0}, {"temperature_c": {"$exists": False}}, {"_id": {"$gt": "p5"}}]},
    ]}


def test_cursor_roundtrip_and_tamper():
    spec = C.parse_sort("-value")
    tok = C.encode_cursor(spec, {"_id": "p1", "value": 2.0}, "fp")
    assert C.decode_cursor(tok, spec, "fp") == [2.0, "p1"]
    for bad in ("!!!", "e30", tok[:-3]):
        with pytest.raises(BadRequest):
            C.decode_cursor(bad, spec, "fp")
    with pytest.raises(BadRequest):
        C.decode_cursor(tok, spec, "other-query")
    with pytest.raises(BadRequest):
        C.decode_cursor(tok, C.parse_sort("value"), "fp")


def test_fields_and_projection():
    assert parse_fields("name,value,sample_label") == ["name", "value", "sample_label"]
    assert parse_fields("milling_time_h") == ["synthesis"]
    with pytest.raises(BadRequest):
        parse_fields("name,$where")
    pq = build_property_query(None, "-value", "name", None)
    assert pq.projection == {"_id": 1, "name": 1, "value": 1}
    assert all("." not in k for k in pq.projection)


def test_trend_pipelines_and_grouping():
    p = trend_points_pipeline({"name": "ionic_conductivity"}, "synthesis.milling_time_h", "material_id")
    assert [list(stage)[0] for stage in p] == ["$match", "$sort", "$project"]
    g = trend_summary_pipeline({"name": "ionic_conductivity"}, "synthesis.milling_time_h", "material_id")
    assert [list(stage)[0] for stage in g] == ["$match", "$group", "$sort"] and g[1]["$group"]["_id"] == "$material_id"
    rows = [{"_id": "b", "group": "m1", "x": 2.0, "value": 5.0, "sample": "s2", "sample_label": "L2"},
            {"_id": "a", "group": "m1", "x": 1.0, "value": 4.0, "sample": "s1", "sample_label": "L1"}]
    out = group_points(rows, [{"_id": "m1", "n": 2, "formula": "X"}])
    assert [p["id"] for p in out[0]["points"]] == ["a", "b"] and out[0]["points"][0]["sample"] == "L1"
