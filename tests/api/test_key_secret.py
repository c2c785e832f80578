"""API keys are HMAC-SHA256 under a server secret kept outside the store (issue 14, point 3).

The embedded store has no authentication: any local process can insert an ``api_keys`` document.
Without the secret file (mode 0600, readable only by its owner) such a document never validates.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import stat

import pytest

from tests.api.conftest import assert_error


def _forge(store, role: str = "admin") -> str:
    """What a local writer could do before: insert a key document hashed as sha256(key id:secret)."""
    key_id, secret = "ib_f0f0f0f0f0f0", "forged-secret"
    store.db.api_keys.insert_one({
        "_id": key_id, "name": "intruder", "role": role, "revoked": False,
        "hash": hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest(),
        "created_at": dt.datetime(2026, 1, 1),
    })
    return f"{key_id}.{secret}"


def test_forged_key_document_is_refused_401(rw_app, store, writer_token):
    client = rw_app.test_client()
    forged = _forge(store)
    body = assert_error(client.post("/api/v1/analysis-runs", json={}, headers={"Authorization": f"Bearer {forged}"}), 401)
    assert "not valid" in body["message"]
    assert_error(client.post("/api/v1/imports/imp-x/rollback", headers={"X-API-Key": forged}), 401)
    # a real key made with the secret still works
    r = client.post("/api/v1/analysis-runs", json={"jobs": ["eis"]}, headers={"X-API-Key": writer_token})
    assert r.status_code == 200, r.get_json()


def test_secret_file_created_0600_once_and_reused(settings, tmp_path):
    from ionbase.service.keys import server_secret

    s = settings.with_(data_dir=tmp_path / "data")
    first = server_secret(s)
    path = tmp_path / "data" / "server.secret"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600 and path.stat().st_uid == os.geteuid()
    assert len(first) >= 32 and server_secret(s) == first
    assert [p.name for p in (tmp_path / "data").iterdir()] == ["server.secret"], "no temporary file left behind"


def test_secret_file_from_environment_and_mode_checked(tmp_path):
    from ionbase.service.keys import SecretFileError, server_secret
    from ionbase.settings import Settings

    path = tmp_path / "etc" / "ionbase.secret"
    s = Settings.from_env({"IONBASE_SECRET_FILE": str(path), "IONBASE_DATA_DIR": str(tmp_path / "d")})
    assert s.secret_path == path
    secret = server_secret(s)
    assert path.read_bytes() == secret and not (tmp_path / "d" / "server.secret").exists()
    path.chmod(0o644)
    with pytest.raises(SecretFileError, match="chmod 600"):
        server_secret(s)
    path.chmod(0o600)
    path.write_text("short")
    with pytest.raises(SecretFileError, match="no usable server secret"):
        server_secret(s)


def test_keys_made_under_another_secret_do_not_validate(settings, store, tmp_path):
    """A key is bound to the secret it was made with: a copy of the store alone is not enough."""
    from ionbase.service.app import create_app
    from ionbase.service.keys import create_key, server_secret

    token = create_key(store, "k", "writer", server_secret(settings))[1]
    other = settings.with_(secret_file=tmp_path / "other.secret")
    client = create_app(other, store=store).test_client()
    assert_error(client.post("/api/v1/analysis-runs", json={}, headers={"X-API-Key": token}), 401)
    assert create_app(settings, store=store).test_client().post(
        "/api/v1/analysis-runs", json={"jobs": ["eis"]}, headers={"X-API-Key": token}).status_code == 200
