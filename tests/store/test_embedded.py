"""The embedded nx-27017 store: started on demand, reused by a second process, data kept across restarts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from ionbase.settings import Settings
from ionbase.store import open_store
from ionbase.store.embedded import pid_alive

pytestmark = pytest.mark.skipif(bool(os.environ.get("MONGODB_URI")), reason="embedded store only")


def test_data_survive_a_restart(tmp_path):
    settings = Settings(data_dir=tmp_path, db_name="persist")
    st = open_store(settings)
    assert st.kind == "embedded"
    st.db.materials.insert_one({"_id": "mat-x", "formula": "Mg3AsN"})
    pid, supervisor = st.embedded.pid, st.embedded.current()["supervisor_pid"]
    st.embedded.shutdown()
    st.client.close()
    port = st.embedded.port
    assert json.loads((tmp_path / "embedded-store.json").read_text())["status"] == "stopped"
    assert not pid_alive(pid) and not pid_alive(supervisor), "server and supervisor are gone (a zombie counts as gone)"
    assert (tmp_path / "mongo" / "persist.db").exists(), "the SQLite data file lives in the data directory"
    st2 = open_store(settings)
    try:
        assert st2.db.materials.find_one({"_id": "mat-x"})["formula"] == "Mg3AsN"
        assert st2.embedded.port == port, "a new supervisor takes the previous port again when it is free"
    finally:
        st2.embedded.shutdown()


def test_second_process_reuses_the_running_server(tmp_path):
    settings = Settings(data_dir=tmp_path, db_name="reuse")
    st = open_store(settings)
    try:
        env = {**os.environ, "IONBASE_DATA_DIR": str(tmp_path), "IONBASE_DB_NAME": "reuse"}
        env.pop("MONGODB_URI", None)
        out = subprocess.run([sys.executable, "-m", "ionbase.service.cli", "db", "status", "--json"], env=env,
                             capture_output=True, text=True, timeout=120, check=True)
        status = json.loads(out.stdout)
        assert status["store"] == "embedded"
        assert status["embedded"]["port"] == st.embedded.port
        assert status["embedded"]["pid"] == st.embedded.pid
        assert status["embedded"]["supervisor_pid"] == st.embedded.current()["supervisor_pid"]
        assert status["embedded"]["status"] == "up" and status["embedded"]["restarts"] == 0
        assert "materials" in status["collections"]
        assert st.client.admin.command("ping")["ok"] == 1, "the second process's exit left the server up"
    finally:
        st.embedded.shutdown()


def test_status_redacts_credentials():
    from ionbase.store import redact_uri

    assert redact_uri("mongodb://user:secret@db.example:27017/?replicaSet=rs0") == "mongodb://***@db.example:27017/?replicaSet=rs0"


def test_store_stops_after_its_last_client_and_not_before(tmp_path):
    """`ionbase serve` stopped by SIGTERM: the store outlives it by the idle grace, then stops and cleans up."""
    import signal
    import socket
    import time

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "IONBASE_DATA_DIR": str(tmp_path), "IONBASE_PORT": str(port), "IONBASE_DB_NAME": "sigterm",
           "IONBASE_EMBEDDED_IDLE_EXIT_S": "2"}
    env.pop("MONGODB_URI", None)
    proc = subprocess.Popen([sys.executable, "-m", "ionbase", "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    state = tmp_path / "embedded-store.json"
    try:
        deadline = time.time() + 60
        while not (state.exists() and json.loads(state.read_text())["status"] == "up") and time.time() < deadline:
            time.sleep(0.2)
        assert state.exists(), proc.stdout.read(2000) if proc.poll() is not None else "server did not start"
        info = json.loads(state.read_text())
        time.sleep(3.0)  # longer than the idle grace: serve is a client, so the store stays
        assert json.loads(state.read_text())["pid"] == info["pid"]
        os.kill(info["pid"], 0)
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    for _ in range(100):
        if not pid_alive(info["supervisor_pid"]):
            break
        time.sleep(0.1)
    else:
        pytest.fail("the supervisor outlived its last client by more than 10 s")
    assert not pid_alive(info["pid"])
    assert json.loads(state.read_text())["status"] == "stopped"
