"""Security headers on every response (issue 14, point 7), in one place.

* ``Content-Security-Policy``: the API and the web pages load only their own scripts, styles and
  fonts (``'self'``), images also from ``data:`` URLs, and may not be framed (``frame-ancestors
  'none'``). The interactive docs pages (Swagger UI, ReDoc, rendered by flask-smorest) load their
  bundles from the CDN configured in ``service/app.py`` and start with an inline script, so those two
  pages alone also allow that CDN and inline code.
* ``X-Content-Type-Options: nosniff``, ``Referrer-Policy: no-referrer``, ``X-Frame-Options: DENY``
  (for browsers without ``frame-ancestors``).
"""

from __future__ import annotations

from flask import Flask, Response, request

CDN = "https://cdn.jsdelivr.net"

DEFAULT_CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
               "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_CSP = (f"default-src 'self'; script-src 'self' 'unsafe-inline' {CDN}; style-src 'self' 'unsafe-inline' {CDN}; "
            f"img-src 'self' data: {CDN}; font-src 'self' data: {CDN}; connect-src 'self'; worker-src 'self' blob:; "
            "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")
DOCS_PAGES = ("/api/v1/docs", "/api/v1/redoc")

STATIC_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}


def content_security_policy(path: str) -> str:
    """The policy for a response to ``path``."""
    return DOCS_CSP if path.startswith(DOCS_PAGES) else DEFAULT_CSP


def install(app: Flask) -> None:
    """Add the headers to every response of ``app`` (errors included); a view's own value is kept."""

    @app.after_request
    def _security_headers(resp: Response) -> Response:
        resp.headers.setdefault("Content-Security-Policy", content_security_policy(request.path))
        for name, value in STATIC_HEADERS.items():
            resp.headers.setdefault(name, value)
        return resp
