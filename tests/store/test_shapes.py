"""store.shapes: flattening and disjunctive normal form are pure rewrites (no database)."""

from __future__ import annotations

import mongomock
import pytest

from ionbase.store.shapes import branches, count_union, find_union, simplify


def test_simplify_flattens_and_merges_operators():
    q = {"$and": [{"name": "x"}, {"value": {"$gte": 1}}, {"$and": [{"value": {"$lt": 5}}, {"batch_id": {"$nin": ["b"]}}]}]}
    assert simplify(q) == {"name": "x", "value": {"$gte": 1, "$lt": 5}, "batch_id": {"$nin": ["b"]}}


def test_simplify_keeps_clashing_conditions_correct():
    q = {"$and": [{"value": {"$gte": 1}}, {"value": {"$gte": 2}}]}
    assert simplify(q) == {"$and": [{"value": {"$gte": 1}}, {"value": {"$gte": 2}}]}
    assert simplify({"$and": [{"a": 1}, {"a": 1}]}) == {"a": 1}


def test_branches_distribute_or():
    q = {"$and": [{"name": "x"}, {"$or": [{"a": 1}, {"b": {"$gt": 2}}]}, {"$or": [{"c": 1}, {"d": 1}]}]}
    assert branches(q) == [
        {"name": "x", "a": 1, "c": 1}, {"name": "x", "a": 1, "d": 1},
        {"name": "x", "b": {"$gt": 2}, "c": 1}, {"name": "x", "b": {"$gt": 2}, "d": 1},
    ]
    big = {"$and": [{"$or": [{f"k{i}": 1}, {f"m{i}": 1}]} for i in range(6)]}
    assert branches(big) is None, "64 branches: too many, one query instead"


DOCS = [{"_id": f"d{i}", "v": (i * 7) % 10, "f": "a" if i % 3 else "b", **({"x": i % 4} if i % 5 else {})} for i in range(30)]


@pytest.mark.parametrize("query", [
    {"$or": [{"f": "a", "v": {"$gte": 5}}, {"f": "b"}]},
    {"$and": [{"v": {"$lt": 8}}, {"$or": [{"x": {"$exists": False}}, {"x": {"$gte": 2}}]}]},
    {"$or": [{"v": 3}, {"v": {"$gte": 3, "$lt": 6}}]},  # overlapping branches
])
@pytest.mark.parametrize("sort", [[("v", -1), ("_id", 1)], [("x", 1), ("_id", 1)], [("x", -1), ("v", 1), ("_id", -1)]])
def test_union_equals_one_query_in_order(query, sort):
    coll = mongomock.MongoClient().db.c
    coll.insert_many([dict(d) for d in DOCS])
    want = [d["_id"] for d in coll.find(query).sort(sort).limit(9)]
    assert [d["_id"] for d in find_union(coll, query, sort, 9)] == want
    assert count_union(coll, query) == coll.count_documents(query)
