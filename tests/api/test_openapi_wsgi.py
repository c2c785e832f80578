"""OpenAPI document, docs pages, and serving through gunicorn."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def test_openapi_is_valid(client):
    spec = client.get("/api/v1/openapi.json").get_json()
    from openapi_spec_validator import validate

    validate(spec)
    paths = spec["paths"]
    for p in ("/api/v1/properties", "/api/v1/trends/synthesis", "/api/v1/trends/composition",
              "/api/v1/samples/{sample_id}/arrhenius", "/api/v1/measurements/{measurement_id}/data",
              "/api/v1/imports", "/api/v1/analysis-runs", "/api/v1/health"):
        assert p in paths, p
    assert paths["/api/v1/imports"]["post"]["security"] == [{"bearerAuth": []}, {"apiKeyHeader": []}]
    assert {"bearerAuth", "apiKeyHeader"} <= set(spec["components"]["securitySchemes"])
    err = spec["components"]["schemas"]["Error"]["properties"]
    assert set(err) == {"code", "status", "message", "errors"}
    params = {p["name"] for p in paths["/api/v1/properties"]["get"]["parameters"]}
    assert {"filter", "sort", "fields", "page_limit", "page_cursor", "include_total", "unit", "expand"} <= params


def test_docs_pages(client):
    for path in ("/api/v1/docs", "/api/v1/redoc"):
        r = client.get(path)
        assert r.status_code == 200 and b"openapi.json" in r.data  # assets come from a CDN


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_factory_serves_health(api_settings, tmp_path):
    port = _free_port()
    env = dict(os.environ, MONGODB_URI=api_settings.mongodb_uri, IONBASE_DB_NAME=api_settings.db_name,
               IONBASE_DATA_DIR=str(tmp_path), PYTHONPATH=str(REPO))
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "-w", "1", "-b", f"127.0.0.1:{port}", "--timeout", "30",
         "ionbase.service.wsgi:create_wsgi_app()"],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        body = None
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                pytest.fail("gunicorn exited: " + proc.stdout.read().decode(errors="replace")[-3000:])
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/health", timeout=2) as resp:
                    body = resp.read().decode()
                    break
            except OSError:
                time.sleep(0.05)
        assert body is not None, "gunicorn did not answer"
        import json

        data = json.loads(body)
        assert data["status"] == "ok" and data["store"]["kind"] == "uri"
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/properties?page_limit=1", timeout=5) as resp:
            assert json.loads(resp.read())["meta"]["returned"] == 1
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_lazy_module_app_builds_on_first_call(monkeypatch, api_settings, tmp_path):
    import ionbase.service.wsgi as w

    monkeypatch.setenv("MONGODB_URI", api_settings.mongodb_uri)
    monkeypatch.setenv("IONBASE_DB_NAME", api_settings.db_name)
    monkeypatch.setenv("IONBASE_DATA_DIR", str(tmp_path))
    lazy = w._LazyApp()
    assert lazy._app is None
    from werkzeug.test import Client

    r = Client(lazy).get("/api/v1/health")
    assert r.status_code == 200 and lazy._app is not None


def test_health_is_503_when_the_store_is_down(tmp_path):
    """A stopped embedded store: health answers 503 in the error format (not a hang or 500), and the
    app starts a new supervisor in the background, so it is healthy again without a restart."""
    import time

    from ionbase.settings import Settings
    from ionbase.service.app import create_app
    from ionbase.store import open_store

    settings = Settings(data_dir=tmp_path, db_name="health_down", testing=True)
    st = open_store(settings)
    app = create_app(settings, store=st)
    client = app.test_client()
    assert client.get("/api/v1/health").status_code == 200
    st.embedded.shutdown()
    r = client.get("/api/v1/health")
    assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
    body = r.get_json()
    assert body["code"] == 503 and "does not answer" in body["message"]
    try:
        deadline = time.monotonic() + 30
        while client.get("/api/v1/health").status_code != 200:
            assert time.monotonic() < deadline, "the store was not revived within 30 s"
            time.sleep(0.1)
    finally:
        if st.embedded._revive is not None:
            st.embedded._revive.join(timeout=30)
        st.embedded.shutdown()
        st.client.close()
