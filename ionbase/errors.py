"""Domain errors: what went wrong, in the project's terms, with no web framework attached.

Query code (``service/query``), views, ``ingest`` and ``jobs`` raise these; the API maps each class to
an HTTP status and its one error body in a single table (``service/errors.py``, ``HTTP_ERRORS``), in
the spirit of optimade-python-tools' ``exception_handlers``. Nothing here imports flask or werkzeug,
so the same errors can be raised, caught and tested outside a request.

Every error carries ``message`` (a sentence for humans, also ``str(error)``) and ``errors`` (an
optional mapping with details: the parameter or field concerned, a filter position, import issues).
"""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of Ionbase's domain errors."""

    default_message = "The request could not be served."

    def __init__(self, message: str | None = None, errors: dict[str, Any] | None = None):
        self.message = message or self.default_message
        self.errors = errors
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message


class InvalidRequest(DomainError):
    """The request is not valid (a malformed value, a body that is not JSON, an unsupported combination)."""

    default_message = "The request is not valid."


class BadFilter(InvalidRequest):
    """A ``filter=`` expression that cannot be used; ``errors["filter"]`` says where."""

    default_message = "invalid filter"


class UnknownParameter(InvalidRequest):
    """A parameter the endpoint does not accept: refused, never ignored."""

    default_message = "unknown parameter"


class AuthenticationRequired(DomainError):
    """No API key, or one that is not valid or has been revoked."""

    default_message = "An API key is required: send 'Authorization: Bearer <key>' or 'X-API-Key: <key>'."


class PermissionDenied(DomainError):
    """The API key's role does not allow the operation."""

    default_message = "This API key's role does not allow this operation."


class NotFound(DomainError):
    """The document (sample, measurement, batch, run ...) or the data asked for does not exist."""

    default_message = "Not found."


class Conflict(DomainError):
    """The operation conflicts with the current state (e.g. a rollback another one supersedes)."""

    default_message = "Conflict."


class ImportConflict(Conflict):
    """An import would write documents that another running import has claimed, or its own batch
    was taken for dead and cleaned while it ran (store/claims.py, docs/imports.md)."""

    default_message = "Another running import holds these documents."


class Unprocessable(DomainError):
    """Well-formed input whose content is refused (e.g. an import with invalid records)."""

    default_message = "The request could not be processed."


class PayloadTooLarge(DomainError):
    """A request body above the configured limit (``IONBASE_MAX_REQUEST_BYTES``)."""

    default_message = "The request body is too large."


class UriTooLong(DomainError):
    """A request URL (path and query string) longer than the API answers."""

    default_message = "The URL is too long."


class RateLimited(DomainError):
    """Too many requests from one client; ``retry_after_s`` says when to try again."""

    default_message = "Too many requests; slow down."

    def __init__(self, message: str | None = None, errors: dict[str, Any] | None = None, *,
                 retry_after_s: int | None = None):
        super().__init__(message, errors)
        self.retry_after_s = retry_after_s


class StoreUnavailable(DomainError):
    """The store does not answer (down, restarting, moved); ``retry_after_s`` says when to try again."""

    default_message = "The service is not available."

    #: seconds a client should wait: the embedded store restarts within about a second
    RETRY_AFTER_S = 2

    def __init__(self, message: str | None = None, errors: dict[str, Any] | None = None, *,
                 retry_after_s: int | None = None):
        super().__init__(message, errors)
        self.retry_after_s = self.RETRY_AFTER_S if retry_after_s is None else retry_after_s
