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

import uuid

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig

from tests.api.conftest import API_DATA
from tests.api.schemathesis_hooks import CONFIG_FILE  # also registers the narrowed positive-data check

MAX_EXAMPLES = 30
MAX_EXAMPLES_NO_KEY = 20
#: the operations that require a key (writes) or look at it (batches show more to admins); the other
#: reads never consult a key, so the keyed run covers them
KEYED_PATHS = r"^/api/v1/(imports|analysis-runs)"
STATEFUL_SCENARIOS = 20
STATEFUL_STEPS = 5
MIN_TOTAL = 1000
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
    config = SchemathesisConfig.from_path(CONFIG_FILE)
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", fuzz_app, config=config)


schema = schemathesis.pytest.from_fixture("api_schema")


def _run(case, headers: dict) -> None:
    _calls["n"] += 1
    case.call_and_validate(headers=headers)  # every enabled check, the registered narrowed one included


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
def test_api_stateful(api_schema, fuzz_app):
    """Scenarios along the API's links (a list, then one of its items; an import, then its batch and its
    rollback) with every check, the stateful ones included (use_after_free, ensure_resource_availability)."""
    headers = {"X-API-Key": fuzz_app.config["IONBASE_TEST_TOKEN"]}

    class Scenarios(api_schema.as_state_machine()):
        def get_call_kwargs(self, case):
            return {"headers": headers}

        def after_call(self, response, case):
            _calls["n"] += 1
            super().after_call(response, case)  # recorded for the stateful checks

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            # the key passed as headers= is the caller's (ignored_auth then probes without it and with a
            # wrong one); as a transport argument it would pass for a generated credential
            case.validate_response(response, headers=headers, additional_checks=additional_checks,
                                   transport_kwargs=kwargs or None, recorder=self.recorder)

    Scenarios.run(settings=settings(max_examples=STATEFUL_SCENARIOS, stateful_step_count=STATEFUL_STEPS, deadline=None,
                                    derandomize=True, suppress_health_check=list(HealthCheck)))


@pytest.mark.slow
def test_enough_generated_requests():
    """Runs after the fuzzing test in this module: at least MIN_TOTAL requests were made."""
    if _calls["n"] == 0:
        pytest.skip("the schemathesis test did not run in this session (deselected)")
    print(f"schemathesis: {_calls['n']} generated requests")
    assert _calls["n"] >= MIN_TOTAL, _calls["n"]
