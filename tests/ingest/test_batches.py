"""Import behaviour: dry run, error reports, atomicity under a kill, idempotency, corrections, rollback."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import COLLECTIONS, Importer, ImportOptions, list_batches, recover, rollback

DATA = Path(__file__).resolve().parents[1] / "data" / "lab"
REPO = Path(__file__).resolve().parents[2]


def _visible_counts(store) -> dict[str, int]:
    return {c: store.db[c].count_documents(store.visible({})) for c in COLLECTIONS}


def _import(store, *paths, **opts):
    return Importer(store, ImportOptions(**opts)).run(list(paths))


def test_dry_run_reports_and_writes_nothing(store):
    report = _import(store, DATA / "roundtrip.yaml", dry_run=True)
    assert report.status == "dry_run"
    assert report.counts["total"]["new"] > 0
    assert report.counts["samples"]["new"] == 2
    assert all(n == 0 for n in _visible_counts(store).values())
    assert store.db.import_batches.count_documents({}) == 0
    data = report.to_dict()
    kinds = sorted(r["kind"] for f in data["files"] for r in f["records"])
    assert kinds.count("sample") == 2 and "impedance_spectrum" in kinds
    spectrum = [r for f in data["files"] for r in f["records"] if r["kind"] == "impedance_spectrum"][0]
    assert spectrum["points"] == 7


def test_errors_name_file_row_and_field_and_write_nothing(store, tmp_path):
    bad = tmp_path / "lab.yaml"
    bad.write_text(textwrap.dedent("""\
        source: {doi: 10.1/x}
        samples:
          - {label: S1, material: Mg3AsN}
          - label: S2
            material: Mg3AsN
            steps:
              - {type: annealing, temperature: "warm"}
        properties:
          - {sample: S1, name: ionic_conductivity, value: "1e-4 S/cm"}
          - {sample: S9, name: ionic_conductivity, value: "1e-4 S/cm", conditions: {temperature: "25 °C"}}
        """))
    with pytest.raises(ImportFailed) as err:
        _import(store, bad)
    issues = {(i.row, i.field): i.message for i in err.value.issues}
    assert all(i.file == "lab.yaml" for i in err.value.issues)
    assert issues[(4, "samples[1].steps[0].temperature")].startswith("expected a number with a unit")
    assert "needs conditions.temperature" in issues[(9, "properties[0].conditions.temperature")]
    assert "sample 'S9' not found" in issues[(10, "properties[1].sample")]
    assert store.db.samples.count_documents({}) == 0


def test_skip_invalid_imports_the_rest_and_writes_rejects(store, tmp_path):
    bad = tmp_path / "lab.yaml"
    bad.write_text(textwrap.dedent("""\
        source: {doi: 10.1/x}
        samples:
          - {label: S1, material: Mg3AsN}
        properties:
          - {sample: S1, name: ionic_conductivity, value: "1e-4 S/cm", conditions: {temperature: "25 °C"}}
          - {sample: S1, name: ionic_conductivity, value: "1e-4 K", conditions: {temperature: "30 °C"}}
        """))
    report = _import(store, bad, skip_invalid=True, rejected_dir=tmp_path / "rejects")
    assert report.status == "committed" and len(report.errors) == 1
    assert store.db.properties.count_documents({}) == 1
    (rejected_path,) = report.rejected_files
    rejected = Path(rejected_path).read_text()
    assert "1e-4 K" in rejected and "1e-4 S/cm" not in rejected


def test_reimport_changes_nothing_and_correction_updates_exactly_what_changed(store, tmp_path):
    path = tmp_path / "lab.yaml"
    shutil.copy(DATA / "roundtrip.yaml", path)
    first = _import(store, path)
    before = {c: {d["_id"]: d["content_hash"] for d in store.db[c].find({}, {"content_hash": 1})} for c in COLLECTIONS}
    again = _import(store, path)
    assert again.counts["total"]["new"] == 0 and again.counts["total"]["changed"] == 0
    assert again.counts["total"]["unchanged"] == first.counts["total"]["new"]
    # a derived value that depends on the transport-number property
    tn = store.db.properties.find_one({"name": "ionic_transport_number"})
    store.db.properties.insert_one({"_id": "prop-derived-x", "sample": tn["sample"], "name": "electronic_transport_number",
                                    "value": 0.385, "unit": "dimensionless", "origin": "derived", "stale": False,
                                    "provenance": {"job": "dc", "inputs": [tn["_id"]]}})
    path.write_text(path.read_text().replace("value: 0.615", "value: 0.62"))
    fixed = _import(store, path)
    assert fixed.counts["total"]["changed"] == 1 and fixed.counts["total"]["new"] == 0
    assert fixed.changed_ids == [tn["_id"]]
    after = {c: {d["_id"]: d.get("content_hash") for d in store.db[c].find({}, {"content_hash": 1})} for c in COLLECTIONS}
    diff = [(c, i) for c in COLLECTIONS for i in after[c] if i in before[c] and before[c][i] != after[c][i]]
    assert diff == [("properties", tn["_id"])], "exactly the corrected record changed"
    assert store.db.properties.find_one({"_id": tn["_id"]})["value"] == 0.62
    assert store.db.properties.find_one({"_id": "prop-derived-x"})["stale"] is True


def test_rollback_restores_the_previous_state(store, tmp_path):
    path = tmp_path / "lab.yaml"
    shutil.copy(DATA / "roundtrip.yaml", path)
    first = _import(store, path)
    path.write_text(path.read_text().replace("value: 0.615", "value: 0.62").replace("label: EIS 100C", "label: EIS 100 C"))
    second = _import(store, path)
    assert second.counts["total"]["changed"] == 1 and second.counts["measurements"]["new"] == 1
    result = rollback(store, second.batch_id)
    assert result["restored"] == 1 and result["deleted"] >= 2
    assert store.db.properties.find_one({"name": "ionic_transport_number"})["value"] == 0.615
    assert store.db.measurements.count_documents({}) == 1
    assert store.db.measurements.find_one()["label"] == "EIS 100C"
    statuses = {b["_id"]: b["status"] for b in list_batches(store)}
    assert statuses == {first.batch_id: "committed", second.batch_id: "rolled_back"}
    # rolling back the first batch empties the store of its records
    rollback(store, first.batch_id)
    assert sum(_visible_counts(store).values()) == 0 and store.db.samples.count_documents({}) == 0


KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
from ionbase.settings import Settings
from ionbase.store import open_store
from ionbase.ingest.importer import Importer, ImportOptions
settings = Settings(mongodb_uri=sys.argv[1], db_name=sys.argv[2], data_dir=Path(sys.argv[5]))
store = open_store(settings)
target = sys.argv[4]
def stage(name):
    if name == target:
        os.kill(os.getpid(), signal.SIGKILL)
Importer(store, ImportOptions(on_stage=stage)).run([Path(sys.argv[3])])
print("not killed")
"""


