"""Error format, auth (401/403), keys, request limits, rate limit and injection attempts."""

from __future__ import annotations

import json

import pytest

from tests.api.conftest import assert_error

IMPORT_DOC = {
    "ionbase_format": 1,
    "source": {"notebook": "API-TEST p. 1"},
    "materials": [{"key": "LiCl", "formula": "LiCl", "family": "halide"}],
    "samples": [{"label": "S-api", "material": "LiCl"}],
    "properties": [{"sample": "S-api", "name": "ionic_conductivity", "value": "1e-7 S/cm", "conditions": {"temperature": "25 °C"}}],
}


def _snapshot(store):
    return {c: store.db[c].count_documents({}) for c in ("materials", "samples", "properties", "import_batches")}


def test_error_format_404_405_422_500(client, api_app):
    assert_error(client.get("/api/v1/nope"), 404)
    body = assert_error(client.delete("/api/v1/materials"), 405)
    assert body["status"] == "Method Not Allowed"
    body = assert_error(client.get("/api/v1/properties", query_string={"page_limit": "lots"}), 422)
    assert "page_limit" in json.dumps(body["errors"])
    assert_error(client.get("/api/v1/properties", query_string={"page_limit": 0}), 422)


def test_500_uses_error_format(loaded_rw_app, store, monkeypatch):
    client = loaded_rw_app.test_client()
    monkeypatch.setattr(store, "view_as_of", lambda **kw: (_ for _ in ()).throw(RuntimeError("boom")))
    loaded_rw_app.config["PROPAGATE_EXCEPTIONS"] = False
    body = assert_error(client.get("/api/v1/properties"), 500)
    assert "boom" not in json.dumps(body)


def test_413_request_too_large(settings, store, writer_token):
    from ionbase.service.app import create_app

    app = create_app(settings.with_(max_request_bytes=1000), store=store)
    r = app.test_client().post("/api/v1/imports", data=b"x" * 5000, content_type="application/json",
                               headers={"X-API-Key": writer_token})
    assert_error(r, 413)
    # without a key the answer is 401: the key is checked before the body is read
    assert_error(app.test_client().post("/api/v1/imports", data=b"x" * 5000, content_type="application/json"), 401)


def test_writes_need_keys(rw_app, store, writer_token, reader_token):
    client = rw_app.test_client()
    body = assert_error(client.post("/api/v1/imports", json=IMPORT_DOC), 401)
    assert "API key" in body["message"]
    assert client.post("/api/v1/imports", json=IMPORT_DOC).headers["WWW-Authenticate"].startswith("Bearer")
    assert_error(client.post("/api/v1/imports", json=IMPORT_DOC, headers={"Authorization": "Bearer ib_nope.secret"}), 401)
    assert_error(client.post("/api/v1/imports", json=IMPORT_DOC, headers={"X-API-Key": reader_token}), 403)
    assert_error(client.post("/api/v1/analysis-runs", json={}, headers={"X-API-Key": reader_token}), 403)
    assert_error(client.post("/api/v1/analysis-runs", json={}), 401)
    assert _snapshot(store)["properties"] == 0
    r = client.post("/api/v1/imports", json=IMPORT_DOC, headers={"Authorization": f"Bearer {writer_token}"})
    assert r.status_code == 201, r.get_json()


def test_keys_are_hashed_and_revocable(store, settings):
    from ionbase.service.keys import create_key, list_keys, revoke_key, server_secret, verify_token

    secret = server_secret(settings)
    key_id, token = create_key(store, "k", "admin", secret)
    doc = store.db.api_keys.find_one({"_id": key_id})
    assert token.split(".", 1)[1] not in json.dumps(doc, default=str) and len(doc["hash"]) == 64
    assert verify_token(store, token, secret)["role"] == "admin"
    assert verify_token(store, token + "x", secret) is None
    assert verify_token(store, token, b"another-server-secret-of-32-chars!!") is None
    assert all("hash" not in k for k in list_keys(store))
    assert revoke_key(store, key_id) and verify_token(store, token, secret) is None
    with pytest.raises(ValueError):
        create_key(store, "k", "root", secret)


def test_keys_cli(settings, store):
    from click.testing import CliRunner

    from ionbase.service.commands.keys_cmds import keys

    runner = CliRunner()
    obj = {"settings": settings, "store": store}
    r = runner.invoke(keys, ["create", "alice", "--role", "writer"], obj=obj)
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    r = runner.invoke(keys, ["list"], obj=obj)
    assert "alice" in r.output and "writer" in r.output and token.split(".")[1] not in r.output
    r = runner.invoke(keys, ["revoke", token.split(".")[0]], obj=obj)
    assert r.exit_code == 0 and "revoked" in r.output
    assert runner.invoke(keys, ["revoke", "ib_none"], obj=obj).exit_code != 0


def test_read_requires_key_setting(settings, store, reader_token):
    from ionbase.service.app import create_app

    client = create_app(settings.with_(read_requires_key=True), store=store).test_client()
    assert_error(client.get("/api/v1/materials"), 401)
    assert client.get("/api/v1/materials", headers={"X-API-Key": reader_token}).status_code == 200
    assert client.get("/api/v1/health").status_code == 200
    assert client.get("/api/v1/openapi.json").status_code == 200


