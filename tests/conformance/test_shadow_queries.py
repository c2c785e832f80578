"""The query and write shapes of changed documents written beside the old ones (store/shadows.py):
each batch state's view, run on nx-27017 (or MONGODB_URI) and on mongomock as the oracle, and the
answer a reader must get in that state."""

from __future__ import annotations

import copy
import re

import mongomock
import pymongo
import pytest

from ionbase.store.shadows import SEP, SHADOW, SUPERSEDED, View, apply_view, batch_view_of, shadow_id, unmark

# p1 changed by batch B (its shadow p1<SEP>B), p2 untouched, p3 new in B, p4 of a failed batch F
DOCS = [
    {"_id": "prop-1", "value": 1.0, "sample": "s1", "batch_id": "A", SUPERSEDED: "B"},
    {"_id": shadow_id("prop-1", "B"), "value": 2.0, "sample": "s1", "batch_id": "B", SHADOW: "B"},
    {"_id": "prop-2", "value": 5.0, "sample": "s1", "batch_id": "A"},
    {"_id": "prop-3", "value": 7.0, "sample": "s2", "batch_id": "B"},
    {"_id": shadow_id("prop-4", "F"), "value": 9.0, "sample": "s2", "batch_id": "F", SHADOW: "F"},
]
PENDING = batch_view_of([{"_id": "B", "status": "pending"}, {"_id": "F", "status": "failed", "shadows": "staged"}])
LIVE = batch_view_of([{"_id": "B", "status": "committing", "shadows": "live"}, {"_id": "F", "status": "failed", "shadows": "staged"}])
DEAD = batch_view_of([{"_id": "B", "status": "committing", "shadows": "dead"}, {"_id": "F", "status": "failed", "shadows": "staged"}])

