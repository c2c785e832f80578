"""The property query without Flask's per-request machinery: a WSGI layer in front of the app.

``GET /api/v1/properties`` is the API's hot read: every cross-material query and every page of a
training-set pull. Through Flask, the request and response objects, routing, the argument and
response decorators and the request hooks cost more than the page's own work after an idle moment
(1.3 ms of Flask against 0.7 ms here per request in process; bench/README.md). This layer answers a
*plain* request itself with the functions the Flask view uses (the compiled argument plan
``service.params.QueryPlan``, ``page_of_properties``, the same orjson body, the same headers) and
hands every other request to Flask, unchanged:

* another method or path; a key sent (``Authorization``, ``X-API-Key``: Flask checks it, even on an
  open read); an ``Origin`` header; a body; ``$`` in the query string; a URL over
  ``auth.MAX_URI_CHARS``; a query string the plan does not load as plainly valid (an unknown or
  repeated parameter, a value that is not plainly valid); a server that requires keys for reads or
  limits the request rate (its guards run in Flask);
* a domain error or an unreachable store while answering (a bad filter, a unit that does not fit):
  Flask answers the same request again and maps the error in its one table (service/errors.py);
  any other exception is logged here, then Flask answers.

tests/api/test_hot_path.py compares status, headers and body with Flask's own answer for a corpus of
requests, and checks which of them this layer answered.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable
from urllib.parse import parse_qsl

import orjson
import werkzeug.urls  # noqa: F401  registers the "werkzeug.url_quote" codec error handler Request.args uses
from pymongo.errors import ConnectionFailure
from werkzeug.datastructures import MultiDict

from ionbase.errors import DomainError

log = logging.getLogger(__name__)

PATH = "/api/v1/properties"
#: a request carrying any of these goes to Flask (key checks, CORS, bodies)
_TO_FLASK = ("HTTP_AUTHORIZATION", "HTTP_X_API_KEY", "HTTP_ORIGIN", "HTTP_TRANSFER_ENCODING")


class HotReads:
    """WSGI middleware answering plain ``GET /api/v1/properties`` requests (see the module docstring)."""

    def __init__(self, app: Any) -> None:
        from ionbase.service.auth import MAX_URI_CHARS
        from ionbase.service.headers import STATIC_HEADERS, content_security_policy
        from ionbase.service.params import QueryPlan
        from ionbase.service.properties.schemas import PropertyQueryArgs

        settings = app.config["IONBASE_SETTINGS"]
        self.flask = app.wsgi_app
        self.store = app.extensions["ionbase_store"]
        guarded = settings.read_requires_key or settings.rate_limit_per_minute > 0
        self.plan = None if guarded else QueryPlan.compile(PropertyQueryArgs())
        self.max_uri = MAX_URI_CHARS
        self.headers = [("Content-Security-Policy", content_security_policy(PATH)), *STATIC_HEADERS.items()]
        self.answered = 0  # requests answered here, not by Flask (tests/api/test_hot_path.py)

    def __call__(self, environ: dict, start_response: Callable) -> Iterable[bytes]:
        pairs = self._plain(environ)
        args = self.plan.load(MultiDict(pairs)) if pairs is not None else None
        if args is None:
            return self.flask(environ, start_response)
        body = self._page(environ, pairs, args)
        if body is None:
            return self.flask(environ, start_response)
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body))),
                                  *self.headers])
        self.answered += 1
        return [body]

    def _plain(self, environ: dict) -> list[tuple[str, str]] | None:
        """The query parameters of a request this layer may answer, else None."""
        if self.plan is None or environ.get("REQUEST_METHOD") != "GET" or environ.get("PATH_INFO") != PATH:
            return None
        if any(k in environ for k in _TO_FLASK) or environ.get("CONTENT_LENGTH") not in (None, "", "0"):
            return None
        query = environ.get("QUERY_STRING", "")
        if "$" in query or "%24" in query or len(PATH) + len(query) > self.max_uri:
            return None
        try:  # as werkzeug's Request.args parses it
            return parse_qsl(query.encode("latin-1").decode(), keep_blank_values=True, errors="werkzeug.url_quote")
        except (UnicodeError, ValueError):
            return None

    def _page(self, environ: dict, pairs: list[tuple[str, str]], args: dict) -> bytes | None:
        """The JSON body of the page, or None when Flask must answer (an error to map)."""
        from ionbase.service.common import page_url
        from ionbase.service.properties.views import ORJSON_OPTIONS, page_of_properties

        script_root = environ.get("SCRIPT_NAME", "").rstrip("/")

        def link(cursor: str | None) -> str | None:
            return page_url(script_root, PATH, pairs, cursor) if cursor is not None else None

        try:
            out, meta = page_of_properties(self.store, args, link, for_orjson=True)
        except (DomainError, ConnectionFailure):
            return None  # Flask answers it again and maps the error (service/errors.py)
        except Exception:  # noqa: BLE001  logged, then Flask answers (and logs its own failure, if any)
            log.exception("the hot path failed on %s?%s; Flask answers", PATH, environ.get("QUERY_STRING", "")[:200])
            return None
        return orjson.dumps({"data": out, "meta": meta}, option=ORJSON_OPTIONS)
