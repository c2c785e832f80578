"""Application factory: ``create_app(settings)``. Nothing is read into globals at import."""

from __future__ import annotations

from flask import Flask

from ionbase import __version__
from ionbase.settings import Settings


def create_app(settings: Settings | None = None, *, store=None) -> Flask:
    """Build the Flask app for ``settings`` (from the environment when omitted)."""
    settings = settings or Settings.from_env()
    if store is None:
        from store import open_store

        store = open_store(settings)
    app = Flask("ionbase")
    app.config["IONBASE_SETTINGS"] = settings
    app.config["MAX_CONTENT_LENGTH"] = settings.max_request_bytes
    app.extensions["ionbase_store"] = store

    @app.get("/api/v1/health")
    def health():
        return {"status": "ok", "version": __version__, "store": store.kind}

    return app
