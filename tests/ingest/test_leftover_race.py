"""A leftover of a failed batch, held by import B, is cleaned and inserted again by import C before B's insert: B must not overwrite C's committed document (review finding: the replace matched on _id alone)."""
from __future__ import annotations

import pytest

from ionbase.store import batches, claims


@pytest.fixture(autouse=True)
def _forget_batches():
    before = set(claims.ACTIVE_HERE)
    yield
    claims.ACTIVE_HERE.intersection_update(before)


def _doc(v: float) -> dict:
    return {"_id": "p1", "sample": "smp-x", "name": "ionic_conductivity", "value": v, "content_hash": f"h{v}"}


def _total(w):
    return {**w.counts, "total": {k: sum(w.counts[c][k] for c in w.counts) for k in ("new", "changed", "unchanged")}}


def test_committed_document_survives_a_leftover_replace(store, monkeypatch):
    db = store.db
    a = batches.start_batch(store, {}, [], "A", False)
    wa = batches.Writer(store, a, lambda s: None)
    wa("properties", _doc(2.0))
    wa.close()
    claims.ACTIVE_HERE.discard(a)  # A's process died
    assert claims.write_batch(db, a, {"status": "failed"}, expect=("pending",))  # a recover's _discard, first step
    b = batches.start_batch(store, {}, [], "B", False)
    c = batches.start_batch(store, {}, [], "C", False)
    original = batches.Writer._hold
    state = {"done": False}

    def hold(self, coll, chunk):
        out = original(self, coll, chunk)
        if self.batch_id == b and not state["done"]:
            state["done"] = True
            db.properties.delete_many({"batch_id": a})  # the recover's _discard, second step
            wc = batches.Writer(store, c, lambda s: None)
            wc("properties", _doc(3.0))
            wc.close()
            batches.commit_batch(store, c, _total(wc), [], [], lambda s: None)
        return out

    monkeypatch.setattr(batches.Writer, "_hold", hold)
    wb = batches.Writer(store, b, lambda s: None)
    wb("properties", _doc(4.0))
    wb.close()
    claims.ACTIVE_HERE.discard(b)  # B's process dies before its commit
    batches.recover(store)
    assert db.import_batches.find_one({"_id": c})["status"] == "committed"
    assert db.properties.find_one(store.visible({"_id": "p1"})) is not None, "C committed p1; it must survive B's death"


def test_rollback_refused_while_a_later_batch_uses_a_route_or_material_it_created(store, tmp_path):
    """Import B's sample uses the material and route that import A created (B counts them unchanged):
    rolling back A would delete them under B's committed sample (review finding), so it is refused."""
    from ionbase.ingest.importer import Importer
    from ionbase.store.rollback import RollbackRefused, rollback
    from tests.ingest.test_concurrent_imports import lab_file

    a = Importer(store).run([lab_file(tmp_path / "a.yaml", ["s1"], 1, 1.0, doi="10.1/a", formula="Li6PS5Cl")])
    b = Importer(store).run([lab_file(tmp_path / "b.yaml", ["t1"], 1, 1.0, doi="10.1/b", formula="Li6PS5Cl")])
    assert b.status == "committed" and b.counts["routes"]["unchanged"] == 1
    with pytest.raises(RollbackRefused, match="point at samples, materials or routes it created"):
        rollback(store, a.batch_id)
    for s in store.samples.find({}):
        assert store.materials.get(s["material"]) is not None and store.routes.get(s["route"]) is not None
    rollback(store, b.batch_id)
    assert rollback(store, a.batch_id)["status"] == "rolled_back"  # B gone: A can go
