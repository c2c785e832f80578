"""Property-based API testing with schemathesis (all its checks) against the app's own OpenAPI document.

Runs in the default suite (marked slow): every operation gets up to MAX_EXAMPLES generated requests
(positive and negative data), once with a writer key and once without a key; together at least
MIN_TOTAL. ``case.call_and_validate()`` runs every check schemathesis 4 registers (``--checks all``):
no 5xx, documented status codes, content types, headers and response schemas, negative data refused
with 4xx, positive data accepted, missing required headers refused, unsupported methods -> 405,
ignored or invalid auth refused. The stateful checks (use_after_free, ensure_resource_availability,
object_level_authorization) need a multi-step run: see ``test_api_stateful``.

One adjustment, each for a reason this API's OpenAPI document cannot express (see CHECK_CONFIG and
``_grammar_refusal``).
"""

from __future__ import annotations

import json
import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

from tests.api.conftest import API_DATA

MAX_EXAMPLES = 40
MAX_EXAMPLES_NO_KEY = 25
#: the operations that require a key (writes) or look at it (batches show more to admins); the other
#: reads never consult a key, so the keyed run covers them
KEYED_PATHS = r"^/api/v1/(imports|analysis-runs)"
MIN_TOTAL = 1000
_calls = {"n": 0}

_NEGATIVE_REFUSALS = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]
CHECK_CONFIG = {
    # a URL longer than the server's limit (MAX_URI_CHARS) is refused with 414, a 4xx refusal like any other
    "negative_data_rejection": {"expected-statuses": [*_NEGATIVE_REFUSALS, "414"]},
}
#: parameters whose valid values follow a rule the OpenAPI document cannot express: a 400 naming only
#: these parameters is a correct refusal of schema-valid data (positive_data_acceptance is narrowed to it)
NOT_EXPRESSIBLE = {
    "filter": "the OPTIMADE filter grammar",
    "page_cursor": "a cursor the server issued for this query (opaque)",
    "series": "not together with component (GET /trends/composition)",
    "component": "not together with series (GET /trends/composition)",
    "unit": "a unit the property's values convert to (the unit grammar)",
    "fields": "comma-separated names from GET /properties/fields (a list the document does not enumerate)",
    "sort": "comma-separated sortable names from GET /properties/fields, '-' for descending",
    "files": "each file sent as a file part with a filename, which the document cannot require",
    "dry_run": "one value when sent both in the query string and as a form field (POST /imports)",
    "skip_invalid": "one value when sent both in the query string and as a form field (POST /imports)",
}


def _refusal_the_schema_cannot_express(response, case) -> bool:
    """A schema-valid request refused for a reason outside the OpenAPI document's reach."""
    if response.status_code == 414:  # the whole URL's length: parameters' maxLength cannot bound it
        return True
    body = json.loads(response.content or b"null")
    errors = body.get("errors") if isinstance(body, dict) else None
    if not isinstance(errors, dict) or not errors:
        return False
    if response.status_code == 400:
        return set(errors) <= set(NOT_EXPRESSIBLE)
    # records of an import are checked against the vocabulary and each other (ingest), not the request schema
    return (response.status_code == 422 and case.operation.label == "POST /api/v1/imports"
            and set(errors) == {"issues"})


def positive_data_accepted_unless_inexpressible(ctx, response, case):
    """positive_data_acceptance, except for the refusals in ``_refusal_the_schema_cannot_express``."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except (Failure, AssertionError):
        if _refusal_the_schema_cannot_express(response, case):
            return None
        raise


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
    config = SchemathesisConfig.from_dict({"checks": CHECK_CONFIG})
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


def _run(case, headers: dict) -> None:
    _calls["n"] += 1
    case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance],
                           additional_checks=[positive_data_accepted_unless_inexpressible])


@pytest.mark.slow
@schema.parametrize()
@settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_with_a_writer_key(case, fuzz_app):
    """Every operation with a valid writer key (the write operations get past authentication)."""
    _run(case, {"X-API-Key": fuzz_app.config["IONBASE_TEST_TOKEN"]})


@pytest.mark.slow
@schema.include(path_regex=KEYED_PATHS).parametrize()
@settings(max_examples=MAX_EXAMPLES_NO_KEY, deadline=None, derandomize=True,
          suppress_health_check=list(HealthCheck))
def test_api_without_a_key(case):
    """The operations that need or read a key, without one: writes are refused (401), reads answer."""
    _run(case, {})


@pytest.mark.slow
def test_enough_generated_requests():
    """Runs after the fuzzing test in this module: at least MIN_TOTAL requests were made."""
    if _calls["n"] == 0:
        pytest.skip("the schemathesis test did not run in this session (deselected)")
    print(f"schemathesis: {_calls['n']} generated requests")
    assert _calls["n"] >= MIN_TOTAL, _calls["n"]
