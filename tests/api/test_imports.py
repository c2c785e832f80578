"""POST /api/v1/imports (JSON records and multipart files), batch listing, analysis runs."""

from __future__ import annotations

import io
import sys

from tests.api.conftest import API_DATA, assert_error
from tests.api.test_errors_security import IMPORT_DOC


def test_import_json_records(rw_app, store, settings, writer_token):
    client = rw_app.test_client()
    h = {"X-API-Key": writer_token}
    r = client.post("/api/v1/imports", json=IMPORT_DOC, headers=h, query_string={"dry_run": "true"})
    assert r.status_code == 200 and r.get_json()["status"] == "dry_run"
    assert store.db.properties.count_documents({}) == 0
    r = client.post("/api/v1/imports", json=IMPORT_DOC, headers=h)
    assert r.status_code == 201, r.get_json()
    report = r.get_json()
    assert report["status"] == "committed" and report["counts"]["total"]["new"] > 0
    assert report["files"][0]["path"] == "records.json"
    batch = client.get(f"/api/v1/imports/{report['batch_id']}").get_json()
    assert batch["status"] == "committed" and "user" not in batch, "key names are for admins only"
    from ionbase.service.keys import create_key, server_secret

    admin = {"X-API-Key": create_key(store, "steward", "admin", server_secret(settings))[1]}
    batch = client.get(f"/api/v1/imports/{report['batch_id']}", headers=admin).get_json()
    assert batch["status"] == "committed" and batch["user"] == "api:test-writer"
    listing = client.get("/api/v1/imports").get_json()
    assert report["batch_id"] in [b["id"] for b in listing["data"]]
    body = client.get("/api/v1/properties", query_string={"filter": 'sample="S-api"'}).get_json()
    assert body["data"][0]["value"] == 1e-7
    assert_error(client.get("/api/v1/imports/imp-none"), 404)


def test_import_invalid_records_is_422_and_writes_nothing(rw_app, store, writer_token):
    bad = dict(IMPORT_DOC, properties=[{"sample": "S-api", "name": "ionic_conductivity", "value": "1e-7 K"}])
    r = rw_app.test_client().post("/api/v1/imports", json=bad, headers={"X-API-Key": writer_token})
    body = assert_error(r, 422)
    assert body["errors"]["issues"] and "value" in body["errors"]["issues"][0].get("field", "")
    assert store.db.properties.count_documents({}) == 0


def test_import_multipart_files(rw_app, store, writer_token):
    data = {"files": [(io.BytesIO((API_DATA / "records.yaml").read_bytes()), "records.yaml")]}
    r = rw_app.test_client().post("/api/v1/imports", data=data, content_type="multipart/form-data",
                                  headers={"Authorization": f"Bearer {writer_token}"})
    assert r.status_code == 201, r.get_json()
    assert store.db.samples.count_documents({}) == 13


def test_import_without_body_is_400(rw_app, writer_token):
    r = rw_app.test_client().post("/api/v1/imports", headers={"X-API-Key": writer_token})
    assert_error(r, 400)


def test_analysis_runs(rw_app, store, writer_token, monkeypatch):
    client = rw_app.test_client()
    assert client.get("/api/v1/analysis-runs").get_json()["data"] == []
    assert_error(client.get("/api/v1/analysis-runs/none"), 404)
    # with a runner: called with the request's arguments
    import types

    calls = []
    fake = types.ModuleType("ionbase.jobs.runner")
    fake.run_jobs = lambda store_, settings_, **kw: calls.append(kw) or {"computed": 1, "failed": 0}
    monkeypatch.setitem(sys.modules, "ionbase.jobs.runner", fake)
    r = client.post("/api/v1/analysis-runs", json={"jobs": ["arrhenius"], "sample_ids": ["s1"], "force": True},
                    headers={"X-API-Key": writer_token})
    assert r.status_code == 200 and r.get_json()["result"]["computed"] == 1
    assert calls == [{"job_names": ["arrhenius"], "sample_ids": ["s1"], "force": True, "progress": False}]
    assert_error(client.post("/api/v1/analysis-runs", json={"force": "perhaps"}, headers={"X-API-Key": writer_token}), 422)


def test_batch_timestamps_have_one_format_after_commit_and_rollback(rw_app, store, writer_token):
    """started_at, finished_at and rolled_back_at are stored as datetimes (batch documents are written
    whole: nx-27017 stores a datetime set by $set as a string) and listed in one format."""
    import datetime as dt
    import re

    client = rw_app.test_client()
    h = {"X-API-Key": writer_token}
    batch_id = client.post("/api/v1/imports", json=IMPORT_DOC, headers=h).get_json()["batch_id"]
    assert client.post(f"/api/v1/imports/{batch_id}/rollback", headers=h).status_code == 200
    stored = store.import_batches.get(batch_id)
    fields = ("started_at", "finished_at", "rolled_back_at")
    assert all(isinstance(stored[f], dt.datetime) for f in fields), {f: type(stored[f]) for f in fields}
    listed = [b for b in client.get("/api/v1/imports").get_json()["data"] if b["id"] == batch_id][0]
    formats = {re.sub(r"\d", "9", str(listed[f])) for f in fields}
    assert len(formats) == 1, {f: listed[f] for f in fields}