def _killed_import(settings, path: Path, stage: str, tmp_path: Path) -> subprocess.CompletedProcess:
    script = tmp_path / "kill_import.py"
    script.write_text(KILL_SCRIPT)
    return subprocess.run([sys.executable, str(script), settings.mongodb_uri, settings.db_name, str(path), stage, str(tmp_path)],
                          cwd=REPO, capture_output=True, text=True, timeout=180)


@pytest.mark.parametrize("stage", ["inserted:samples", "inserted:properties", "staged"])
def test_killed_import_is_invisible_and_rerun_completes(store, settings, tmp_path, stage):
    path = tmp_path / "lab.yaml"
    shutil.copy(DATA / "roundtrip.yaml", path)
    proc = _killed_import(settings, path, stage, tmp_path)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert store.db.import_batches.find_one({})["status"] == "pending"
    assert store.db.samples.count_documents({}) > 0, "the killed process had written documents"
    assert sum(_visible_counts(store).values()) == 0, "queries see none of the killed batch"
    report = _import(store, path)
    assert report.status == "committed"
    counts = _visible_counts(store)
    assert counts["samples"] == 2 and counts["properties"] == store.db.properties.count_documents({})
    ids = [d["_id"] for d in store.db.properties.find({}, {"_id": 1})]
    assert len(ids) == len(set(ids))
    assert store.db.import_batches.count_documents({"status": "failed"}) == 1


def test_killed_while_committing_corrections_rolls_forward(store, settings, tmp_path):
    path = tmp_path / "lab.yaml"
    shutil.copy(DATA / "roundtrip.yaml", path)
    _import(store, path)
    path.write_text(path.read_text().replace("value: 0.615", "value: 0.62").replace('value: "5e-8 S/cm"', 'value: "6e-8 S/cm"'))
    proc = _killed_import(settings, path, "committing", tmp_path)
    assert proc.returncode == -9, proc.stderr[-2000:]
    assert store.db.properties.find_one({"name": "ionic_transport_number"})["value"] == 0.615, "not applied before the kill"
    done = recover(store)
    assert done and done[0]["action"] == "rolled forward"
    assert store.db.properties.find_one({"name": "ionic_transport_number"})["value"] == 0.62
    assert store.db.properties.find_one({"name": "electronic_conductivity"})["value"] == 6e-8
    again = _import(store, path)
    assert again.counts["total"]["new"] == 0 and again.counts["total"]["changed"] == 0


def test_cli_json_report_and_list(settings, tmp_path):
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name, "IONBASE_DATA_DIR": str(tmp_path)}
    run = lambda *a: subprocess.run([sys.executable, "-m", "ionbase.service.cli", *a], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    out = run("import", str(DATA / "roundtrip.yaml"), "--dry-run", "--json")
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["status"] == "dry_run" and report["files"][0]["format"] == "yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("source: {doi: 10.1/x}\nsamples:\n  - {label: S1, material: 'Qq2'}\n")
    out = run("import", str(bad))
    assert out.returncode == 1
    assert "bad.yaml, row 3 (samples[0]), field 'samples[0].material'" in out.stderr
    out = run("import", str(DATA / "roundtrip.yaml"), "--no-analyze")
    assert out.returncode == 0 and "Imported:" in out.stdout
    total = re.search(r"Imported: (\d+) new, (\d+) changed, (\d+) unchanged", out.stdout)
    by_coll = re.search(r"by collection \(new/changed/unchanged\): (.*)", out.stdout).group(1)
    parts = [tuple(map(int, p.split()[1].split("/"))) for p in by_coll.split(", ")]
    assert tuple(map(int, total.groups())) == tuple(map(sum, zip(*parts))), "the collections add up to the total"
    listing = run("import", "list")
    assert "committed" in listing.stdout and "roundtrip.yaml" in listing.stdout


def test_unreadable_file_is_reported_once(store, tmp_path):
    (tmp_path / "broken.yaml").write_text("samples: [unclosed\n")
    with pytest.raises(ImportFailed) as err:
        _import(store, tmp_path)
    assert len(err.value.issues) == 1 and "not valid YAML" in err.value.issues[0].message
