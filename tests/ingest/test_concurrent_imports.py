"""Concurrent imports are safe by construction (store/claims.py, docs/imports.md): real importer
processes on the embedded store over the wire, one paused in the middle of its batch."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from ionbase.errors import ImportConflict
from ionbase.ingest.importer import COLLECTIONS, Importer, ImportOptions, recover

REPO = Path(__file__).resolve().parents[2]
DOI = "10.1000/race-test"

#: an import process: pauses at stage argv[4] until file argv[5] exists (``-`` never pauses), or is
#: SIGKILLed there when argv[5] is ``KILL``; prints the report's batch id, status and counts as YAML
SCRIPT = """
import os, signal, sys, time, yaml
from pathlib import Path
from ionbase.errors import ImportConflict
from ionbase.settings import Settings
from ionbase.store import open_store
from ionbase.ingest.importer import Importer, ImportOptions
settings = Settings(mongodb_uri=sys.argv[1], db_name=sys.argv[2], data_dir=Path(sys.argv[6]))
store = open_store(settings)
target, gate = sys.argv[4], sys.argv[5]
def stage(name):
    if name != target:
        return
    if gate == "KILL":
        os.kill(os.getpid(), signal.SIGKILL)
    Path(gate + ".reached").write_text(name)
    while not Path(gate).exists():
        time.sleep(0.05)
try:
    report = Importer(store, ImportOptions(on_stage=stage)).run([Path(sys.argv[3])])
except ImportConflict as exc:
    print(exc.message, file=sys.stderr)
    sys.exit(3)
