"""One error format for every error: ``{code, status, message, errors}``.

``code`` is the HTTP status code (int), ``status`` its reason phrase, ``message`` a sentence for
humans and ``errors`` a mapping with details (validation messages, filter positions, import issues).
This is the payload flask-smorest documents as its ``Error`` schema, so every error the API returns
also matches the OpenAPI document. Typed exceptions carry their status; raise them from views and
query code.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, jsonify
from werkzeug.exceptions import HTTPException, InternalServerError

log = logging.getLogger(__name__)


class ApiError(HTTPException):
    """Base of Ionbase's typed API errors; ``code`` is the HTTP status."""

    code = 400
    description = "Bad request"

    def __init__(self, message: str | None = None, errors: dict | None = None, headers: dict | None = None):
        super().__init__(description=message or self.description)
        self.message = message or self.description
        self.errors = errors
        self.extra_headers = headers or {}


class BadRequest(ApiError):
    code = 400
    description = "The request is not valid."


class Unauthorized(ApiError):
    code = 401
    description = "An API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."

    def __init__(self, message: str | None = None, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message, errors, {"WWW-Authenticate": 'Bearer realm="ionbase"', **(headers or {})})


class Forbidden(ApiError):
    code = 403
    description = "This API key's role does not allow this operation."


class NotFound(ApiError):
    code = 404
    description = "Not found."


class Conflict(ApiError):
    code = 409
    description = "Conflict."


class PayloadTooLarge(ApiError):
    code = 413
    description = "The request body is too large."


class Unprocessable(ApiError):
    code = 422
    description = "The request could not be processed."


class TooManyRequests(ApiError):
    code = 429
    description = "Too many requests; slow down."


class ServiceUnavailable(ApiError):
    code = 503
    description = "The service is not available."

    #: seconds a client should wait: the embedded store restarts within about a second
    RETRY_AFTER_S = 2

    def __init__(self, message: str | None = None, errors: dict | None = None, headers: dict | None = None):
        super().__init__(message, errors, {"Retry-After": str(self.RETRY_AFTER_S), **(headers or {})})


def error_payload(code: int, name: str, message: str | None, errors: Any = None) -> dict:
    """The error body (also used by the OpenAPI ``Error`` schema)."""
    out: dict[str, Any] = {"code": code, "status": name, "message": message or name}
    if errors is not None:
        out["errors"] = errors if isinstance(errors, dict) else {"detail": errors}
    return out


def _handle_http(error: HTTPException):
    code = error.code or 500
    headers: dict = {}
    if isinstance(error, ApiError):
        body = error_payload(code, error.name, error.message, error.errors)
        headers.update(error.extra_headers)
    else:
        data = getattr(error, "data", None) or {}
        errors = data.get("errors", data.get("messages"))
        message = data.get("message")
        if message is None:
            message = "The request is not valid." if code == 422 else error.description
        if code == 422 and isinstance(errors, dict):
            # webargs nests messages by location ({"query": {"page_limit": [...]}}): keep that
            errors = errors
        body = error_payload(code, error.name, message, errors)
        headers.update(data.get("headers") or {})
        if code == 405 and getattr(error, "valid_methods", None):
            headers["Allow"] = ", ".join(error.valid_methods)
    resp = jsonify(body)
    resp.status_code = code
    for k, v in headers.items():
        resp.headers[k] = v
    return resp


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
    return _handle_http(ServiceUnavailable(f"the store does not answer ({type(error).__name__}); retry shortly"))


def _handle_unexpected(error: Exception):
    log.exception("unhandled error: %s", error)
    return _handle_http(InternalServerError())


def register_error_handlers(app: Flask) -> None:
    """Install the handlers (after flask-smorest's, so ours win)."""
    from pymongo.errors import ConnectionFailure  # also AutoReconnect, ServerSelectionTimeoutError

    app.register_error_handler(HTTPException, _handle_http)
    app.register_error_handler(ConnectionFailure, _handle_store_unreachable)
    app.register_error_handler(Exception, _handle_unexpected)
