"""Security headers on every response (issue 14, point 7), in one place.

* ``Content-Security-Policy``: the API, the web pages and the docs load only Ionbase's own scripts,
  styles and fonts (``'self'``; the vendor files come from installed packages, service/web/assets.py),
  images also from ``data:`` URLs, and may not be framed (``frame-ancestors 'none'``). The web pages
  also allow inline styles (plotly sets them at run time); the API docs pages (flask-smorest's Swagger
  UI and ReDoc templates) start with an inline script and ReDoc searches in a blob worker.
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY``
  (for browsers without ``frame-ancestors``).
"""

from __future__ import annotations

from flask import Flask, Response, request

_COMMON = "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
DEFAULT_CSP = f"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; {_COMMON}"
PAGES_CSP = (f"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
             f"font-src 'self'; {_COMMON}")
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
            f"img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; {_COMMON}")
DOCS_PAGES = ("/api/v1/docs", "/api/v1/redoc")
MACHINE_PATHS = ("/api/", "/optimade")

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def content_security_policy(path: str) -> str:
    """The policy for a response to ``path``: the docs pages, the API and OPTIMADE, or a web page."""
    if path.startswith(DOCS_PAGES):
        return DOCS_CSP
    return DEFAULT_CSP if path.startswith(MACHINE_PATHS) else PAGES_CSP


def install(app: Flask) -> None:
    """Add the headers to every response of ``app`` (errors included); a view's own value is kept."""

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        # one pass over the response's headers instead of one per header (werkzeug's setdefault scans them)
        have = {k.lower() for k in resp.headers.keys()}
        if "content-security-policy" not in have:
            resp.headers.add("Content-Security-Policy", content_security_policy(request.path))
        for name, value in STATIC_HEADERS.items():
            if name.lower() not in have:
                resp.headers.add(name, value)
        return resp
