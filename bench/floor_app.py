"""A floor for ``bench_api.py --variants`` (not part of Ionbase): the properties page without Flask.

A bare WSGI callable that answers ``GET /api/v1/properties?filter=...&sort=...&page_limit=...`` with
the query the API runs (``build_property_query``, ``Store.properties.page``: visibility and the
flat-branch shapes included) and the documents the API writes (its ``_top_level`` and orjson), and
nothing else: no routing, argument schema, authentication, headers or cursor. What it costs through
gunicorn is the least any application could cost on this server and store, so the http mode's
distance to it is the share of the overhead that is Flask's and Ionbase's own.
"""

from __future__ import annotations

import urllib.parse

import orjson

from ionbase.service.properties.views import ORJSON_OPTIONS, _top_level
from ionbase.service.query.properties import build_property_query
from ionbase.settings import Settings
from ionbase.store import open_store

_STORE = []


def app(environ: dict, start_response) -> list[bytes]:
    """One page of properties as JSON (the store opened on the first request, after the fork)."""
    if not _STORE:
        _STORE.append(open_store(Settings.from_env(), create_indexes=False))
    qs = dict(urllib.parse.parse_qsl(environ.get("QUERY_STRING", "")))
    limit = int(qs.get("page_limit", 50))
    pq = build_property_query(qs.get("filter"), qs.get("sort"), None)
    docs = _STORE[0].properties.page(pq.query, pq.sort, limit + 1, pq.projection)
    body = orjson.dumps({"data": [_top_level(d) for d in docs[:limit]], "meta": {"returned": min(limit, len(docs))}},
                        option=ORJSON_OPTIONS)
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
