"""Helpers shared by the resource blueprints: store access, documents out, simple paging."""

from __future__ import annotations

import datetime as _dt
import functools
from typing import Any, Iterable
from urllib.parse import urlencode

import marshmallow as ma
from flask import current_app, request

from ionbase.errors import NotFound
from ionbase.service.query.cursor import combine, decode_cursor, encode_cursor, fingerprint, keyset_condition

MAX_PAGE = 1000
#: a cursor is unpadded URL-safe base64 (service/query/cursor.py); anything else is a schema violation
CURSOR_PATTERN = r"^[A-Za-z0-9_-]*$"


def get_store():
    return current_app.extensions["ionbase_store"]


def get_settings():
    return current_app.config["IONBASE_SETTINGS"]


def clean(doc: Any) -> Any:
    """A stored document as JSON-able output: ``_id`` -> ``id``, datetimes as ISO 8601 UTC with "Z".

    The store holds UTC only (pymongo returns naive UTC datetimes), so every time the API returns
    has one form, e.g. ``2026-12-01T17:28:21Z``. Plain values (str, float, int, bool, None) are
    passed through without a call: most of a page is plain values (bench/bench_api.py)."""
    if isinstance(doc, dict):
        return {("id" if k == "_id" else k): (v if type(v) in PLAIN_TYPES else clean(v)) for k, v in doc.items()}
    if isinstance(doc, list):
        return [v if type(v) in PLAIN_TYPES else clean(v) for v in doc]
    if isinstance(doc, _dt.datetime):
        if doc.tzinfo is not None:
            doc = doc.astimezone(_dt.timezone.utc).replace(tzinfo=None)
        return doc.isoformat() + "Z"
    if isinstance(doc, _dt.date):
        return doc.isoformat()
    return doc


#: types clean() returns unchanged
PLAIN_TYPES = frozenset({str, float, int, bool, type(None)})


def get_or_404(collection: str, doc_id: str, what: str, projection: dict | None = None) -> dict:
    doc = get_store().collection(collection).get(doc_id, projection)
    if doc is None:
        raise NotFound(f"no {what} {doc_id!r}")
    return doc


# --------------------------------------------------------------------- schemas


class PageArgs(ma.Schema):
    page_limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(1, MAX_PAGE),
                                   metadata={"description": "Documents per page (1-1000)."})
    page_cursor = ma.fields.String(load_default=None, validate=[ma.validate.Length(max=2000),
                                                                ma.validate.Regexp(CURSOR_PATTERN)],
                                   metadata={"description": "Opaque cursor from `meta.next_cursor` of the previous page."})


class PageMeta(ma.Schema):
    returned = ma.fields.Integer()
    page_limit = ma.fields.Integer()
    more_data_available = ma.fields.Boolean()
    next_cursor = ma.fields.String(allow_none=True)
    next = ma.fields.String(allow_none=True, metadata={"description": "URL of the next page, relative to this server (the Host header is never echoed)"})
    total = ma.fields.Integer(allow_none=True)
    unit = ma.fields.String(allow_none=True)


def next_url(cursor: str | None) -> str | None:
    """The URL of the next page: this request's path and parameters with ``page_cursor`` = ``cursor``."""
    if cursor is None:
        return None
    return page_url(request.script_root, request.path, request.args.items(multi=True), cursor)


def page_url(script_root: str, path: str, params: Iterable[tuple[str, str]], cursor: str) -> str:
    """``path`` with the query parameters ``params`` and ``page_cursor`` = ``cursor`` (replacing any),
    relative to the server: the Host header is the client's to set, so it is never echoed back."""
    args = tuple((k, v) for k, v in params if k != "page_cursor")
    return f"{script_root}{path}?{_encoded(args)}{'&' if args else ''}{urlencode([('page_cursor', cursor)])}"


@functools.lru_cache(maxsize=256)
def _encoded(args: tuple[tuple[str, str], ...]) -> str:
    """``urlencode(args)``, remembered: quoting a long filter costs more than the rest of the URL, and
    the next page of the same query asks for the same text again (bench/bench_api.py)."""
    return urlencode(args)


def list_page(collection: str, query: dict, args: dict, projection: dict | None = None, fp_extra: Any = None) -> dict:
    """One page of ``collection`` sorted by ``_id`` with a keyset cursor; ``{data, meta}``.

    Records of uncommitted batches are not listed (the typed collection hides them)."""
    spec = [("_id", 1)]
    fp = fingerprint(collection, query, fp_extra)
    q = query
    if args.get("page_cursor"):
        values = decode_cursor(args["page_cursor"], spec, fp)
        q = combine(query, keyset_condition(spec, values))
    limit = args["page_limit"]
    # a union of flat branches: the embedded server answers $or/$and slowly (store.shapes)
    docs = get_store().collection(collection).page(q, spec, limit + 1, projection)
    more = len(docs) > limit
    docs = docs[:limit]
    cursor = encode_cursor(spec, docs[-1], fp) if more and docs else None
    return {
        "data": [clean(d) for d in docs],
        "meta": {"returned": len(docs), "page_limit": limit, "more_data_available": more,
                 "next_cursor": cursor, "next": next_url(cursor)},
    }


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """A page of ``item``: ``{data: [...], meta: PageMeta}``."""
    return ma.Schema.from_dict({"data": ma.fields.List(ma.fields.Nested(item)), "meta": ma.fields.Nested(PageMeta)}, name=name)
