"""Schemathesis adjustments for this API, shared by tests/api/test_schemathesis.py and the CLI.

The CLI run loads the same rules (from the repository root, a server running):

    SCHEMATHESIS_HOOKS=tests.api.schemathesis_hooks st --config-file tests/api/schemathesis.toml run \\
        http://127.0.0.1:8000/api/v1/openapi.json --checks all --exclude-checks positive_data_acceptance ...

schemathesis.toml widens negative_data_rejection by 414 (a URL over the server's limit is a 4xx
refusal like any other) and turns off positive_data_acceptance, which is replaced by the narrowed
check below: schema-valid data must still be accepted, except for refusals whose reason the OpenAPI
document cannot express (NOT_EXPRESSIBLE), each with its reason.
"""

from __future__ import annotations

import json
from pathlib import Path

import schemathesis
from schemathesis.core.failures import Failure
from schemathesis.specs.openapi.checks import positive_data_acceptance

CONFIG_FILE = Path(__file__).with_name("schemathesis.toml")

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
    "body": "JSON keys without '$' at the start or NUL, nesting up to 32 (OpenAPI 3.0 has no propertyNames)",
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


@schemathesis.check
def positive_data_accepted_unless_inexpressible(ctx, response, case):
    """positive_data_acceptance, except for the refusals in ``_refusal_the_schema_cannot_express``."""
    try:
        return positive_data_acceptance(ctx, response, case)
    except (Failure, AssertionError):
        if _refusal_the_schema_cannot_express(response, case):
            return None
        raise
