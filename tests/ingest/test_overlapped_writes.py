"""The import writes while its first pass runs (ingest/overlap.py): what that must not change.

A generated lab table (the template CSV format) of 3,000 conductivity rows: the writer thread
inserts properties before the pass has read the last row. The tests check that this happens, that
a batch found invalid late still leaves nothing behind, that an error of the writer thread fails the
import cleanly, and that the batch's lease is renewed while the thread waits.
"""

from __future__ import annotations

import pickle
import signal
import threading
import time
from pathlib import Path

import pytest

from ionbase.ingest import overlap
from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import COLLECTIONS, Importer, ImportOptions
from ionbase.store import claims
from ionbase.store.batches import Writer, start_batch

N_SAMPLES = 600
TEMPS = (-20, 0, 25, 40, 60)


def _write_lab(folder: Path, bad_row: int | None = None) -> int:
    """samples.csv and conductivity.csv (5 rows per sample); ``bad_row`` (1-based data row of the
    conductivity table) gets a conductivity with a second unit, of the wrong dimension. Rows written."""
    rows = 0
    with open(folder / "samples.csv", "w") as s, open(folder / "conductivity.csv", "w") as c:
        s.write("# notebook: OVERLAP-LAB\nlabel,formula,family\n")
        c.write("# notebook: OVERLAP-LAB\nsample,T (°C),sigma (mS/cm),carrier,method\n")
        for i in range(N_SAMPLES):
            s.write(f"S{i:05d},Na3InCl6,halide\n")
            for t in TEMPS:
                rows += 1
                value = "0.5 K" if rows == bad_row else f"{0.01 * (1 + i % 7) * (1 + t / 100):.5g}"
                c.write(f"S{i:05d},{t},{value},ionic,EIS\n")
    return rows


@pytest.fixture
def small_queue(monkeypatch):
    """A queue of 100 documents: the pass cannot end before the writer has taken all but about 150
    of them, so the writer provably writes while the pass runs (the shipped queue holds 4,000 and
    the test's import could fit in it whole)."""
    monkeypatch.setattr(overlap, "LIST_DOCS", 50)
    monkeypatch.setattr(overlap, "QUEUE_LISTS", 2)


def _snapshot(store) -> dict:
    return {c: store.db[c].count_documents({}) for c in store.db.list_collection_names()}


def test_properties_are_written_while_the_first_pass_runs(store, tmp_path, small_queue):
    rows = _write_lab(tmp_path)
    importer = Importer(store, ImportOptions())
    seen_during_pass = []

    def stage(name):
        if name == "inserted:properties":
            seen_during_pass.append(importer.records_seen is None)  # set when the first pass ends

    importer.opt.on_stage = stage
    report = importer.run([tmp_path])
    assert report.status == "committed"
    assert report.counts["properties"]["new"] == rows and report.counts["samples"]["new"] == N_SAMPLES
    assert any(seen_during_pass), "no property was inserted before the first pass ended"
    stored = store.properties.find_one({"sample_label": "S00003", "conditions.temperature_c": 25.0})
    assert stored["value"] == pytest.approx(0.01 * 4 * 1.25 * 1e-3)  # 0.05 mS/cm, stored in S/cm
    batch = store.db.import_batches.find_one({"_id": report.batch_id})
    assert sorted(f["name"] for f in batch["files"]) == ["conductivity.csv", "samples.csv"]
    assert all(len(f["sha256"]) == 64 for f in batch["files"])


def test_a_batch_found_invalid_late_leaves_nothing(store, tmp_path, small_queue):
    rows = _write_lab(tmp_path, bad_row=2_900)
    before = _snapshot(store)
    inserted = []
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions(on_stage=inserted.append)).run([tmp_path])
    assert rows == 3_000
    assert any(s == "inserted:properties" for s in inserted), "nothing was written before the error: the test proves nothing"
    issue = err.value.issues[0]
    assert (issue.file, issue.row, issue.column) == ("conductivity.csv", 2_900 + 2, "sigma (mS/cm)")  # 2 header lines
    assert "'K'" in issue.message
    assert _snapshot(store) == before, "an invalid import left documents or a batch behind"
    assert err.value.report["batch_id"] is None


