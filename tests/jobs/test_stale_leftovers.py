"""A killed ``ionbase analyze`` leaves no run ``running`` forever, and a killed POST /imports leaves
no upload folder behind: ``ionbase import recover`` (and analyze/serve start-up) clean them once the
owning process is gone, and leave those of live processes alone (jobs/runs.py,
service/imports/uploads.py). The processes here are real and are killed with SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runs import recover_stale_runs

REPO = Path(__file__).resolve().parents[2]
LAB = REPO / "tests" / "data" / "lab" / "roundtrip.yaml"

#: runs the analysis jobs with a computation that blocks, so the run is caught while "running"
ANALYZE = textwrap.dedent("""\
    import sys, time
    from pathlib import Path
    from ionbase.settings import Settings
    from ionbase.store import open_store
    from ionbase.jobs import runner

    def blocked(self, job_name, inputs):
        print("computing", flush=True)
        time.sleep(600)

    runner._Executor.map = blocked
    settings = Settings(mongodb_uri=sys.argv[1], db_name=sys.argv[2], data_dir=Path(sys.argv[3]))
    runner.run_jobs(open_store(settings, create_indexes=False), settings)
    """)

#: a POST /imports through the real view, whose importer blocks after the upload is saved
UPLOAD = textwrap.dedent("""\
    import io, sys, time
    from pathlib import Path
    from ionbase.settings import Settings
    from ionbase.store import open_store
    from ionbase.service.app import create_app
    from ionbase.service.keys import create_key, server_secret
    from ionbase.ingest import importer

    def blocked(self, paths):
        print("importing", *paths, flush=True)
        time.sleep(600)

    importer.Importer.run = blocked
    settings = Settings(mongodb_uri=sys.argv[1], db_name=sys.argv[2], data_dir=Path(sys.argv[3]))
    store = open_store(settings, create_indexes=False)
    token = create_key(store, "upload-" + sys.argv[4], "writer", server_secret(settings))[1]
    client = create_app(settings, store=store).test_client()
    client.post("/api/v1/imports", data={"files": (io.BytesIO(b"source: {doi: 10.1/x}"), "lab.yaml")},
                content_type="multipart/form-data", headers={"X-API-Key": token})
    """)


def _start(script: str, settings, tmp_path: Path, *extra: str) -> tuple[subprocess.Popen, str]:
    """Start a script in its own process; return it and its first line of output (it is then blocked)."""
    path = tmp_path / f"script_{len(list(tmp_path.glob('script_*')))}.py"
    path.write_text(script)
    proc = subprocess.Popen([sys.executable, str(path), settings.mongodb_uri, settings.db_name, str(settings.data_dir), *extra],
                            cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = proc.stdout.readline()
    if not line:
        proc.wait(timeout=30)
        raise AssertionError(f"the script ended before blocking: {proc.stderr.read()[-3000:]}")
    return proc, line.strip()


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)


def _cli(settings, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name,
           "IONBASE_DATA_DIR": str(settings.data_dir)}
    return subprocess.run([sys.executable, "-m", "ionbase", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def test_killed_analysis_run_is_marked_failed_live_one_is_not(store, settings, tmp_path):
    Importer(store, ImportOptions()).run([LAB])
    live, _ = _start(ANALYZE, settings, tmp_path)
    killed, _ = _start(ANALYZE, settings, tmp_path)
    try:
        runs = {r["pid"]: r for r in store.analysis_runs.find({"status": "running"})}
        assert set(runs) == {live.pid, killed.pid} and runs[killed.pid]["host"] and runs[killed.pid]["heartbeat_at"]
        assert recover_stale_runs(store) == [], "both processes are alive"
        _kill(killed)
        # analyze start-up cleans stale runs (its own run, of one small job, has little to do)
        out = _cli(settings, "analyze", "--job", "crystallography", "--json")
        assert out.returncode == 0, out.stderr
        assert f"process {killed.pid}" in out.stderr and "marked failed" in out.stderr
        dead = store.analysis_runs.get(runs[killed.pid]["_id"])
        assert dead["status"] == "failed" and dead["recovered"] == "process gone" and dead["finished_at"]
        assert f"its process {killed.pid} on" in dead["errors"][-1]["message"]
        assert store.analysis_runs.get(runs[live.pid]["_id"])["status"] == "running"
        assert recover_stale_runs(store) == []
    finally:
        for proc in (live, killed):
            if proc.poll() is None:
                _kill(proc)
    [entry] = recover_stale_runs(store)
    assert entry["run"] == runs[live.pid]["_id"] and entry["action"] == "marked failed"


def test_killed_upload_folder_is_removed_by_recover(store, settings, tmp_path):
    live, line_live = _start(UPLOAD, settings, tmp_path, "live")
    killed, line_killed = _start(UPLOAD, settings, tmp_path, "killed")
    try:
        folder_live, folder_killed = Path(line_live.split()[1]), Path(line_killed.split()[1])
        assert folder_killed.parent == settings.data_dir / "uploads" and (folder_killed / "lab.yaml").is_file()
        _kill(killed)
        assert folder_killed.is_dir(), "a killed process cannot clean up after itself"
        out = _cli(settings, "import", "recover")
        assert out.returncode == 0, out.stderr
        assert f"{folder_killed.name}: removed (process {killed.pid} is gone)" in out.stderr
        assert not folder_killed.exists()
        assert folder_live.is_dir() and (folder_live / "lab.yaml").is_file(), "a live upload is left alone"
    finally:
        for proc in (live, killed):
            if proc.poll() is None:
                _kill(proc)
    out = _cli(settings, "import", "recover")
    assert f"removed (process {live.pid} is gone)" in out.stderr and not folder_live.exists()
