"""gunicorn configuration shipped with Ionbase::

    gunicorn -c python:ionbase.service.gunicorn_conf -w 2 -b 127.0.0.1:8000

With the embedded store (no ``MONGODB_URI``) the gunicorn master registers as a client of the
store before forking workers (``on_starting``), so the store's supervisor keeps it running for as
long as gunicorn runs, whichever workers are recycled (``max_requests``) or killed. Workers open
their own pymongo clients after the fork (``ionbase.service.wsgi:create_wsgi_app``).
"""

from __future__ import annotations

wsgi_app = "ionbase.service.wsgi:create_wsgi_app()"

#: gunicorn answers an over-long request line itself, with an HTML 414 page. 0 raises its limit to its
#: own cap (1 MiB), so the application refuses URLs above ``auth.MAX_URI_CHARS`` (8190) with a JSON 414;
#: only a request line above 1 MiB still gets gunicorn's HTML page.
limit_request_line = 0


def on_starting(server) -> None:
    """In the master, before any worker: start (or reuse) the supervised embedded store and hold it."""
    from ionbase.settings import Settings
    from ionbase.store.embedded import EmbeddedServer

    settings = Settings.from_env()
    if not settings.embedded:
        return
    embedded = EmbeddedServer(settings.data_dir, idle_exit_s=settings.embedded_idle_exit_s)
    uri = embedded.ensure_running()
    server.ionbase_embedded = embedded  # the master's client registration lives as long as the master
    server.log.info("embedded store %s (supervisor pid %s, data in %s)", uri, embedded.current().get("supervisor_pid"), embedded.mongo_dir)
