"""One error format for every error: ``{code, status, message, errors}``, and one table from errors to it.

``code`` is the HTTP status code (int), ``status`` its reason phrase, ``message`` a sentence for
humans and ``errors`` a mapping with details (validation messages, filter positions, import issues).
This is the payload flask-smorest documents as its ``Error`` schema, so every error the API returns
also matches the OpenAPI document.

Views, query code, ingest and jobs raise the framework-free domain errors of ``ionbase.errors``;
``HTTP_ERRORS`` below is the one place that says which HTTP status (and headers) each becomes.
Errors raised by flask / webargs themselves (404 of an unknown route, 405, 422 validation) are
werkzeug ``HTTPException``s and get the same body.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError
from werkzeug.http import HTTP_STATUS_CODES

from ionbase.errors import (AuthenticationRequired, BadFilter, Conflict, DomainError, ImportConflict, InvalidRequest,
                            NotFound, PayloadTooLarge, PermissionDenied, RateLimited, StoreUnavailable,
                            UnknownParameter, Unprocessable, UriTooLong)

log = logging.getLogger(__name__)


def _retry_after(error: DomainError) -> dict[str, str]:
    seconds = getattr(error, "retry_after_s", None)
    return {} if seconds is None else {"Retry-After": str(int(seconds))}


@dataclass(frozen=True)
class HttpError:
    """How one domain error class is answered: its status and the headers derived from the error."""

    status: int
    headers: Callable[[DomainError], dict[str, str]] = lambda error: {}


#: domain error class -> HTTP answer; a subclass without an entry of its own uses its nearest base's
HTTP_ERRORS: dict[type[DomainError], HttpError] = {
    DomainError: HttpError(500),
    InvalidRequest: HttpError(400),
    BadFilter: HttpError(400),
    UnknownParameter: HttpError(400),
    AuthenticationRequired: HttpError(401, lambda error: {"WWW-Authenticate": 'Bearer realm="ionbase"'}),
    PermissionDenied: HttpError(403),
    NotFound: HttpError(404),
    Conflict: HttpError(409),
    ImportConflict: HttpError(409),
    Unprocessable: HttpError(422),
    PayloadTooLarge: HttpError(413),
    UriTooLong: HttpError(414),
    RateLimited: HttpError(429, _retry_after),
    StoreUnavailable: HttpError(503, _retry_after),
}


def http_error_for(error: DomainError) -> HttpError:
    """The table entry of the error's class, or of its nearest base class that has one."""
    for cls in type(error).__mro__:
        if cls in HTTP_ERRORS:
            return HTTP_ERRORS[cls]
    raise TypeError(f"{type(error).__name__} is not a domain error")


def error_payload(code: int, name: str, message: str | None, errors: Any = None) -> dict:
    """The error body (also used by the OpenAPI ``Error`` schema)."""
    out: dict[str, Any] = {"code": code, "status": name, "message": message or name}
    if errors is not None:
        out["errors"] = errors if isinstance(errors, dict) else {"detail": errors}
    return out


def _respond(code: int, body: dict, headers: dict[str, str]):
    resp = jsonify(body)
    resp.status_code = code
    for k, v in headers.items():
        resp.headers[k] = v
    return resp


def _handle_domain(error: DomainError):
    """A domain error, answered as ``HTTP_ERRORS`` says."""
    answer = http_error_for(error)
    if answer.status >= 500:
        log.error("%s: %s", type(error).__name__, error.message)
    body = error_payload(answer.status, HTTP_STATUS_CODES.get(answer.status, "Unknown Error"), error.message, error.errors)
    return _respond(answer.status, body, answer.headers(error))


def _handle_http(error: HTTPException):
    """An error raised by flask, werkzeug or webargs (unknown route, 405, 422 validation, 413 ...)."""
    code = error.code or 500
    data = getattr(error, "data", None) or {}
    errors = data.get("errors", data.get("messages"))  # webargs nests 422 messages by location: kept
    message = data.get("message")
    if message is None:
        message = "The request is not valid." if code == 422 else error.description
    headers: dict = dict(data.get("headers") or {})
    if code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    return _respond(code, error_payload(code, error.name, message, errors), headers)


def _handle_store_unreachable(error: Exception):
    """pymongo could not reach the store (down, restarting, moved): 503 with ``Retry-After``, not 500."""
    from flask import current_app

    log.warning("store unreachable: %s: %s", type(error).__name__, str(error)[:200])
    store = current_app.extensions.get("ionbase_store")
    if store is not None and hasattr(store, "on_unreachable"):
        try:
            store.on_unreachable()
        except Exception:  # the answer is 503 either way; the reason goes to the log
            log.exception("could not re-resolve the store")
    return _handle_domain(StoreUnavailable(f"the store does not answer ({type(error).__name__}); retry shortly"))


def _handle_unexpected(error: Exception):
    log.exception("unhandled error: %s", error)
    return _handle_http(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, so ours win)."""
    from pymongo.errors import ConnectionFailure  # also AutoReconnect, ServerSelectionTimeoutError

    app.register_error_handler(DomainError, _handle_domain)
    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(ConnectionFailure, _handle_store_unreachable)
    app.register_error_handler(Exception, _handle_unexpected)
