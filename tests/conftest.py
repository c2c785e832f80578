"""Shared fixtures: one embedded nx-27017 server per test session, a fresh database per test.

Tests talk to the store over the wire with pymongo, exactly as the application does. When
MONGODB_URI is set, the same tests run against that server instead.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import pytest
from hypothesis import settings as hypothesis_settings

from ionbase.settings import Settings

# CI replays the same generated examples every run (a red CI then means a change broke something);
# developers' runs draw new examples, and a failure found there becomes a fix plus a pinned case.
hypothesis_settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    hypothesis_settings.load_profile("ci")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "data"
SEED = REPO / "seed_data"


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("ionbase-data")


@pytest.fixture(scope="session")
def base_settings(data_dir) -> Settings:
    uri = os.environ.get("MONGODB_URI")
    return Settings(mongodb_uri=uri or None, data_dir=data_dir, db_name="ionbase_test", testing=True)


@pytest.fixture(scope="session")
def server_uri(base_settings) -> str:
    """Start (or reuse) the embedded server once for the session."""
    if base_settings.mongodb_uri:
        return base_settings.mongodb_uri
    from ionbase.store.embedded import EmbeddedServer

    server = EmbeddedServer(base_settings.data_dir)
    uri = server.ensure_running()
    yield uri
    server.shutdown()


@pytest.fixture()
def settings(base_settings, server_uri) -> Settings:
    """Settings pointing at the session's server with a fresh database for this test."""
    return base_settings.with_(mongodb_uri=server_uri, db_name=f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture()
def store(settings):
    from ionbase.store import open_store

    st = open_store(settings)
    yield st
    st.client.drop_database(settings.db_name)
    st.client.close()


@pytest.fixture(scope="session")
def seeded_settings(base_settings, server_uri) -> Settings:
    """A database loaded once per session with seed_data/ (read-only for tests)."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.store import open_store

    s = base_settings.with_(mongodb_uri=server_uri, db_name=f"seed_{uuid.uuid4().hex[:8]}")
    st = open_store(s)
    Importer(st, ImportOptions()).run([SEED])
    try:
        from ionbase.jobs.runner import run_jobs

        run_jobs(st, s, progress=False)
    except ImportError:
        pass
    yield s
    st.client.drop_database(s.db_name)
    st.client.close()


@pytest.fixture()
def seeded_store(seeded_settings):
    from ionbase.store import open_store

    st = open_store(seeded_settings, create_indexes=False)
    yield st
    st.client.close()


@pytest.fixture()
def app_client_for(settings):
    """A test client of the real application (create_app) over a given store."""

    def make(store):
        from ionbase.service.app import create_app

        return create_app(settings, store=store).test_client()

    return make
