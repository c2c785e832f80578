"""The embedded nx-27017 store: started on demand, reused by a second process, data kept across restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ionbase.settings import Settings
from store import open_store

pytestmark = pytest.mark.skipif(bool(os.environ.get("MONGODB_URI")), reason="embedded store only")


def test_data_survive_a_restart(tmp_path):
    settings = Settings(data_dir=tmp_path, db_name="persist")
    st = open_store(settings)
    assert st.kind == "embedded" and st.embedded.owner
    st.db.materials.insert_one({"_id": "mat-x", "formula": "Mg3AsN"})
    pid = st.embedded.pid
    st.close()
    assert not (tmp_path / "embedded-store.json").exists(), "the owner removes its state file on stop"
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert (tmp_path / "mongo" / "persist.db").exists(), "the SQLite data file lives in the data directory"
    st2 = open_store(settings)
    try:
        assert st2.db.materials.find_one({"_id": "mat-x"})["formula"] == "Mg3AsN"
    finally:
        st2.close()


def test_second_process_reuses_the_running_server(tmp_path):
    settings = Settings(data_dir=tmp_path, db_name="reuse")
    st = open_store(settings)
    try:
        env = {**os.environ, "IONBASE_DATA_DIR": str(tmp_path), "IONBASE_DB_NAME": "reuse"}
        env.pop("MONGODB_URI", None)
        out = subprocess.run([sys.executable, "-m", "service.cli", "db", "status", "--json"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
        status = json.loads(out.stdout)
        assert status["store"] == "embedded"
        assert status["embedded"]["port"] == st.embedded.port
        assert status["embedded"]["pid"] == st.embedded.pid
        assert status["embedded"]["owner"] is False
        assert "materials" in status["collections"]
        assert st.client.admin.command("ping")["ok"] == 1, "the first process's server is still up"
    finally:
        st.close()


def test_status_redacts_credentials():
    from store import redact_uri

    assert redact_uri("mongodb://user:secret@db.example:27017/?replicaSet=rs0") == "mongodb://***@db.example:27017/?replicaSet=rs0"


def test_sigterm_stops_the_embedded_server(tmp_path):
    """`ionbase serve` stopped by SIGTERM stops the server it started and removes its state file."""
    import signal
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "IONBASE_DATA_DIR": str(tmp_path), "IONBASE_PORT": str(port), "IONBASE_DB_NAME": "sigterm"}
    env.pop("MONGODB_URI", None)
    proc = subprocess.Popen([sys.executable, "-m", "ionbase", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = tmp_path / "embedded-store.json"
    deadline = time.time() + 60
    while not state.exists() and time.time() < deadline:
        time.sleep(0.2)
    assert state.exists(), proc.stdout.read(2000) if proc.poll() is not None else "server did not start"
    server_pid = json.loads(state.read_text())["pid"]
    time.sleep(1.0)
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    for _ in range(50):
        try:
            os.kill(server_pid, 0)
            time.sleep(0.1)
        except ProcessLookupError:
            break
    else:
        pytest.fail("the embedded server outlived the Ionbase process")
    assert not state.exists()
