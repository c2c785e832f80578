"""Authentication, authorization, request guards and the per-IP rate limit.

* Reads are open unless ``Settings.read_requires_key``; writes need a writer or admin key.
* Keys: ``Authorization: Bearer <token>`` or ``X-API-Key: <token>`` (see ``service.keys``).
* No ``$`` in query parameters, no ``$``-keys (operator objects) or excessive nesting in JSON bodies.
* Rate limit: ``Settings.rate_limit_per_minute`` > 0 turns on a sliding one-minute window per client IP.
"""

from __future__ import annotations

import functools
import threading
import time
from collections import defaultdict, deque

from flask import Flask, current_app, g, request
from werkzeug.wsgi import LimitedStream

from ionbase.errors import (AuthenticationRequired, InvalidRequest, PayloadTooLarge, PermissionDenied, RateLimited,
                            UriTooLong)
from ionbase.service.keys import role_allows, verify_token

MAX_JSON_DEPTH = 32
#: longest request target (path + query string) answered; longer ones get a JSON 414 from the app
#: (gunicorn's own request-line limit is raised above it in service/gunicorn_conf.py so the app answers)
MAX_URI_CHARS = 8190

#: security requirement objects for the OpenAPI document of write operations
WRITE_SECURITY = [{"bearerAuth": []}, {"apiKeyHeader": []}]
SECURITY_SCHEMES = {
    "bearerAuth": {"type": "http", "scheme": "bearer", "description": "Authorization: Bearer <key id>.<secret>"},
    "apiKeyHeader": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
}


def _token() -> str | None:
    """The key this request presents, or None; 401 for credentials that cannot be a key.

    Every credential sent must be usable: an ``Authorization`` header other than ``Bearer <key>``
    (``Basic ...``, a bare ``Bearer``) is refused rather than ignored in favour of ``X-API-Key``,
    and so are two different keys in the two headers (which one was meant is not ours to guess)."""
    auth = request.headers.get("Authorization")
    api_key = request.headers.get("X-API-Key") or None
    if auth is None:
        return api_key
    scheme, _, bearer = auth.strip().partition(" ")
    bearer = bearer.strip()
    if scheme.lower() != "bearer" or not bearer:
        raise AuthenticationRequired("the Authorization header must be 'Bearer <key>'")
    if api_key is not None and api_key != bearer:
        raise AuthenticationRequired("two different API keys (Authorization and X-API-Key); send one")
    return bearer


def current_key() -> dict | None:
    """The verified key of this request (cached on ``g``); 401 for a key that does not verify."""
    if "api_key" not in g:
        token = _token()
        if token is None:
            g.api_key = None
        else:
            key = verify_token(current_app.extensions["ionbase_store"], token, current_app.extensions["ionbase_key_secret"])
            if key is None:
                raise AuthenticationRequired("the API key is not valid or has been revoked")
            g.api_key = key
    return g.api_key


def require_role(role: str) -> None:
    key = current_key()
    if key is None:
        raise AuthenticationRequired()
    if not role_allows(key.get("role"), role):
        raise PermissionDenied(f"this operation needs a {role} key; key {key['_id']} is a {key.get('role')} key")


