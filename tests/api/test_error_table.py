"""Domain errors are framework-free and reach HTTP through one table (service/errors.py, HTTP_ERRORS)."""

from __future__ import annotations

import ast
import importlib
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import ionbase
import ionbase.errors as domain
from ionbase.service.errors import HTTP_ERRORS, http_error_for

REPO = Path(__file__).resolve().parents[2]
WEB = {"flask", "werkzeug", "flask_smorest", "webargs"}

#: the status each domain error answers with (the API's pinned statuses)
EXPECTED = {
    domain.DomainError: 500, domain.InvalidRequest: 400, domain.BadFilter: 400, domain.UnknownParameter: 400,
    domain.AuthenticationRequired: 401, domain.PermissionDenied: 403, domain.NotFound: 404, domain.Conflict: 409, domain.ImportConflict: 409,
    domain.Unprocessable: 422, domain.RateLimited: 429, domain.StoreUnavailable: 503,
    domain.PayloadTooLarge: 413, domain.UriTooLong: 414,
}


def _all_subclasses(cls: type) -> set[type]:
    out = set()
    for sub in cls.__subclasses__():
        out |= {sub, *_all_subclasses(sub)}
    return out


def _import_everything() -> None:
    """Import every module of the package so that every DomainError subclass is defined."""
    for info in pkgutil.walk_packages(ionbase.__path__, "ionbase."):
        if info.name in ("ionbase.__main__", "ionbase.service.gunicorn_conf"):
            continue
        importlib.import_module(info.name)


def test_every_domain_error_class_is_in_the_table():
    defined = {obj for obj in vars(domain).values() if isinstance(obj, type) and issubclass(obj, domain.DomainError)}
    assert defined == set(EXPECTED), "a new domain error needs an HTTP_ERRORS entry and a status here"
    assert {cls: HTTP_ERRORS[cls].status for cls in defined} == EXPECTED


def test_every_domain_error_subclass_anywhere_gets_an_answer():
    _import_everything()
    subclasses = _all_subclasses(domain.DomainError)
    assert set(EXPECTED) - {domain.DomainError} <= subclasses  # and any defined elsewhere (FilterError ...)
    for cls in subclasses:
        nearest = next(c for c in cls.__mro__ if c in HTTP_ERRORS)
        assert http_error_for(cls.__new__(cls)).status == HTTP_ERRORS[nearest].status
    from ionbase.service.query.filter import FilterError

    assert http_error_for(FilterError("x")).status == 400


def _web_imports(path: Path) -> list[str]:
    bad = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        bad += [n for n in names if n.split(".")[0] in WEB or n == "ionbase.service.errors"]
    return bad


def test_query_layer_and_domain_errors_import_no_web_framework():
    paths = [REPO / "ionbase" / "errors.py", *sorted((REPO / "service" / "query").glob("*.py"))]
    found = {str(p.relative_to(REPO)): _web_imports(p) for p in paths}
    assert {p: names for p, names in found.items() if names} == {}
    # and not indirectly either: importing them loads no web framework
    code = ("import sys, ionbase.errors, ionbase.service.query.filter, ionbase.service.query.cursor, "
            "ionbase.service.query.properties, ionbase.service.query.pipelines, ionbase.service.query.fields; "
            f"print(sorted(m for m in {sorted(WEB)!r} if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_no_view_raises_werkzeug_or_smorest_errors():
    """Views and query code raise domain errors; only service/errors.py and the parameter parser know werkzeug's."""
    offenders = []
    for path in sorted((REPO / "service").rglob("*.py")):
        text = path.read_text()
        if "flask_smorest import abort" in text or "werkzeug.exceptions" in text and path.name != "errors.py":
            offenders.append(str(path.relative_to(REPO)))
    assert offenders == []


@pytest.mark.parametrize("error, status, headers", [
    (domain.InvalidRequest("bad value", {"x": ["bad"]}), 400, {}),
    (domain.BadFilter("invalid filter: nope", {"filter": {"message": "nope"}}), 400, {}),
    (domain.UnknownParameter("unknown parameter 'q'", {"query": {"q": ["Unknown field."]}}), 400, {}),
    (domain.AuthenticationRequired(), 401, {"WWW-Authenticate": 'Bearer realm="ionbase"'}),
    (domain.PermissionDenied(), 403, {}),
    (domain.NotFound("no sample 'x'"), 404, {}),
    (domain.Conflict("superseded"), 409, {}),
    (domain.Unprocessable("2 invalid record(s)", {"issues": []}), 422, {}),
    (domain.RateLimited("slow down", retry_after_s=7), 429, {"Retry-After": "7"}),
    (domain.StoreUnavailable("the store does not answer"), 503, {"Retry-After": "2"}),
])
def test_domain_errors_answer_in_the_one_error_format(settings, store, error, status, headers):
    """Raised in a real view of the real app, each becomes {code, status, message, errors?} with its headers."""
    from werkzeug.http import HTTP_STATUS_CODES

    from ionbase.service.app import create_app

    app = create_app(settings, store=store)

    def boom():
        raise error

    app.add_url_rule("/api/v1/_test_error", "boom", boom)
    r = app.test_client().get("/api/v1/_test_error")
    assert r.status_code == status
    body = r.get_json()
    expected = {"code": status, "status": HTTP_STATUS_CODES[status], "message": error.message}
    if error.errors is not None:
        expected["errors"] = error.errors
    assert body == expected
    for k, v in headers.items():
        assert r.headers[k] == v