def test_an_error_of_the_writer_thread_fails_the_import_and_cleans_it(store, tmp_path, small_queue):
    _write_lab(tmp_path)

    def stage(name):
        if name == "inserted:properties":
            raise RuntimeError("store went away")

    with pytest.raises(RuntimeError, match="store went away"):
        Importer(store, ImportOptions(on_stage=stage)).run([tmp_path])
    assert [b["status"] for b in store.db.import_batches.find({})] == ["failed"]
    assert all(store.db[c].count_documents({}) == 0 for c in COLLECTIONS)
    report = Importer(store, ImportOptions()).run([tmp_path])
    assert report.status == "committed" and report.counts["properties"]["new"] == 3_000


def test_the_writer_thread_renews_the_lease_while_it_waits(store, monkeypatch):
    monkeypatch.setattr(overlap, "HEARTBEAT_S", 0.05)
    monkeypatch.setattr(claims, "HEARTBEAT_S", 0.05)
    batch_id = start_batch(store, {}, [], "tester", False)
    writer = Writer(store, batch_id, lambda name: None)
    first = store.db.import_batches.find_one({"_id": batch_id})["options"]["heartbeat"]
    early = overlap.EarlyWriter(writer, writer.beat, lambda: False, writer.flush_ready)
    time.sleep(0.5)  # a first pass that builds nothing for a while (large tables being read)
    early.finish()
    later = store.db.import_batches.find_one({"_id": batch_id})["options"]["heartbeat"]
    assert later > first + 0.2
    claims.ACTIVE_HERE.discard(batch_id)


def test_a_stopped_writer_unblocks_a_waiting_pass():
    """The pass blocks when the queue is full; a failing writer must not leave it blocked."""
    gate = threading.Event()

    def write(coll, doc):
        gate.wait(5)
        raise ValueError("refused")

    early = overlap.EarlyWriter(write, lambda: None, lambda: False)
    entry = pickle.dumps(("properties", {"_id": "x"}))
    done = threading.Event()

    def produce():
        for _ in range(overlap.LIST_DOCS * (overlap.QUEUE_LISTS + 4)):
            early.add(entry)
        done.set()

    t = threading.Thread(target=produce)
    t.start()
    time.sleep(0.3)
    assert not done.is_set(), "the queue is bounded: the producer waits for the writer"
    gate.set()
    t.join(10)
    assert done.is_set()
    with pytest.raises(ValueError, match="refused"):
        early.finish()


