"""WSGI entry for production servers.

    gunicorn -c python:ionbase.service.gunicorn_conf -w 4 -b 127.0.0.1:8000

(``service.gunicorn_conf`` names this factory and, with the embedded store, registers the master as
its client; see there.) gunicorn (>= 20.1) calls the factory once per worker, after forking, so each
worker opens its own store connection (pymongo clients must not cross a fork). Settings come from the environment
(``MONGODB_URI``, ``IONBASE_DB_NAME``, ``IONBASE_*``). ``app`` is also available for servers that
want a module attribute: it is built lazily on first request.
"""

from __future__ import annotations

import threading

from flask import Flask


def create_wsgi_app() -> Flask:
    """Build the app from the environment (the gunicorn factory)."""
    from ionbase.settings import Settings
    from ionbase.service.app import create_app
    from ionbase.store import open_store

    from ionbase.service.query.filter import warm_up

    settings = Settings.from_env()
    warm_up()  # at boot, not in the first request that carries a filter
    # do not wait for an embedded store that is restarting: boot, answer 503 until it is back
    return create_app(settings, store=open_store(settings, wait=False))


class _LazyApp:
    """A WSGI callable that builds the real app on first use (``service.wsgi:app``)."""

    def __init__(self):
        self._app: Flask | None = None
        self._lock = threading.Lock()

    def _get(self) -> Flask:
        if self._app is None:
            with self._lock:
                if self._app is None:
                    self._app = create_wsgi_app()
        return self._app

    def __call__(self, environ, start_response):
        return self._get()(environ, start_response)


app = _LazyApp()
