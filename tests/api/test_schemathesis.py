"""Property-based API testing with schemathesis against the app's own OpenAPI document.

Runs in the default suite (marked slow): every operation gets up to MAX_EXAMPLES generated
requests; together at least 1,000. Checks: no 5xx, documented status codes and content types,
responses valid against their schemas (including the Error schema), documented headers.
"""

from __future__ import annotations

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.api.conftest import API_DATA

MAX_EXAMPLES = 60
MIN_TOTAL = 1000
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance, response_headers_conformance]
_calls = {"n": 0}


@pytest.fixture(scope="module")
def fuzz_app(base_settings, server_uri):
    """A dedicated database (the fuzzer may import records) with the API test records."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.service.app import create_app
    from ionbase.service.keys import create_key, server_secret
    from ionbase.store import open_store

    s = base_settings.with_(mongodb_uri=server_uri, db_name=f"fuzz_{uuid.uuid4().hex[:8]}")
    st = open_store(s)
    Importer(st, ImportOptions()).run([API_DATA / "records.yaml"])
    app = create_app(s, store=st)
    app.config["IONBASE_TEST_TOKEN"] = create_key(st, "fuzzer", "writer", server_secret(s))[1]
    yield app
    st.client.drop_database(s.db_name)
    st.client.close()


@pytest.fixture(scope="module")
def api_schema(fuzz_app):
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app)


schema = schemathesis.pytest.from_fixture("api_schema")


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_conforms_to_its_openapi(case, fuzz_app):
    headers = {}
    if case.operation.path == "/api/v1/imports" and case.method.upper() == "POST":
        headers["X-API-Key"] = fuzz_app.config["IONBASE_TEST_TOKEN"]
    _calls["n"] += 1
    case.call_and_validate(headers=headers, checks=CHECKS)


@pytest.mark.slow
def test_enough_generated_requests():
    """Runs after the fuzzing test in this module: at least MIN_TOTAL requests were made."""
    if _calls["n"] == 0:
        pytest.skip("the schemathesis test did not run in this session (deselected)")
    print(f"schemathesis: {_calls['n']} generated requests")
    assert _calls["n"] >= MIN_TOTAL, _calls["n"]
