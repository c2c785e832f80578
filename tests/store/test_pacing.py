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


def test_yielder_sleeps_only_while_the_store_is_busy(monkeypatch):
    """A bulk writer leaves the server to readers between chunks when a probe read is slow (readers
    queued), in proportion to its own chunk's time; when the probe is fast it never waits."""
    slept: list[float] = []
    monkeypatch.setattr(pacing.time, "sleep", slept.append)
    probe_s = [0.0]
    clock = [100.0]
    monkeypatch.setattr(pacing.time, "monotonic", lambda: clock[0])

    def probe():
        clock[0] += probe_s[0]

    y = pacing.Yielder(probe, share=1.0, busy_s=0.01, max_s=2.0)
    y.after_chunk(0.8)
    assert slept == [] and y.yields == 0
    slow_once = iter([0.05, 0.001])  # the server settling after the writer's own command, then idle

    def settling():
        clock[0] += next(slow_once)

    y.probe = settling
    y.after_chunk(0.8)
    assert slept == [] and y.yields == 0
    y.probe = probe
    probe_s[0] = 0.05  # readers queued on the lock: every probe waits 50 ms
    y.after_chunk(0.8)
    y.after_chunk(5.0)
    assert slept == [0.8, 2.0] and y.yields == 2 and y.slept_s == pytest.approx(2.8)


def test_yielder_probes_the_real_store_and_the_importer_uses_it(store):
    from ionbase.store.batches import Writer

    w = Writer(store, None, lambda s: None)
    assert isinstance(w.yielder, pacing.Yielder)
    w.yielder.probe()  # a real one-document read on the import's database: must not raise


def test_import_writer_inserts_in_commands_of_import_command_and_finds_duplicates_in_any(store, monkeypatch):
    """The importer's inserts go in commands of IMPORT_COMMAND documents (a reader on the embedded
    server waits for one of those, not a whole chunk); a document that exists already, in whichever
    command it falls, is reported back (written by another batch) and the rest are all written; a
    leftover of an ended batch is replaced only while that batch still owns it."""
    from ionbase.store.batches import _insert_or_replace

    raw = store.db.properties
    raw.insert_many([{"_id": "q0010", "name": "x", "batch_id": "other"},
                     {"_id": "q0420", "name": "x", "batch_id": "other"},
                     {"_id": "q0300", "name": "x", "batch_id": "dead"}])
    sent: list[int] = []
    real_insert = type(raw).insert_many
    monkeypatch.setattr(type(raw), "insert_many", lambda self, docs, **kw: (sent.append(len(docs)), real_insert(self, docs, **kw))[1])
    docs = [{"_id": f"q{i:04d}", "name": "ionic_conductivity", "value": float(i), "batch_id": "mine"} for i in range(450)]
    late = _insert_or_replace(store.db, "properties", docs, {"q0300": "dead"})
    assert sent == [pacing.IMPORT_COMMAND, pacing.IMPORT_COMMAND, 450 - 2 * pacing.IMPORT_COMMAND]
    assert late == ["q0010", "q0420"], "documents another batch holds are handed back, from the first and the last command"
    assert raw.count_documents({"batch_id": "mine"}) == 448
    assert raw.find_one({"_id": "q0300"})["value"] == 300.0, "the dead batch's leftover was replaced"
    assert raw.find_one({"_id": "q0420"})["batch_id"] == "other", "never overwritten"
