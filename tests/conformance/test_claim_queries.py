"""The query and write shapes of the claims and batch protocol (store/claims.py, store/batches.py):
nx-27017 (or MONGODB_URI) against mongomock as the oracle."""

from __future__ import annotations

import datetime as dt

import mongomock
import pymongo
import pytest
from pymongo.errors import BulkWriteError

from ionbase.store import claims

CLAIMS = [
    {"_id": "properties:p1", "doc": "properties:p1", "batch_id": "A", "mode": "x"},
    {"_id": "materials:m1#A", "doc": "materials:m1", "batch_id": "A", "mode": "s"},
    {"_id": "materials:m1#B", "doc": "materials:m1", "batch_id": "B", "mode": "s"},
    {"_id": "properties:p2", "doc": "properties:p2", "batch_id": "C", "mode": "x"},
]
BATCHES = [
    {"_id": "A", "status": "pending", "started_at": dt.datetime(2026, 1, 1, 10, 0, 0)},
    {"_id": "B", "status": "committed", "rollback": {"state": "done"}},
    {"_id": "C", "status": "committed", "rollback": {"state": "running"}},
    {"_id": "D", "status": "failed"},
]


@pytest.fixture()
def dbs(server_uri):
    client = pymongo.MongoClient(server_uri, tz_aware=False)
    client.drop_database("conformance_claims")
    real, oracle = client["conformance_claims"], mongomock.MongoClient()["conformance_claims"]
    for db in (real, oracle):
        db.import_claims.create_index("doc")
        db.import_claims.create_index("batch_id")
        db.import_claims.insert_many([dict(d) for d in CLAIMS])
        db.import_batches.insert_many([dict(d) for d in BATCHES])
    yield real, oracle
    client.drop_database("conformance_claims")
    client.close()


def _ids(cursor) -> list[str]:
    return sorted(d["_id"] for d in cursor)


@pytest.mark.parametrize("query", [
    {"doc": {"$in": ["materials:m1", "properties:p2", "properties:nope"]}},
    {"_id": {"$in": ["A", "B", "C", "D", "E"]}, "status": {"$in": ["committed", "failed", "rolled_back"]},
     "rollback.state": {"$ne": "running"}},
    {"_id": {"$in": ["A", "B"]}, "status": {"$in": ["pending", "committing"]}},
    {"rollback.state": "running"},
    # Store.hidden_batches: uncommitted, committing or being rolled back
    {"$or": [{"status": {"$in": ["pending", "failed", "rolled_back", "committing"]}}, {"rollback.state": "running"}]},
])
def test_claim_and_batch_queries(dbs, query):
    real, oracle = dbs
    coll = "import_claims" if "doc" in query else "import_batches"
    assert _ids(real[coll].find(query)) == _ids(oracle[coll].find(query))


def test_batch_states_projection(dbs):
    """Store.hidden_batches projects the status and the rollback's state (a dotted inclusion, which
    nx-27017 returns flat: test_known_gaps.py) and reads it either way."""
    from ionbase.store import _rollback_state

    query = {"$or": [{"status": {"$in": ["pending", "committing"]}}, {"rollback.state": "running"}]}
    proj = {"_id": 1, "status": 1, "rollback.state": 1}
    for db in dbs:
        got = sorted(db.import_batches.find(query, proj), key=lambda d: d["_id"])
        assert [(d["_id"], d["status"], _rollback_state(d)) for d in got] == [("A", "pending", None),
                                                                               ("C", "committed", "running")]


def test_distinct_batch_ids_of_claims(dbs):
    real, oracle = dbs
    assert sorted(real.import_claims.distinct("batch_id")) == sorted(oracle.import_claims.distinct("batch_id")) == ["A", "B", "C"]


def test_a_second_exclusive_claim_is_refused_by_the_unique_id(dbs):
    """The conditional write of a claim: an unordered insert reports the duplicate and inserts the rest."""
    for db in dbs:
        with pytest.raises(BulkWriteError) as err:
            db.import_claims.insert_many([{"_id": "properties:p1", "doc": "properties:p1", "batch_id": "Z", "mode": "x"},
                                          {"_id": "properties:p3", "doc": "properties:p3", "batch_id": "Z", "mode": "x"}],
                                         ordered=False)
        assert [e["code"] for e in err.value.details["writeErrors"]] == [11000]
        assert db.import_claims.find_one({"_id": "properties:p1"})["batch_id"] == "A"
        assert db.import_claims.find_one({"_id": "properties:p3"})["batch_id"] == "Z"


def test_write_batch_keeps_datetimes_and_is_conditional(dbs):
    """Batch documents are rewritten whole (a datetime set by $set comes back a string on nx-27017),
    and only while their status is the expected one (the commit point and the discard)."""
    for db in dbs:
        when = dt.datetime(2026, 1, 1, 11, 30, 5)
        assert claims.write_batch(db, "A", {"status": "committing", "finished_at": when}, expect=("pending",))
        assert not claims.write_batch(db, "A", {"status": "failed"}, expect=("pending",))
        doc = db.import_batches.find_one({"_id": "A"})
        assert doc["status"] == "committing" and doc["finished_at"] == when and isinstance(doc["started_at"], dt.datetime)


def test_heartbeat_is_a_number(dbs):
    real, _ = dbs
    claims.heartbeat(real, "A")
    assert isinstance(real.import_batches.find_one({"_id": "A"})["options"]["heartbeat"], float)
