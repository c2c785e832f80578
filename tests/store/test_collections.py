"""The typed collections over the wire: visibility by default, explicit opt-out, one chunk reassembly."""

from __future__ import annotations

import pytest

from ionbase.store import Store
from ionbase.store.collections import NAMES, Collection


@pytest.fixture()
def loaded(store):
    db = store.db
    db.import_batches.insert_many([{"_id": "b-ok", "status": "committed"}, {"_id": "b-pend", "status": "pending"},
                                   {"_id": "b-fail", "status": "failed"}])
    db.properties.insert_many([
        {"_id": "p1", "name": "ionic_conductivity", "value": 1e-3, "sample": "s1", "batch_id": "b-ok"},
        {"_id": "p2", "name": "ionic_conductivity", "value": 2e-3, "sample": "s1", "batch_id": "b-pend"},
        {"_id": "p3", "name": "activation_energy", "value": 0.3, "sample": "s1", "origin": "derived"},
        {"_id": "p4", "name": "ionic_conductivity", "value": 3e-3, "sample": "s2", "batch_id": "b-fail"},
    ])
    # chunks written out of order, one of them in a hidden batch
    db.measurement_arrays.insert_many([
        {"_id": "m1:1", "measurement": "m1", "chunk": 1, "batch_id": "b-ok", "arrays": {"frequency": [10.0], "z_real": [3.0]}},
        {"_id": "m1:0", "measurement": "m1", "chunk": 0, "batch_id": "b-ok", "arrays": {"frequency": [1e6, 1e5], "z_real": [1.0, 2.0]}},
        {"_id": "m2:0", "measurement": "m2", "chunk": 0, "batch_id": "b-pend", "arrays": {"frequency": [1.0]}},
    ])
    return store


def _ids(docs):
    return sorted(d["_id"] for d in docs)


def test_every_collection_has_an_attribute(store):
    for name in NAMES:
        assert isinstance(getattr(store, name), Collection) and getattr(store, name).name == name
    assert {n for n in NAMES} <= set(vars(Store))


def test_unknown_collection_is_refused(store):
    with pytest.raises(ValueError, match="unknown collection 'propertys'"):
        store.collection("propertys")


def test_reads_hide_uncommitted_batches_by_default(loaded):
    p = loaded.properties
    assert _ids(p.find({"name": "ionic_conductivity"})) == ["p1"]
    assert p.count({"name": "ionic_conductivity"}) == 1
    assert p.get("p2") is None and p.get("p1")["value"] == 1e-3
    assert _ids(p.by_ids(["p1", "p2", "p3", "p4"])) == ["p1", "p3"]
    assert [d["_id"] for d in p.page({"$or": [{"sample": "s2"}, {"name": "ionic_conductivity"}]}, [("_id", 1)], 10)] == ["p1"]


def test_including_pending_is_the_explicit_opt_out(loaded):
    p = loaded.properties.including_pending()
    assert _ids(p.find({"name": "ionic_conductivity"})) == ["p1", "p2", "p4"]
    assert p.count({"$or": [{"sample": "s2"}, {"value": 2e-3}]}) == 2


def test_aggregate_puts_visibility_into_the_first_match(loaded):
    rows = loaded.properties.aggregate([{"$match": {"$and": [{"sample": "s1"}, {"value": {"$exists": True}}]}},
                                        {"$group": {"_id": "$sample", "n": {"$sum": 1}}}])
    assert rows == [{"_id": "s1", "n": 2}]  # p1 and p3; p2 is pending
    with pytest.raises(ValueError, match="must start with \\$match"):
        loaded.properties.aggregate([{"$group": {"_id": "$sample"}}])