def test_rate_limit(settings, store):
    from ionbase.service.app import create_app

    client = create_app(settings.with_(rate_limit_per_minute=5), store=store).test_client()
    codes = [client.get("/api/v1/health").status_code for _ in range(7)]
    assert codes[:5] == [200] * 5 and codes[5:] == [429, 429]
    r = client.get("/api/v1/health")
    assert_error(r, 429)
    assert int(r.headers["Retry-After"]) >= 1
    other = client.get("/api/v1/health", environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert other.status_code == 200


@pytest.mark.parametrize("params", [
    {"filter": '$where="sleep(1000)"'},
    {"filter": 'value > 1 OR "$where" = "1"'},
    {"sort": "$natural"},
    {"fields": "$where"},
    {"page_cursor": "$gt"},
    {"unit": "$eq"},
    {"$where": "1"},
    {"filter[$ne]": "x"},
    {"filter": "value>1 AND " * 2000 + "value>1"},
    {"filter": "(" * 500 + "value>1" + ")" * 500},
    {"filter": 'sample CONTAINS "(a+)+$"'},
])
def test_injection_attempts_are_400(loaded_rw_app, store, params):
    client = loaded_rw_app.test_client()
    before = _snapshot(store)
    r = client.get("/api/v1/properties", query_string=params)
    assert r.status_code in (400, 414, 422), r.get_json()  # 414: a URL over 8,190 characters
    assert_error(r, r.status_code)
    assert _snapshot(store) == before


def test_regex_metacharacters_are_literal(client):
    r = client.get("/api/v1/properties", query_string={"filter": 'sample CONTAINS "(a+)+b"'})
    assert r.status_code == 200 and r.get_json()["data"] == []
    r = client.get("/api/v1/properties", query_string={"filter": 'sample CONTAINS ".*"'})
    assert r.get_json()["data"] == []  # literal ".*", not "anything"
    r = client.get("/api/v1/properties", query_string={"filter": 'sample STARTS WITH "NCB-BM"'})
    assert {d["sample_label"] for d in r.get_json()["data"]} == {"NCB-BM-15min", "NCB-BM-1h", "NCB-BM-6h"}


@pytest.mark.parametrize("body", [
    {"$where": "function() { return true }"},
    {"ionbase_format": 1, "samples": [{"label": {"$gt": ""}, "material": "x"}]},
    {"jobs": [{"$ne": None}]},
    json.loads("[" * 40 + "]" * 40),
])
def test_operator_objects_in_json_bodies_are_400(rw_app, store, writer_token, body):
    client = rw_app.test_client()
    before = _snapshot(store)
    for path in ("/api/v1/imports", "/api/v1/analysis-runs"):
        r = client.post(path, json=body, headers={"X-API-Key": writer_token})
        assert_error(r, 400)
    assert _snapshot(store) == before


def test_bad_json_body_is_400(rw_app, writer_token):
    r = rw_app.test_client().post("/api/v1/imports", data="{nope", content_type="application/json",
                                  headers={"X-API-Key": writer_token})
    assert_error(r, 400)


def test_every_credential_sent_must_be_usable(rw_app, writer_token):
    """A non-Bearer Authorization header or a second, different key is refused, not skipped for X-API-Key."""
    client = rw_app.test_client()
    url = "/api/v1/imports?dry_run=true"
    assert client.post(url, json={}, headers={"X-API-Key": writer_token}).status_code == 200
    assert client.post(url, json={}, headers={"Authorization": f"Bearer {writer_token}",
                                              "X-API-Key": writer_token}).status_code == 200
    for authorization in ("Basic dXNlcjpwYXNz", "Bearer", f"Token {writer_token}", f"Bearer {writer_token}x"):
        r = client.post(url, json={}, headers={"Authorization": authorization, "X-API-Key": writer_token})
        body = assert_error(r, 401)
        assert r.headers["WWW-Authenticate"].startswith("Bearer"), body


def test_a_bad_key_sent_to_an_open_read_is_refused(rw_app, writer_token):
    """Reads are open, but a key that is sent is verified there too: a bad one is 401, not ignored."""
    client = rw_app.test_client()
    for url in ("/api/v1/materials", "/api/v1/properties?page_limit=1", "/api/v1/health"):
        assert client.get(url).status_code == 200
        assert client.get(url, headers={"X-API-Key": writer_token}).status_code == 200
        for headers in ({"Authorization": "Basic dXNlcjpwYXNz"}, {"X-API-Key": writer_token + "x"},
                        {"Authorization": f"Bearer {writer_token}", "X-API-Key": "other"}):
            assert_error(client.get(url, headers=headers), 401)
    assert client.get("/api/v1/docs", headers={"Authorization": "Basic dXNlcjpwYXNz"}).status_code == 200


def test_unknown_method_is_405_before_the_url_guards(client):
    long_filter = "x" * 9000  # a GET with it is a 414 (test_hardening)
    assert_error(client.open("/api/v1/properties", method="TRACE", query_string={"filter": long_filter}), 405)
    assert_error(client.open("/api/v1/properties", method="TRACE", query_string={"filter": "$gt"}), 405)