def test_ctrl_c_twice_while_writing_changes_leaves_nothing_behind(store, tmp_path, small_queue):
    """Ctrl-C during the pass, and again while the importer waits for the writer thread to stop: the
    batch is discarded only once the thread has ended, so none of its writes outlives the discard
    (review: a second Ctrl-C in the wait left shadows, superseded marks and saved versions behind).
    With a small queue, so the writer thread provably writes while the pass runs; a failure lists the
    stages seen and by which thread (one full-suite run on 2026-12-02 was not interrupted at all, with
    the shipped queue; not reproduced since, alone or under load)."""
    base, changed = tmp_path / "base", tmp_path / "changed"
    base.mkdir()
    changed.mkdir()
    _write_lab(base)
    _write_lab(changed)
    text = (changed / "conductivity.csv").read_text().replace(",ionic,EIS", "1,ionic,EIS")  # every value changes
    (changed / "conductivity.csv").write_text(text)
    Importer(store, ImportOptions()).run([base])
    before = {d["_id"]: d["value"] for d in store.db.properties.find({}, {"value": 1})}
    main = threading.main_thread().ident
    sent, timers = [], []

    def interrupt():
        sent.append(time.monotonic())
        signal.pthread_kill(main, signal.SIGINT)

    stages = []

    def stage(name):
        stages.append((name, threading.current_thread().name))
        if name == "claimed:properties" and not sent and threading.current_thread().name == "ionbase-import-writer":
            # the writer thread has claimed a chunk of changes: its saved versions, shadows and marks come next
            interrupt()  # Ctrl-C while the first pass runs ...
            timers.append(threading.Timer(0.3, interrupt))  # ... and again while the importer waits for this thread
            timers[-1].start()
            time.sleep(1.0)  # a slow write in progress

    interrupted = False
    try:
        Importer(store, ImportOptions(on_stage=stage)).run([changed])
    except KeyboardInterrupt:
        interrupted = True
    finally:
        for t in timers:  # never let a second Ctrl-C reach the test itself
            t.cancel()
    assert interrupted, f"the import was not interrupted; Ctrl-C sent at {sent}, stages (name, thread): {stages}"
    assert len(sent) == 2, "the import returned before its writer thread (sleeping 1 s) had ended"
    time.sleep(1.5)  # a writer thread left running would write its chunk now, after the discard
    assert not [t for t in threading.enumerate() if t.name == "ionbase-import-writer"]
    assert store.db.properties.count_documents({"batch_id": store.db.import_batches.find_one({"status": "failed"})["_id"]}) == 0
    failed = store.db.import_batches.find_one({"status": "failed"})
    assert failed["shadows"] == "removed"
    assert {d["_id"]: d["value"] for d in store.db.properties.find({}, {"value": 1})} == before
    assert store.db.properties.count_documents({"superseded_by": {"$exists": True}}) == 0
    assert store.db.properties.count_documents({"shadow_batch": {"$exists": True}}) == 0
    assert store.db.import_history.count_documents({"batch_id": failed["_id"]}) == 0


def _rows(samples: range, factor=lambda i: 1.0) -> list[str]:
    return [f"S{i:05d},{t},{0.01 * (1 + i % 7) * (1 + t / 100) * factor(i):.6g},ionic,EIS" for i in samples for t in TEMPS]


def test_existing_documents_after_all_new_chunks_are_still_diffed(store, tmp_path):
    """Chunks of new documents written while the pass runs, then existing ones: these are diffed,
    counted changed or unchanged, and changed ones written as new versions. (Inserting a chunk before
    diffing it after all-new chunks was tried and dropped: of two racing imports both could be
    refused, where the diff first refuses one; review.)"""
    header = "# notebook: OVERLAP-LAB\nsample,T (°C),sigma (mS/cm),carrier,method\n"
    first, second = tmp_path / "first", tmp_path / "second"
    first.mkdir()
    second.mkdir()
    (first / "samples.csv").write_text("# notebook: OVERLAP-LAB\nlabel,formula,family\n"
                                       + "".join(f"S{i:05d},Na3InCl6,halide\n" for i in range(1200)))
    (first / "conductivity.csv").write_text(header + "\n".join(_rows(range(600, 1200))) + "\n")
    Importer(store, ImportOptions()).run([first])
    (second / "samples.csv").write_text((first / "samples.csv").read_text())
    # 3,000 new rows first (whole chunks of new documents), then the 3,000 existing ones, every other sample changed
    rows = _rows(range(600)) + _rows(range(600, 1200), lambda i: 1.5 if i % 2 else 1.0)
    (second / "conductivity.csv").write_text(header + "\n".join(rows) + "\n")
    report = Importer(store, ImportOptions()).run([second])
    assert report.counts["properties"] == {"new": 3000, "changed": 1500, "unchanged": 1500}
    stored = {(d["sample_label"], d["temperature_c"]): d["value"] for d in store.properties.find({}, {"sample_label": 1, "temperature_c": 1, "value": 1})}
    assert len(stored) == 6000
    for i in (0, 599, 600, 601, 1198, 1199):
        expected = 0.01 * (1 + i % 7) * 1.25 * (1.5 if i >= 600 and i % 2 else 1.0) * 1e-3
        assert stored[(f"S{i:05d}", 25.0)] == pytest.approx(expected, rel=1e-5)
    assert store.db.properties.count_documents({}) == 6000  # no shadow or duplicate left
