"""The import progress bars: the first pass counts records (the unit of work), the writing bar the
batch's documents (written while the pass runs: it starts where the writer is and ends at 100 %)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.loaders import load_lab_file

REPO = Path(__file__).resolve().parents[2]
N_ROWS = 260


class FakeBar:
    """Stands in for tqdm: records what the importer passes to it."""

    made: list["FakeBar"] = []

    def __init__(self, total=None, desc=None, unit=None, initial=0, **kwargs):
        self.total, self.desc, self.unit, self.n, self.closed = total, desc, unit, initial, False
        self.initial = initial
        FakeBar.made.append(self)

    def update(self, n=1):
        self.n += n

    def refresh(self):
        pass

    def close(self):
        self.closed = True


def _bars(monkeypatch) -> list[FakeBar]:
    FakeBar.made = []
    monkeypatch.setattr("tqdm.tqdm", FakeBar)
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True, raising=False)
    return FakeBar.made


def test_progress_totals_count_the_records_of_a_streamed_table(store, tmp_path, monkeypatch):
    shutil.copy(REPO / "templates" / "samples.csv", tmp_path / "samples.csv")
    lines = ["# doi: 10.1000/example-lab-2026", "sample,T (°C),sigma (mS/cm),carrier,method"]
    lines += [f"NIZC-0.5-BM,{20 + i * 0.25:.2f},{0.03 + i * 1e-4:.5f},ionic,EIS" for i in range(N_ROWS)]
    (tmp_path / "conductivity.csv").write_text("\n".join(lines) + "\n")
    loaded = load_lab_file(tmp_path / "samples.csv", 10**8)
    in_memory = loaded.count()
    loaded.close_shelf()
    assert in_memory >= 2
    bars = _bars(monkeypatch)
    report = Importer(store, ImportOptions(progress=True)).run([tmp_path])
    assert report.counts["properties"]["new"] == N_ROWS
    validating, writing = bars
    assert (validating.desc, validating.unit, validating.total) == ("validating", "record", None), \
        "a streamed table is not counted before it is read: the first pass's total is unknown"
    assert validating.n == in_memory + N_ROWS
    documents = report.counts["total"]["new"]
    assert (writing.desc, writing.unit) == ("writing", "document")
    assert writing.total == writing.n == documents > N_ROWS
    assert validating.closed and writing.closed


def test_writing_bar_starts_where_the_writer_is(store, tmp_path, monkeypatch):
    """A writer that has written documents during the pass: the bar starts there, not at 0 (and not at
    100 % either, as the record-replaying bar did), and the rest advance it to exactly the total."""
    from ionbase.ingest import overlap

    monkeypatch.setattr(overlap, "LIST_DOCS", 10)
    monkeypatch.setattr(overlap, "BUSY_FLUSH", 10)
    monkeypatch.setattr(overlap, "IDLE_FLUSH", 10)
    shutil.copy(REPO / "templates" / "samples.csv", tmp_path / "samples.csv")
    lines = ["# doi: 10.1000/example-lab-2026", "sample,T (°C),sigma (mS/cm),carrier,method"]
    lines += [f"NIZC-0.5-BM,{20 + i * 0.25:.2f},{0.03 + i * 1e-4:.5f},ionic,EIS" for i in range(N_ROWS)]
    (tmp_path / "conductivity.csv").write_text("\n".join(lines) + "\n")
    started = []
    real = Importer._writing_progress

    def spy(self, writer, total):
        started.append(writer.flushed)
        return real(self, writer, total)

    monkeypatch.setattr(Importer, "_writing_progress", spy)
    bars = _bars(monkeypatch)
    report = Importer(store, ImportOptions(progress=True)).run([tmp_path])
    writing = bars[1]
    assert 0 < started[0] < writing.total, "written during the pass, not all of it"
    assert writing.initial >= started[0], "the bar starts where the writer is (its rate counts only what follows)"
    assert writing.n == writing.total == report.counts["total"]["new"]


def test_progress_total_known_without_streamed_tables(store, tmp_path, monkeypatch):
    path = tmp_path / "lab.yaml"
    shutil.copy(REPO / "tests" / "data" / "lab" / "roundtrip.yaml", path)
    records = load_lab_file(path, 10**8).count()
    from ionbase.ingest import progress

    monkeypatch.setattr(progress, "MIN_TOTAL", 1)
    bars = _bars(monkeypatch)
    report = Importer(store, ImportOptions(progress=True)).run([path])
    documents = report.counts["total"]["new"]
    assert [(b.desc, b.unit, b.total, b.n) for b in bars] == [("validating", "record", records, records),
                                                                ("writing", "document", documents, documents)]


def test_no_bar_when_not_asked_or_not_a_terminal(store, tmp_path, monkeypatch):
    path = tmp_path / "lab.yaml"
    shutil.copy(REPO / "tests" / "data" / "lab" / "roundtrip.yaml", path)
    bars = _bars(monkeypatch)
    Importer(store, ImportOptions(progress=False)).run([path])
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False, raising=False)
    Importer(store, ImportOptions(progress=True)).run([path])
    assert bars == []
