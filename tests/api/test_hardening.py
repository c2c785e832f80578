"""Leaks and error paths of issue 14, point 7: authorisation before validation on every write
endpoint, no server details in /imports for readers, no Host header in links, security headers,
422/400 instead of 500, JSON 414 for long URLs."""

from __future__ import annotations

import json
import re
import socket

import pytest

from tests.api.conftest import API_DATA, assert_error

WRITE_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
BAD_BODIES = [
    ("application/json", b"{nope"),
    ("application/json", json.dumps({"$where": "1", "jobs": "x"}).encode()),
    ("application/json", b"[" * 5000 + b"]" * 5000),
    ("multipart/form-data; boundary=zz", b"--zz\r\nbroken"),
]


def _write_rules(app):
    out = []
    for rule in app.url_map.iter_rules():
        for method in sorted((rule.methods or set()) & WRITE_METHODS):
            url = re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", r"x-\1", rule.rule)
            out.append((method, url, app.view_functions[rule.endpoint]))
    return out


def test_every_write_endpoint_declares_a_role_and_authorises_before_reading_the_body(settings, store, reader_token):
    from ionbase.service.app import create_app

    app = create_app(settings.with_(max_request_bytes=1000), store=store)
    rules = _write_rules(app)
    assert {(m, u) for m, u, _ in rules} >= {("POST", "/api/v1/imports"), ("POST", "/api/v1/analysis-runs"),
                                              ("POST", "/api/v1/imports/x-batch_id/rollback")}
    client = app.test_client()
    for method, url, view in rules:
        assert getattr(view, "ionbase_required_role", None) in ("writer", "admin"), f"{method} {url} has no role"
        for ctype, body in BAD_BODIES + [("application/json", b"[" + b"1," * 5000 + b"1]")]:  # the last is over 1000 bytes
            assert_error(client.open(url, method=method, data=body, content_type=ctype), 401)
            assert_error(client.open(url, method=method, data=body, content_type=ctype,
                                     headers={"X-API-Key": reader_token}), 403)
        assert_error(client.open(url, method=method, query_string={"bogus": "1"}), 401)


def test_unknown_job_is_422_and_deep_json_400(rw_app, writer_token):
    client = rw_app.test_client()
    body = assert_error(client.post("/api/v1/analysis-runs", json={"jobs": ["nope"]}, headers={"X-API-Key": writer_token}), 422)
    (message,), = body["errors"]["json"]["jobs"].values()  # {"0": [...]}: the first job name
    assert message.startswith("unknown job 'nope'; known: arrhenius"), body
    deep = "[" * 5000 + "]" * 5000
    for path in ("/api/v1/analysis-runs", "/api/v1/imports"):
        body = assert_error(client.post(path, data=deep, content_type="application/json",
                                        headers={"X-API-Key": writer_token}), 400)
        assert "nested deeper" in body["message"]


@pytest.fixture()
def batches(store, settings, tmp_path):
    """One batch imported by the CLI path (login user, absolute paths) and one through the API (key name)."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.service.app import create_app
    from ionbase.service.keys import create_key, server_secret

    Importer(store, ImportOptions()).run([API_DATA / "records.yaml"])
    secret = server_secret(settings)
    tokens = {role: create_key(store, f"alice-{role}-key", role, secret)[1] for role in ("reader", "writer", "admin")}
    client = create_app(settings, store=store).test_client()
    doc = {"source": {"notebook": "NB-LEAK"}, "samples": [{"label": "L1", "material": "Na3InCl6"}]}
    r = client.post("/api/v1/imports", json=doc, headers={"X-API-Key": tokens["writer"]})
    assert r.status_code == 201, r.get_json()
    return client, tokens


def _secrets_in(text: str) -> list[str]:
    """Server details found in an API answer: host name, absolute paths, process ids, user and key names."""
    import getpass

    found = [s for s in (socket.gethostname(), str(API_DATA), "/tmp/", "ionbase-upload", "alice-", "api:",
                         f'"{getpass.getuser()}"') if s in text]
    return found + re.findall(r'"pid":\s*\d+|"host":|"user":', text)


def test_imports_hide_server_details_from_readers(batches):
    client, tokens = batches
    for headers in ({}, {"X-API-Key": tokens["reader"]}, {"X-API-Key": tokens["writer"]}):
        r = client.get("/api/v1/imports", headers=headers)
        assert r.status_code == 200
        page = r.get_json()
        assert len(page["data"]) == 2
        text = json.dumps(page)
        assert _secrets_in(text) == [], headers
        one = client.get(f"/api/v1/imports/{page['data'][0]['id']}",
                         headers=headers)
        assert one.status_code == 200 and _secrets_in(json.dumps(one.get_json())) == []
        names = sorted(f["name"] for b in page["data"] for f in b["files"])
        assert names == ["records.json", "records.yaml"], "file names and hashes stay visible"
        assert all(len(f["sha256"]) == 64 for b in page["data"] for f in b["files"])
    admin = json.dumps(client.get("/api/v1/imports", headers={"X-API-Key": tokens["admin"]}).get_json())
    assert socket.gethostname() in admin and str(API_DATA) in admin and "alice-writer-key" in admin


def test_next_link_does_not_echo_the_host_header(client):
    r = client.get("/api/v1/properties", query_string={"page_limit": 2}, headers={"Host": "evil.example:666"})
    nxt = r.get_json()["meta"]["next"]
    assert nxt.startswith("/api/v1/properties?") and "evil" not in nxt
    assert client.get(nxt).status_code == 200


@pytest.mark.parametrize("path,status", [
    ("/api/v1/properties?page_limit=1", 200), ("/api/v1/nope", 404), ("/api/v1/openapi.json", 200),
    ("/api/v1/docs", 200), ("/api/v1/export?format=csv", 200), ("/api/v1/health", 200),
])
def test_security_headers_on_every_response(client, path, status):
    r = client.get(path)
    assert r.status_code == status
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "img-src 'self' data:" in csp
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "no-referrer"
    assert "cdn" not in csp and "https:" not in csp  # nothing from another host, the docs pages included
    if path != "/api/v1/docs":
        assert "unsafe-inline" not in csp


def test_web_pages_get_the_same_headers(client):
    r = client.get("/")
    assert r.status_code == 200 and r.headers["Referrer-Policy"] == "no-referrer"
    csp = r.headers["Content-Security-Policy"]
    assert "script-src 'self';" in csp and "frame-ancestors 'none'" in csp and "https:" not in csp


def test_security_headers_on_auth_errors(rw_app):
    r = rw_app.test_client().post("/api/v1/analysis-runs", json={})
    assert r.status_code == 401 and "frame-ancestors 'none'" in r.headers["Content-Security-Policy"]


def test_long_url_is_a_json_414(client):
    body = assert_error(client.get("/api/v1/properties", query_string={"filter": "x" * 9000}), 414)
    assert "8190" in body["message"]
