"""Write pacing (store/pacing.py): bulk writes go in small commands with a pause between two, so
readers get the embedded server's lock (bench/bench_load.py measures the effect end to end)."""

from __future__ import annotations

import pytest
from pymongo.errors import BulkWriteError

from ionbase.store import pacing


def test_paced_chunks_and_pauses_only_between_commands(monkeypatch):
    slept: list[float] = []
    monkeypatch.setattr(pacing.time, "sleep", slept.append)
    assert list(pacing.paced(range(7), size=3, pause_s=0.25)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert slept == [0.25, 0.25], "a pause between two commands, none before the first or after the last"
    slept.clear()
    assert list(pacing.paced(range(3), size=3)) == [[0, 1, 2]] and slept == []
    assert list(pacing.paced([], size=3)) == []
    with pytest.raises(ValueError, match="size must be >= 1"):
        list(pacing.paced(range(3), size=0))


def test_insert_and_upsert_many_write_every_document_in_paced_commands(store, monkeypatch):
    sent: list[int] = []
    coll = store.properties
    raw = store.db.properties
    real_insert = type(raw).insert_many
    monkeypatch.setattr(type(raw), "insert_many", lambda self, docs, **kw: (sent.append(len(docs)), real_insert(self, docs, **kw))[1])
    docs = [{"_id": f"p{i}", "name": "ionic_conductivity", "value": 1e-4 * (i + 1)} for i in range(250)]
    assert coll.insert_many(iter(docs), chunk=100) == 250
    assert sent == [100, 100, 50]
    assert coll.count({}) == 250 and coll.get("p249")["value"] == pytest.approx(2.5e-2)
    assert coll.upsert_many([{**d, "value": 1.0} for d in docs[:150]]) == 150
    assert coll.count({"value": 1.0}) == 150 and coll.get("p200")["value"] == pytest.approx(2.01e-2)
    with pytest.raises(BulkWriteError):
        coll.insert_many([{"_id": "p0", "name": "x"}])