# (view, query, including pending, the (id, value) pairs a reader must get)
CASES = [
    ("pending", PENDING, {}, False, [("prop-1", 1.0), ("prop-2", 5.0)]),
    ("pending, including pending", PENDING, {}, True, [("prop-1", 1.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    ("pending, by id", PENDING, {"_id": "prop-1"}, False, [("prop-1", 1.0)]),
    ("live", LIVE, {}, False, [("prop-1", 2.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, by id", LIVE, {"_id": "prop-1"}, False, [("prop-1", 2.0)]),
    ("live, ids $in", LIVE, {"_id": {"$in": ["prop-1", "prop-2"]}}, False, [("prop-1", 2.0), ("prop-2", 5.0)]),
    ("live, id $ne", LIVE, {"_id": {"$ne": "prop-1"}}, False, [("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, keyset after prop-1", LIVE, {"_id": {"$gt": "prop-1"}}, False, [("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, keyset up to prop-1", LIVE, {"_id": {"$lte": "prop-1"}}, False, [("prop-1", 2.0)]),
    ("live, keyset in $or", LIVE, {"$or": [{"value": {"$gt": 2.0}}, {"value": 2.0, "_id": {"$gt": "prop-1"}}]}, False,
     [("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, value filter", LIVE, {"value": {"$gte": 2.0, "$lt": 6.0}}, False, [("prop-1", 2.0), ("prop-2", 5.0)]),
    ("live, including pending", LIVE, {}, True, [("prop-1", 2.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    # the API's id CONTAINS / STARTS WITH / ENDS WITH (re.escape'd literal text, service/query/filter.py)
    ("live, id ENDS WITH", LIVE, {"_id": {"$regex": re.escape("p-1") + "$"}}, False, [("prop-1", 2.0)]),
    ("live, id equals as a regex", LIVE, {"_id": {"$regex": "^" + re.escape("prop-1") + "$"}}, False, [("prop-1", 2.0)]),
    ("live, id STARTS WITH", LIVE, {"_id": {"$regex": "^" + re.escape("prop-")}}, False,
     [("prop-1", 2.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, id CONTAINS", LIVE, {"_id": {"$regex": re.escape("op-1")}}, False, [("prop-1", 2.0)]),
    ("live, id CONTAINS the separator", LIVE, {"_id": {"$regex": re.escape(SEP)}}, False, []),
    # an id range whose bound is a prefix of ids (review finding: X + "~~" sorted after every id starting with X)
    ("live, id > a prefix", LIVE, {"_id": {"$gt": "prop-"}}, False, [("prop-1", 2.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, id > a prefix of one id", LIVE, {"_id": {"$gt": "prop-1"}}, False, [("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, id <= a prefix", LIVE, {"_id": {"$lte": "prop-"}}, False, []),
    ("live, id <= an id", LIVE, {"_id": {"$lte": "prop-2"}}, False, [("prop-1", 2.0), ("prop-2", 5.0)]),
    ("live, id >= an id", LIVE, {"_id": {"$gte": "prop-1"}}, False, [("prop-1", 2.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, id < an id", LIVE, {"_id": {"$lt": "prop-2"}}, False, [("prop-1", 2.0)]),
    ("live, id between prefixes", LIVE, {"_id": {"$gt": "prop-1", "$lte": "prop-3"}}, False, [("prop-2", 5.0), ("prop-3", 7.0)]),
    ("live, id CONTAINS a batch id", LIVE, {"_id": {"$regex": re.escape("B")}}, False, []),
    ("live, a shadow's own id", LIVE, {"_id": shadow_id("prop-1", "B")}, False, []),
    ("dead (old document settled)", DEAD, {}, False, [("prop-1", 2.0), ("prop-2", 5.0), ("prop-3", 7.0)]),
    ("dead, by id", DEAD, {"_id": "prop-1"}, False, [("prop-1", 2.0)]),
]


@pytest.fixture()
def dbs(server_uri):
    client = pymongo.MongoClient(server_uri, tz_aware=False)
    client.drop_database("conformance_shadows")
    real, oracle = client["conformance_shadows"], mongomock.MongoClient()["conformance_shadows"]
    yield real, oracle
    client.drop_database("conformance_shadows")
    client.close()


def _load(db, dead: bool) -> None:
    docs = copy.deepcopy(DOCS)
    if dead:  # the settle step overwrote prop-1 with its shadow's version, still marked
        docs[0] = {"_id": "prop-1", "value": 2.0, "sample": "s1", "batch_id": "B", SUPERSEDED: "B"}
    db.p.insert_many(docs)


@pytest.mark.parametrize("name,view,query,pending,expected", CASES, ids=[c[0] for c in CASES])
def test_each_state_shows_one_version(dbs, name, view, query, pending, expected):
    sent = apply_view(view, query, including_pending=pending)
    answers = []
    for db in dbs:
        _load(db, view is DEAD)
        answers.append(sorted((d["_id"], d["value"]) for d in view.documents(db.p.find(sent, {"value": 1}))))
    assert answers[0] == answers[1] == expected, sent


@pytest.mark.parametrize("projection", [{"_id": 1}, {"value": 1}, {"value": 0}, {"_id": 0}, None])
def test_every_projection_maps_a_shadow_back(dbs, projection):
    """Only ids asked for (``{"_id": 1}``) must come back as the natural id too."""
    sent = apply_view(LIVE, {"_id": "prop-1"})
    for db in dbs:
        _load(db, False)
        got = list(LIVE.documents(db.p.find(sent, projection)))
        assert len(got) == 1 and got[0].get("_id", "prop-1") == "prop-1" and SHADOW not in got[0], got
        assert got[0].get("value", 2.0) == 2.0


def test_a_pipeline_that_drops_the_shadow_field_still_gets_natural_ids(dbs):
    """A ``$project`` after the ``$match`` (the trends' pipelines) drops ``shadow_batch``: the id of a live
    batch's shadow is still mapped back (review finding)."""
    sent = apply_view(LIVE, {"sample": "s1"})
    for db in dbs:
        _load(db, False)
        got = list(LIVE.documents(db.p.aggregate([{"$match": sent}, {"$project": {"value": 1}}])))
        assert sorted((d["_id"], d["value"]) for d in got) == [("prop-1", 2.0), ("prop-2", 5.0)]


def test_sorted_by_id_a_shadow_takes_its_documents_place(dbs):
    """A shadow id sorts right after ``X`` and before every longer id starting with ``X``."""
    sent = apply_view(LIVE, {})
    for db in dbs:
        _load(db, False)
        assert [d["_id"] for d in LIVE.documents(db.p.find(sent).sort("_id", 1))] == ["prop-1", "prop-2", "prop-3"]


def test_whole_documents_lose_the_bookkeeping(dbs):
    for db in dbs:
        _load(db, False)
        got = [unmark(d) for d in db.p.find({"_id": {"$in": ["prop-1", shadow_id("prop-1", "B")]}}).sort("_id", 1)]
        assert got == [{"_id": "prop-1", "value": 1.0, "sample": "s1", "batch_id": "A"},
                       {"_id": "prop-1", "value": 2.0, "sample": "s1", "batch_id": "B"}]


def test_settle_and_drop_writes(dbs):
    """The writes of store.batches: mark superseded, overwrite from the shadow, delete the shadows,
    unset the marks of one batch only."""
    for db in dbs:
        db.p.insert_many([{"_id": "prop-1", "value": 1.0}, {"_id": "prop-2", "value": 5.0, SUPERSEDED: "Z"}])
        db.p.update_many({"_id": {"$in": ["prop-1"]}}, {"$set": {SUPERSEDED: "B"}})
        db.p.insert_many([{"_id": shadow_id("prop-1", "B"), "value": 2.0, SHADOW: "B"}], ordered=False)
        db.p.replace_one({"_id": "prop-1"}, {"_id": "prop-1", "value": 2.0, SUPERSEDED: "B"}, upsert=True)
        db.p.delete_many({"_id": {"$in": [shadow_id("prop-1", "B")]}})
        db.p.update_many({"_id": {"$in": ["prop-1", "prop-2"]}, SUPERSEDED: "B"}, {"$unset": {SUPERSEDED: ""}})
        assert sorted(db.p.find(), key=lambda d: d["_id"]) == [{"_id": "prop-1", "value": 2.0},
                                                                {"_id": "prop-2", "value": 5.0, SUPERSEDED: "Z"}]


def test_quiet_states_add_nothing_but_the_hidden_batches():
    """With no import running, reads send what they sent before shadows existed."""
    quiet = batch_view_of([{"_id": "F", "status": "failed", "shadows": "removed"}, {"_id": "R", "status": "rolled_back"}])
    assert quiet == View(hidden=("F", "R"))
    assert apply_view(quiet, {"name": "x"}) == {"name": "x", "batch_id": {"$nin": ["F", "R"]}}
    assert apply_view(quiet, {"_id": "x"}, including_pending=True) == {"_id": "x"}


@pytest.mark.parametrize("literal", ["8abf", "a\\", "\\", "a$", "x.y"])
def test_ends_with_any_literal_also_matches_the_live_shadow(literal):
    """ENDS WITH of a literal ending in a backslash is rewritten too (its ``$`` is not escaped; review)."""
    pattern = re.escape(literal) + "$"
    regex = LIVE.ids({"_id": {"$regex": pattern}})["_id"]["$regex"]
    natural = "prop-" + literal
    assert re.search(regex, natural) and re.search(regex, shadow_id(natural, "B"))
    assert not re.search(regex, shadow_id(natural, "B") + "x") and not re.search(regex, natural + "x")
