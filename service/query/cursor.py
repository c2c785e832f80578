"""Keyset (cursor) pagination on (sort keys..., _id), encoded as an opaque base64 token.

A page asks for documents strictly after the last one returned, in the sort order; ``_id`` breaks
ties, so inserting or deleting documents between requests never duplicates or skips a document that
existed throughout (unlike skip/limit). Missing values sort first (MongoDB order): documents never
store explicit nulls, so "missing" is tested with ``$exists: false``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from typing import Any

from ionbase.errors import InvalidRequest
from ionbase.store.shapes import get_path, simplify
from ionbase.service.query.fields import DEFAULT_SORT, FIELDS

MAX_SORT_KEYS = 4
CURSOR_VERSION = 1

SortSpec = list[tuple[str, int]]  # (db path, 1 | -1), always ending with ("_id", 1)


def parse_sort(text: str | None) -> SortSpec:
    """``-value,temperature_c`` -> ``[("value", -1), ("temperature_c", 1), ("_id", 1)]``."""
    names = [n.strip() for n in (text or DEFAULT_SORT).split(",") if n.strip()]
    if not names:
        names = [DEFAULT_SORT]
    if len(names) > MAX_SORT_KEYS:
        raise InvalidRequest(f"at most {MAX_SORT_KEYS} sort keys", {"sort": [text]})
    spec: SortSpec = []
    seen: set[str] = set()
    for name in names:
        direction = -1 if name.startswith("-") else 1
        key = name.lstrip("+-")
        f = FIELDS.get(key)
        if f is None or not f.sortable:
            allowed = sorted(n for n, fl in FIELDS.items() if fl.sortable)
            raise InvalidRequest(f"cannot sort by {key!r}; sortable fields: {', '.join(allowed)}", {"sort": [key]})
        if f.path in seen:
            raise InvalidRequest(f"sort key {key!r} given twice", {"sort": [key]})
        seen.add(f.path)
        spec.append((f.path, direction))
    if "_id" not in seen:
        spec.append(("_id", 1))
    return spec


def sort_token(spec: SortSpec) -> str:
    return ",".join(("-" if d < 0 else "") + p for p, d in spec)


def fingerprint(*parts: Any) -> str:
    """Short hash tying a cursor to the query it was made for."""
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:16]


def encode_cursor(spec: SortSpec, last_doc: dict, query_fp: str) -> str:
    values = [get_path(last_doc, p) for p, _ in spec]
    payload = {"v": CURSOR_VERSION, "s": sort_token(spec), "q": query_fp, "k": values}
    raw = json.dumps(payload, separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(token: str, spec: SortSpec, query_fp: str) -> list:
    """The key values of the last document of the previous page; 400 for a foreign or broken cursor."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        payload = json.loads(raw)
    except (ValueError, TypeError):
        raise InvalidRequest("page_cursor is not a valid cursor", {"page_cursor": ["not a cursor"]}) from None
    if not isinstance(payload, dict) or payload.get("v") != CURSOR_VERSION:
        raise InvalidRequest("page_cursor is not a valid cursor", {"page_cursor": ["unknown cursor version"]})
    if payload.get("s") != sort_token(spec) or payload.get("q") != query_fp:
        raise InvalidRequest(
            "page_cursor belongs to a different query; keep filter, sort and unit unchanged while paging",
            {"page_cursor": ["query changed"]},
        )
    values = payload.get("k")
    if not isinstance(values, list) or len(values) != len(spec):
        raise InvalidRequest("page_cursor is not a valid cursor", {"page_cursor": ["bad keys"]})
    for v in values:
        if v is not None and not isinstance(v, (str, int, float, bool)):
            raise InvalidRequest("page_cursor is not a valid cursor", {"page_cursor": ["bad keys"]})
        if isinstance(v, float) and not math.isfinite(v):
            raise InvalidRequest("page_cursor is not a valid cursor", {"page_cursor": ["bad keys"]})
    return values


def _after(path: str, direction: int, value: Any) -> dict | None:
    if value is None:
        return {path: {"$exists": True}} if direction > 0 else None
    if direction > 0:
        return {path: {"$gt": value}}
    return {"$or": [{path: {"$lt": value}}, {path: {"$exists": False}}]}


def _equal(path: str, value: Any) -> dict:
    return {path: {"$exists": False}} if value is None else {path: value}


def keyset_condition(spec: SortSpec, values: list) -> dict:
    """Documents strictly after ``values`` in the order ``spec`` (lexicographic expansion)."""
    branches: list[dict] = []
    for i, (path, direction) in enumerate(spec):
        after = _after(path, direction, values[i])
        if after is not None:
            eqs = [_equal(p, values[j]) for j, (p, _) in enumerate(spec[:i])]
            branches.append({"$and": [*eqs, after]} if eqs else after)
    if not branches:
        return {"_id": {"$in": []}}
    return branches[0] if len(branches) == 1 else {"$or": branches}


def combine(query: dict, extra: dict | None) -> dict:
    if not extra:
        return query
    if not query:
        return extra
    return simplify({"$and": [query, extra]})
