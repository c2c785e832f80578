"""Known gaps of nx-27017 that the application works around, pinned against mongomock as the oracle.

Each test shows the right answer (mongomock, and a real MongoDB when MONGODB_URI is set) and, on the
embedded server, the wrong one: if nx-27017 ever fixes a gap, the test says so and the workaround and
its README line can go. The README's "Known gaps" list names each of these.
"""

from __future__ import annotations

import datetime as dt
import os

import mongomock
import pymongo
import pytest

EMBEDDED = not os.environ.get("MONGODB_URI")
DOCS = [
    {"_id": "a", "label": "T-B1", "files": [{"path": "/srv/x.csv", "name": "x.csv"}], "meta": {"path": "/srv", "n": 1}},
    {"_id": "b", "label": "Z-9", "files": [], "meta": {"path": "/tmp", "n": 2}},
]


@pytest.fixture()
def dbs(server_uri):
    client = pymongo.MongoClient(server_uri)
    client.drop_database("conformance_gaps")
    real, oracle = client["conformance_gaps"], mongomock.MongoClient()["conformance_gaps"]
    for db in (real, oracle):
        db.t.insert_many([dict(d) for d in DOCS])
    yield real, oracle
    client.drop_database("conformance_gaps")
    client.close()


def test_distinct_ignores_a_regex_condition(dbs):
    """distinct() with a $regex filter returns every value on nx-27017 (the export plans with find instead)."""
    real, oracle = dbs
    query = {"label": {"$regex": "^T-B"}}
    assert oracle.t.distinct("label", query) == ["T-B1"]
    if EMBEDDED:
        assert sorted(real.t.distinct("label", query)) == ["T-B1", "Z-9"], "nx-27017 now honours $regex in distinct"
    assert [d["label"] for d in real.t.find(query, {"label": 1})] == ["T-B1"]  # the shape the app uses


@pytest.mark.parametrize("path", ["files.path", "meta.path"])
def test_dotted_exclusion_projection_is_ignored(dbs, path):
    """An exclusion of a dotted path is ignored on nx-27017 (the imports API drops server paths in Python)."""
    real, oracle = dbs
    head, tail = path.split(".")
    expected = oracle.t.find_one({"_id": "a"}, {path: 0})
    assert all(tail not in f for f in expected[head]) if head == "files" else tail not in expected[head]
    got = real.t.find_one({"_id": "a"}, {path: 0})
    if EMBEDDED:
        assert got == DOCS[0], "nx-27017 now honours dotted exclusions"
    else:
        assert got == expected


def test_dotted_inclusion_projection_comes_back_flat(dbs):
    """An inclusion of a dotted path comes back as one flat key on nx-27017 (``{"meta.path": ...}``),
    nested on MongoDB (Store.hidden_batches reads ``rollback.state`` either way)."""
    real, oracle = dbs
    expected = oracle.t.find_one({"_id": "a"}, {"meta.path": 1})
    assert expected == {"_id": "a", "meta": {"path": DOCS[0]["meta"]["path"]}}
    got = real.t.find_one({"_id": "a"}, {"meta.path": 1})
    if EMBEDDED:
        assert got == {"_id": "a", "meta.path": DOCS[0]["meta"]["path"]}, "nx-27017 now nests dotted inclusions"
    else:
        assert got == expected


def test_set_of_a_datetime_stores_a_string(dbs):
    """$set of a datetime comes back as a string on nx-27017; inserting or replacing the whole document
    keeps a BSON datetime (the runner and the importer write their batch and run documents whole)."""
    real, oracle = dbs
    when = dt.datetime(2026, 12, 1, 17, 0, 0)
    for db in (real, oracle):
        db.t.update_one({"_id": "a"}, {"$set": {"finished_at": when}})
        db.t.replace_one({"_id": "b"}, {**db.t.find_one({"_id": "b"}), "finished_at": when})
    assert oracle.t.find_one({"_id": "a"})["finished_at"] == when
    if EMBEDDED:
        assert isinstance(real.t.find_one({"_id": "a"})["finished_at"], str), "nx-27017 now keeps $set datetimes"
    assert real.t.find_one({"_id": "b"})["finished_at"] == when


def test_compound_unique_index_ignores_documents_missing_a_field(dbs):
    """A compound unique index treats a missing field as null on MongoDB (two documents without it
    and the same other keys clash) but as SQL NULL on nx-27017 (they do not), and nx-27017 ignores
    ``partialFilterExpression``. So the natural-key indexes ((source_key, label, shadow_batch) and
    the like, store/shadows.py) refuse a duplicate natural key on MongoDB only; on the embedded store
    the deterministic ``_id`` (a hash of the natural key) is what refuses it."""
    real, oracle = dbs
    for db in (real, oracle):
        db.u.create_index([("k", 1), ("label", 1), ("shadow_batch", 1)], unique=True)
        db.u.insert_one({"_id": "x", "k": 1, "label": "S1"})
        db.u.insert_one({"_id": "x~B", "k": 1, "label": "S1", "shadow_batch": "B"})  # a shadow: allowed everywhere
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            db.u.insert_one({"_id": "x~B2", "k": 1, "label": "S1", "shadow_batch": "B"})
    with pytest.raises(pymongo.errors.DuplicateKeyError):
        oracle.u.insert_one({"_id": "y", "k": 1, "label": "S1"})
    if EMBEDDED:
        real.u.insert_one({"_id": "y", "k": 1, "label": "S1"})  # the gap: accepted
        assert real.u.count_documents({"label": "S1"}) == 3, "nx-27017 now enforces missing fields as null"
    else:
        with pytest.raises(pymongo.errors.DuplicateKeyError):
            real.u.insert_one({"_id": "y", "k": 1, "label": "S1"})


def test_ne_inside_and_drops_documents_without_the_field_in_a_pipeline(dbs):
    """``$ne`` inside ``$and``, in a ``$match`` followed by another stage, drops the documents that lack
    the field on nx-27017 (MongoDB keeps them: a missing field is not equal to the value). The trends
    endpoints leave stale values out with ``$nin: [true]``, which both answer alike."""
    real, oracle = dbs
    for db in (real, oracle):
        db.s.insert_many([{"_id": "x", "stale": True, "v": 1}, {"_id": "y", "stale": False, "v": 2}, {"_id": "z", "v": 3}])

    def ids(db, cond):
        return [d["_id"] for d in db.s.aggregate([{"$match": {"$and": [{"v": {"$gte": 0}}, {"stale": cond}]}},
                                                  {"$sort": {"_id": 1}}])]
    assert ids(oracle, {"$ne": True}) == ids(oracle, {"$nin": [True]}) == ["y", "z"]
    if EMBEDDED:
        assert ids(real, {"$ne": True}) == ["y"], "nx-27017 now keeps documents without the field for $ne"
    assert ids(real, {"$nin": [True]}) == ["y", "z"]  # the shape the trends use (service/trends/views.trend_match)
