"""API fixtures: a session database loaded with tests/data/api, apps and clients over it."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest

API_DATA = Path(__file__).resolve().parents[1] / "data" / "api"


@pytest.fixture(scope="session")
def api_settings(base_settings, server_uri):
    """A database loaded once per session with tests/data/api/records.yaml (read-only for tests)."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.store import open_store

    s = base_settings.with_(mongodb_uri=server_uri, db_name=f"api_{uuid.uuid4().hex[:8]}")
    st = open_store(s)
    Importer(st, ImportOptions()).run([API_DATA / "records.yaml"])
    yield s
    st.client.drop_database(s.db_name)
    st.client.close()


@pytest.fixture(scope="session")
def api_store(api_settings):
    from ionbase.store import open_store

    st = open_store(api_settings, create_indexes=False)
    yield st
    st.client.close()


@pytest.fixture(scope="session")
def api_app(api_settings, api_store):
    from ionbase.service.app import create_app

    return create_app(api_settings, store=api_store)


@pytest.fixture()
def client(api_app):
    return api_app.test_client()


@pytest.fixture()
def rw_app(settings, store):
    """An app over a fresh, empty database (for tests that write)."""
    from ionbase.service.app import create_app

    return create_app(settings, store=store)


@pytest.fixture()
def loaded_rw_app(rw_app, store):
    """Fresh database with the API test records (for tests that write or mutate)."""
    from ionbase.ingest.importer import Importer, ImportOptions

    Importer(store, ImportOptions()).run([API_DATA / "records.yaml"])
    return rw_app


@pytest.fixture()
def writer_token(store, settings):
    from ionbase.service.keys import create_key, server_secret

    return create_key(store, "test-writer", "writer", server_secret(settings))[1]


@pytest.fixture()
def reader_token(store, settings):
    from ionbase.service.keys import create_key, server_secret

    return create_key(store, "test-reader", "reader", server_secret(settings))[1]


def props(client, **params):
    """GET /api/v1/properties and return (status, json)."""
    r = client.get("/api/v1/properties", query_string=params)
    return r.status_code, r.get_json()


def assert_error(resp, status: int):
    body = resp.get_json()
    assert resp.status_code == status, (resp.status_code, body)
    assert set(body) >= {"code", "status", "message"}, body
    assert body["code"] == status
    assert isinstance(body["status"], str) and isinstance(body["message"], str)
    return body
