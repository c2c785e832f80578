"""A new document that does not exist is held by its own insert, not by a claim (store/batches.py,
docs/imports.md): another batch that inserted the same id since the diff is treated like a claim
holder (live: refused; dead: cleaned first; committed: the document is diffed like any other)."""

from __future__ import annotations

import pytest

from ionbase.errors import ImportConflict
from ionbase.store import batches, claims


@pytest.fixture(autouse=True)
def _forget_batches():
    """The batches these tests start stay 'alive' in this process only while the test runs."""
    before = set(claims.ACTIVE_HERE)
    yield
    claims.ACTIVE_HERE.intersection_update(before)


def _doc(i: int, value: float = 1.0) -> dict:
    return {"_id": f"p{i}", "sample": "smp-x", "name": "ionic_conductivity", "value": value, "content_hash": f"h{value}"}


def _race(store, monkeypatch, other: str, docs: list[dict]) -> None:
    """Insert ``docs`` as batch ``other`` right after the writer's first diff (between its diff and its insert)."""
    original = batches.Writer._hold
    state = {"done": False}

    def hold(self, coll, chunk):
        out = original(self, coll, chunk)
        if not state["done"]:
            state["done"] = True
            store.db[coll].insert_many([{**d, "batch_id": other} for d in docs])
        return out

    monkeypatch.setattr(batches.Writer, "_hold", hold)


def _batch(store) -> str:
    return batches.start_batch(store, {}, [], "test", False)


def test_new_documents_take_no_claim(store):
    b = _batch(store)
    w = batches.Writer(store, b, lambda s: None)
    for i in range(3):
        w("properties", _doc(i))
    w.close()
    assert w.counts["properties"]["new"] == 3
    assert store.db.import_claims.count_documents({}) == 0
    assert store.db.properties.count_documents({"batch_id": b}) == 3


def test_inserted_meanwhile_by_a_live_batch_is_refused(store, monkeypatch):
    a = _batch(store)  # live: this process, listed in claims.ACTIVE_HERE
    b = _batch(store)
    _race(store, monkeypatch, a, [_doc(1, 2.0)])
    w = batches.Writer(store, b, lambda s: None)
    w("properties", _doc(0))
    w("properties", _doc(1))
    with pytest.raises(ImportConflict) as err:
        w.close()
    assert f"held by import {a} (pending" in err.value.message
    assert store.db.properties.find_one({"_id": "p1"})["batch_id"] == a, "A's document is not taken over"
    assert store.db.properties.find_one({"_id": "p1"})["value"] == 2.0


def test_found_uncommitted_of_a_live_batch_is_refused(store):
    a = _batch(store)
    store.db.properties.insert_one({**_doc(1, 2.0), "batch_id": a})
    w = batches.Writer(store, _batch(store), lambda s: None)
    w("properties", _doc(1))
    with pytest.raises(ImportConflict) as err:
        w.close()
    assert f"held by import {a} (pending" in err.value.message
    assert store.db.properties.find_one({"_id": "p1"})["batch_id"] == a


def test_inserted_meanwhile_by_a_dead_batch_is_cleaned_then_written(store, monkeypatch):
    a = _batch(store)
    claims.ACTIVE_HERE.discard(a)  # its process (this one) no longer runs it: dead
    b = _batch(store)
    _race(store, monkeypatch, a, [_doc(1, 2.0)])
    w = batches.Writer(store, b, lambda s: None)
    w("properties", _doc(1))
    w.close()
    assert store.db.import_batches.find_one({"_id": a})["status"] == "failed"
    assert store.db.properties.find_one({"_id": "p1"})["batch_id"] == b
    assert w.counts["properties"]["new"] == 1


def test_inserted_and_committed_meanwhile_is_diffed(store, monkeypatch):
    a = _batch(store)
    b = _batch(store)
    original = batches.Writer._hold
    state = {"done": False}

    def hold(self, coll, chunk):
        out = original(self, coll, chunk)
        if not state["done"] and self.batch_id == b:
            state["done"] = True
            other = batches.Writer(store, a, lambda s: None)
            other("properties", _doc(1, 1.0))  # the same content as b's
            other("properties", _doc(2, 5.0))  # other content
            other.close()
            batches.commit_batch(store, a, {**other.counts, "total": {"new": 2, "changed": 0, "unchanged": 0}},
                                 [], [], lambda s: None)
        return out

    monkeypatch.setattr(batches.Writer, "_hold", hold)
    w = batches.Writer(store, b, lambda s: None)
    for d in (_doc(0), _doc(1, 1.0), _doc(2, 1.0)):
        w("properties", d)
    w.close()
    assert w.counts["properties"] == {"new": 1, "changed": 1, "unchanged": 1}
    assert store.db.properties.find_one({"_id": "p2"})["value"] == 5.0, "A's committed value stays until b commits"
    assert store.db.properties.count_documents({"shadow_batch": b}) == 1, "b's new p2 is written beside A's"
    assert store.properties.get("p2")["value"] == 5.0