def requires(role: str):
    """View decorator: the request must carry a key with at least ``role``."""

    def deco(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            require_role(role)
            return fn(*args, **kwargs)

        # read by the request guard, which checks the key before any body is read or validated
        # (functools.wraps in the decorators above carries it to the registered view function)
        wrapper.ionbase_required_role = role
        return wrapper

    return deco


def _json_depth_and_keys(obj, depth: int = 0) -> None:
    if depth > MAX_JSON_DEPTH:
        raise InvalidRequest(f"JSON body nested deeper than {MAX_JSON_DEPTH}", {"body": ["nested too deeply"]})
    if isinstance(obj, dict):
        for k, v in obj.items():
            if not isinstance(k, str) or k.startswith("$") or "\x00" in k:
                raise InvalidRequest("operator keys ('$...') are not allowed in request bodies", {"body": [str(k)[:50]]})
            _json_depth_and_keys(v, depth + 1)
    elif isinstance(obj, list):
        for v in obj:
            _json_depth_and_keys(v, depth + 1)


def _has_body() -> bool:
    """True when the request carries a body, whether framed by Content-Length or chunked."""
    if request.content_length:
        return True
    return "chunked" in request.headers.get("Transfer-Encoding", "").lower()


def _read_chunked_body(limit: int) -> None:
    """Read a chunked body now, through werkzeug's size-limited stream, and refuse it (413) when it
    reaches ``limit``: the stream stops there (the rest is never read) and a truncated body must not
    be parsed as if whole. The body is cached, so JSON and form parsing later read the same bytes."""
    if "chunked" not in request.headers.get("Transfer-Encoding", "").lower():
        return
    request.get_data(cache=True, parse_form_data=False)
    stream = request.stream
    if isinstance(stream, LimitedStream) and stream.is_exhausted:
        raise PayloadTooLarge(f"the request body reaches the limit of {limit} bytes (IONBASE_MAX_REQUEST_BYTES)")


def _check_json_body() -> None:
    """The ``$``-key and depth guard on a JSON body, however it arrives (Content-Length or chunked)."""
    if not (request.is_json and _has_body()):
        return
    try:
        body = request.get_json(silent=True)
    except RecursionError:  # the JSON decoder's own limit (about 1,000 levels): not a server error
        raise InvalidRequest(f"JSON body nested deeper than {MAX_JSON_DEPTH}", {"body": ["nested too deeply"]}) from None
    if body is None:
        raise InvalidRequest("the request body is not valid JSON")
    _json_depth_and_keys(body)


class RateLimiter:
    """Sliding one-minute window per client address (in-process)."""

    def __init__(self, per_minute: int):
        self.per_minute = per_minute
        self.hits: dict[str, deque] = defaultdict(deque)
        self.lock = threading.Lock()

    def check(self, client: str) -> float | None:
        """None if allowed, else seconds until the next request is allowed."""
        now = time.monotonic()
        with self.lock:
            q = self.hits[client]
            while q and now - q[0] >= 60.0:
                q.popleft()
            if len(q) >= self.per_minute:
                return max(0.0, 60.0 - (now - q[0]))
            q.append(now)
            if len(self.hits) > 100_000:  # forget idle clients
                for k in [k for k, v in self.hits.items() if not v]:
                    del self.hits[k]
        return None


def install(app: Flask) -> None:
    """Register the request guards on ``app``."""
    settings = app.config["IONBASE_SETTINGS"]
    limiter = RateLimiter(settings.rate_limit_per_minute) if settings.rate_limit_per_minute > 0 else None
    open_paths = ("/api/v1/health", "/api/v1/openapi.json", "/api/v1/docs", "/api/v1/redoc")
    doc_pages = ("/api/v1/docs", "/api/v1/redoc")  # HTML for browsers (which may carry a proxy's Basic auth)

    @app.before_request
    def _guards():
        req = request._get_current_object()  # one context lookup instead of one per attribute read
        if limiter is not None:
            wait = limiter.check(req.remote_addr or "unknown")
            if wait is not None:
                raise RateLimited(f"more than {limiter.per_minute} requests per minute from this address",
                                  retry_after_s=int(wait) + 1)
        if req.routing_exception is not None:  # no such route or method: its 404/405 comes first
            return
        query_string = req.environ.get("QUERY_STRING", "")
        uri_chars = len(req.environ.get("PATH_INFO", "")) + len(query_string)
        if uri_chars > MAX_URI_CHARS:
            raise UriTooLong(f"the URL is {uri_chars} characters long, above {MAX_URI_CHARS}; "
                                     "send long filters in fewer words or page through results")
        if "$" in query_string or "%24" in query_string:  # else no decoded key or value holds a "$"
            for k, values in req.args.lists():
                if "$" in k or any("$" in v for v in values):
                    raise InvalidRequest("'$' is not allowed in query parameters", {"query": [k]})
        view = app.view_functions.get(req.endpoint) if req.endpoint else None
        needed = getattr(view, "ionbase_required_role", None)
        path = req.path
        if needed:  # authorise before the body is read or validated: 401/403 come before 400/413/422
            require_role(needed)
        elif path.startswith("/api/") and not path.startswith(doc_pages):
            current_key()  # a key sent to an open API read is checked too (none sent: None, no lookup)
        _read_chunked_body(settings.max_request_bytes)
        _check_json_body()
        if settings.read_requires_key and req.method in ("GET", "HEAD") and not path.startswith(open_paths):
            require_role("reader")