def test_arrays_are_reassembled_in_chunk_order_and_hidden_chunks_stay_hidden(loaded):
    a = loaded.measurement_arrays.arrays("m1")
    assert a.names == ["frequency", "z_real"]
    assert a.arrays == {"frequency": [1e6, 1e5, 10.0], "z_real": [1.0, 2.0, 3.0]}
    assert a.chunk_ids == ["m1:0", "m1:1"]
    assert loaded.measurement_arrays.arrays("m2").arrays == {}
    assert loaded.measurement_arrays.including_pending().arrays("m2").arrays == {"frequency": [1.0]}
    with pytest.raises(ValueError, match="reads measurement_arrays"):
        loaded.measurements.arrays("m1")


def test_writes_name_their_documents(loaded):
    props = loaded.properties
    assert props.upsert_many([{"_id": "d1", "name": "x", "value": 1.0}, {"_id": "p1", "name": "y", "value": 2.0}], chunk=1) == 2
    assert props.get("p1") == {"_id": "p1", "name": "y", "value": 2.0}  # replaced whole: batch id gone
    assert props.delete_many({"_id": {"$in": ["d1", "p2"]}}) == 2  # deletes are not filtered by visibility
    loaded.analysis_runs.insert_one({"_id": "r1", "status": "running"})
    assert loaded.analysis_runs.replace_one({"_id": "r1", "status": "finished"}) == 1
    assert loaded.analysis_runs.get("r1")["status"] == "finished"
    with pytest.raises(ValueError, match="use set_fields"):
        props.update_one({"_id": "p3"}, {"stale": True})
    assert props.set_fields({"_id": "p3"}, {"stale": True}) == 1
    assert loaded.db.properties.find_one({"_id": "p3"})["stale"] is True


def test_arrays_by_name_keep_points_aligned(loaded):
    loaded.db.measurement_arrays.insert_one(
        {"_id": "m1:2", "measurement": "m1", "chunk": 2, "batch_id": "b-ok", "arrays": {"frequency": [1.0, 0.1], "z_real": [4.0, 5.0]}})
    a = loaded.measurement_arrays.arrays("m1", ("frequency", "z_real", "z_imag"), align="z_real")
    assert a.names == ["frequency", "z_real", "z_imag"]
    assert a.arrays["frequency"] == [1e6, 1e5, 10.0, 1.0, 0.1]
    # z_imag is in no chunk: one null per point, so the three arrays still pair index by index
    assert a.arrays["z_imag"] == [None] * 5
    assert loaded.measurement_arrays.arrays("m1", ("z_imag",)).arrays == {"z_imag": []}


def test_pages_follow_batch_states_changed_by_any_writer(loaded, monkeypatch):
    """Batch states are cached with the token file that every state change rewrites (store.visibility):
    a change made by any writer (here raw writes plus the token bump that store/ makes after each one, as
    another process would) shows at the next read, a batch started since stays hidden."""
    import ionbase.store as store_module
    from ionbase.errors import StoreUnavailable
    from ionbase.store.visibility import states_changed

    db = loaded.db

    def page():
        return [d["_id"] for d in loaded.properties.page({"name": "ionic_conductivity"}, [("_id", 1)], 10)]

    def change(op, *args):
        getattr(db.import_batches, op)(*args)
        states_changed(db)

    assert page() == ["p1"] and page() == ["p1"]
    change("update_one", {"_id": "b-pend"}, {"$set": {"status": "committed"}})
    assert page() == ["p1", "p2"]
    change("update_one", {"_id": "b-ok"}, {"$set": {"status": "rolled_back"}})
    assert page() == ["p2"]
    change("insert_one", {"_id": "b-new", "status": "pending"})
    db.properties.insert_one({"_id": "p5", "name": "ionic_conductivity", "value": 1.0, "sample": "s3", "batch_id": "b-new"})
    assert page() == ["p2"]
    change("update_one", {"_id": "b-new"}, {"$set": {"status": "committing"}})
    monkeypatch.setattr(store_module, "COMMIT_WAIT_S", 0.2)
    with pytest.raises(StoreUnavailable, match="b-new is being committed"):
        page()
    change("update_one", {"_id": "b-new"}, {"$set": {"status": "committed"}})
    assert page() == ["p2", "p5"]