print(yaml.safe_dump({"batch": report.batch_id, "status": report.status, "counts": report.counts}))
"""


def lab_file(path: Path, samples: list[str], n_props: int, factor: float, doi: str = DOI, formula: str = "Li3PS4") -> Path:
    """Samples with ``n_props`` conductivities each (at 1..n °C); ``factor`` scales every value."""
    doc = {
        "source": {"doi": doi},
        "materials": [{"key": "LPS", "formula": formula, "family": "sulfide"}],
        "samples": [{"label": s, "material": "LPS", **({"steps": [{"type": "ball_milling", "rpm": 500, "duration": "10 h"}]}
                                                        if formula != "Li3PS4" else {})} for s in samples],
        "properties": [{"sample": s, "name": "ionic_conductivity", "value": f"{factor * (1 + t) * 1e-5:.6g} S/cm",
                        "conditions": {"temperature": f"{t} °C"}}
                       for s in samples for t in range(1, n_props + 1)],
    }
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _spawn(settings, tmp_path: Path, path: Path, stage: str = "-", gate: str = "-") -> subprocess.Popen:
    script = tmp_path / "import_proc.py"
    script.write_text(SCRIPT)
    return subprocess.Popen([sys.executable, str(script), settings.mongodb_uri, settings.db_name, str(path), stage, gate,
                             str(tmp_path)], cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for(path: Path, proc: subprocess.Popen, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while not path.exists():
        if proc.poll() is not None:
            raise AssertionError(f"the import ended before {path.name}: {proc.stderr.read()[-2000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            raise AssertionError(f"timed out waiting for {path}")
        time.sleep(0.05)


def _finish(proc: subprocess.Popen, timeout_s: float = 180) -> tuple[int, dict | None, str]:
    out, err = proc.communicate(timeout=timeout_s)
    return proc.returncode, (yaml.safe_load(out) if proc.returncode == 0 else None), err


def _by_batch(store, batch_id: str) -> dict[str, int]:
    return {c: store.db[c].count_documents({"batch_id": batch_id}) for c in COLLECTIONS}


def _values(store) -> dict[str, float]:
    return {d["_id"]: d["value"] for d in store.properties.find({"origin": {"$ne": "derived"}}, {"value": 1})}


def test_a_pending_import_is_not_taken_over_nor_cleaned_and_commits_whole(store, settings, tmp_path):
    """A paused mid-batch; B (same documents, other values) is refused naming A; C (other samples)
    is killed mid-batch; recover cleans C only; A commits whole and a dry run of A finds nothing to do."""
    a_file = lab_file(tmp_path / "a.yaml", ["S1", "S2"], 150, 1.0)
    gate = tmp_path / "go-a"
    a = _spawn(settings, tmp_path, a_file, "inserted:properties", str(gate))
    _wait_for(Path(str(gate) + ".reached"), a)
    a_batch = store.db.import_batches.find_one({"status": "pending"})["_id"]

    b = _spawn(settings, tmp_path, lab_file(tmp_path / "b.yaml", ["S1", "S2"], 150, 2.0))
    code, _, err = _finish(b)
    assert code == 3, err[-2000:]
    assert f"held by import {a_batch} (pending" in err and "nothing of this import was written" in err, err

    c = _spawn(settings, tmp_path, lab_file(tmp_path / "c.yaml", ["S7"], 20, 3.0, doi="10.1000/other", formula="Li6PS5Cl"), "inserted:properties", "KILL")
    assert c.wait(timeout=180) == -signal.SIGKILL, c.stderr.read()[-2000:]
    done = recover(store)
    assert [d["action"] for d in done] == ["cleaned"] and done[0]["batch"] != a_batch, done
    assert store.db.import_batches.find_one({"_id": a_batch})["status"] == "pending"

    gate.write_text("go")
    code, report, err = _finish(a)
    assert code == 0 and report["status"] == "committed", err[-2000:]
    assert report["counts"]["properties"]["new"] == 300
    # every document A reported is in the store, carries A's batch id and is visible
    assert _by_batch(store, a_batch) == {c: report["counts"][c]["new"] for c in COLLECTIONS}
    assert store.properties.count({}) == 300 and store.samples.count({}) == 2
    assert sorted({round(v / 1e-5, 6) for v in _values(store).values()}) == list(range(2, 152)), "A's values, not B's"
    assert store.db.import_claims.count_documents({}) == 0, "claims are released at commit"
    again = Importer(store, ImportOptions(dry_run=True)).run([a_file])
    assert again.counts["total"]["new"] == 0 and again.counts["total"]["changed"] == 0


def test_both_finish_serialised_and_counts_match_the_store(store, settings, tmp_path):
    """B overlaps A and runs while A is pending: refused; run again after A it commits, and what each
    reported is what the store holds (new = documents carrying its batch id that did not exist,
    changed = documents it replaced, saved in history; the rest unchanged)."""
    a_file = lab_file(tmp_path / "a.yaml", ["S1", "S2"], 100, 1.0)
    b_doc = yaml.safe_load(lab_file(tmp_path / "b.yaml", ["S2", "S3"], 100, 1.0).read_text())
    for p in b_doc["properties"][:40]:  # 40 of S2's values corrected
        p["value"] = "7e-4 S/cm"
    (tmp_path / "b.yaml").write_text(yaml.safe_dump(b_doc, sort_keys=False))
    gate = tmp_path / "go-a"
    a = _spawn(settings, tmp_path, a_file, "staged", str(gate))
    _wait_for(Path(str(gate) + ".reached"), a)
    code, _, err = _finish(_spawn(settings, tmp_path, tmp_path / "b.yaml"))
    assert code == 3 and "refused" in err, err[-2000:]
    gate.write_text("go")
    code, ra, err = _finish(a)
    assert code == 0, err[-2000:]
    before = _values(store)
    assert _by_batch(store, ra["batch"]) == {c: ra["counts"][c]["new"] for c in COLLECTIONS}
    code, rb, err = _finish(_spawn(settings, tmp_path, tmp_path / "b.yaml"))
    assert code == 0, err[-2000:]
    after = _values(store)
    pb = rb["counts"]["properties"]
    assert (pb["new"], pb["changed"], pb["unchanged"]) == (100, 40, 60)
    assert len(set(after) - set(before)) == pb["new"]
    assert sum(1 for i in before if after[i] != before[i]) == pb["changed"]
    assert store.db.import_history.count_documents({"batch_id": rb["batch"], "coll": "properties"}) == pb["changed"]
    assert _by_batch(store, rb["batch"])["properties"] == pb["new"] + pb["changed"]
    assert rb["counts"]["samples"] == {"new": 1, "changed": 0, "unchanged": 1}


def test_two_imports_in_one_process_do_not_clean_each_other(store, tmp_path):
    """An API serves imports from threads of one process: the second import's recover must not take
    the first, still running, for dead; it is refused instead."""
    path = lab_file(tmp_path / "a.yaml", ["S1"], 30, 1.0)
    reached, go = threading.Event(), threading.Event()
    result: dict = {}

    def stage(name):
        if name == "inserted:properties":
            reached.set()
            go.wait(60)

    def first():
        result["a"] = Importer(store, ImportOptions(on_stage=stage)).run([path])

    t = threading.Thread(target=first)
    t.start()
    assert reached.wait(60)
    with pytest.raises(ImportConflict) as err:
        Importer(store, ImportOptions()).run([lab_file(tmp_path / "b.yaml", ["S1"], 30, 2.0)])
    assert result.get("a") is None and "held by import" in err.value.message
    go.set()
    t.join(60)
    assert result["a"].status == "committed" and store.properties.count({}) == 30
    assert {round(v / 1e-5, 6) for v in _values(store).values()} == set(range(2, 32))
    assert os.getpid() == store.db.import_batches.find_one({"_id": result["a"].batch_id})["options"]["pid"]


def _formula_file(path: Path, doi: str, label: str, hours: int, formula: str = "Li6PS5Br") -> Path:
    """One sample naming its material by formula only (no materials section: material_from_ref),
    milled ``hours`` (its own route, so the two imports share nothing but the material)."""
    steps = [{"type": "ball_milling", "rpm": 500, "duration": f"{hours} h"}]
    doc = {"source": {"doi": doi}, "samples": [{"label": label, "material": formula, "steps": steps}],
           "properties": [{"sample": label, "name": "ionic_conductivity", "value": f"{t}e-4 S/cm",
                           "conditions": {"temperature": f"{t} °C"}} for t in range(1, 4)]}
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def test_a_material_created_by_a_running_import_is_not_borrowed(store, settings, tmp_path):
    """A (paused) creates material Li6PS5Br by formula; B, from the same source, names the same formula: B is refused naming A
    instead of pointing its sample at A's uncommitted material; A is killed and cleaned; B then imports
    and creates the material itself, so every visible sample's material is visible."""
    gate = tmp_path / "go-a"
    a = _spawn(settings, tmp_path, _formula_file(tmp_path / "a.yaml", "10.1000/mat", "A1", 4), "inserted:properties", str(gate))
    try:
        _wait_for(Path(str(gate) + ".reached"), a)
        a_batch = store.db.import_batches.find_one({"status": "pending"})["_id"]
        b_file = _formula_file(tmp_path / "b.yaml", "10.1000/mat", "B1", 6)
        code, _, err = _finish(_spawn(settings, tmp_path, b_file))
        assert code == 3 and f"held by import {a_batch}" in err, err[-2000:]
    finally:
        a.kill()
        a.wait(timeout=60)
    assert [d["batch"] for d in recover(store)] == [a_batch]
    code, report, err = _finish(_spawn(settings, tmp_path, b_file))
    assert code == 0 and report["status"] == "committed" and report["counts"]["materials"]["new"] == 1, err[-2000:]
    samples = list(store.samples.find({}))
    assert [s["label"] for s in samples] == ["B1"]
    assert all(store.materials.get(s["material"]) for s in samples)
