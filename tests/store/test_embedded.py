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
