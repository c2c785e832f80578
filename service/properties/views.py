"""``/api/v1/properties``: the cross-material property query, and one property by id."""

from __future__ import annotations

from typing import Any, Callable

import orjson
from flask import Response
from ionbase.service.params import Blueprint

from ionbase.schemas.units import UnitError, convert, convert_difference, parse_unit, round_sig
from ionbase.service.common import clean, get_or_404, get_store, next_url
from ionbase.errors import InvalidRequest
from ionbase.service.properties.schemas import FieldList, PropertyOut, PropertyPage, PropertyQueryArgs
from ionbase.service.query.cursor import combine, decode_cursor, encode_cursor, keyset_condition
from ionbase.service.query.fields import FIELDS
from ionbase.service.query.properties import build_property_query

blp = Blueprint("properties", __name__, url_prefix="/api/v1/properties",
                description="Scalar properties across materials: OPTIMADE filter, sort, cursor pages, unit conversion")


def convert_units(docs: list[dict], unit: str) -> None:
    """Convert value/uncertainty of every doc to ``unit`` in place; 400 if any is incompatible."""
    try:
        parse_unit(unit)
    except UnitError as exc:
        raise InvalidRequest(f"unknown unit {unit!r}: {exc}", {"unit": [unit]}) from None
    for d in docs:
        src = d.get("unit")
        if src is None or "value" not in d:
            continue
        try:
            d["value"] = round_sig(convert(d["value"], src, unit))
            if d.get("uncertainty") is not None:
                d["uncertainty"] = round_sig(convert_difference(d["uncertainty"], src, unit))
            if d.get("range"):
                d["range"] = [round_sig(convert(r, src, unit)) for r in d["range"]]
        except UnitError:
            raise InvalidRequest(
                f"unit {unit!r} does not fit property {d.get('name')!r} (canonical unit {src}); "
                "filter on one kind of property to convert units",
                {"unit": [unit]},
            ) from None
        d["unit"] = unit


def expand_samples(store: Any, docs: list[dict]) -> None:
    """Attach ``sample_expanded`` (label, parent, route steps and summary) to each property."""
    ids = sorted({d["sample"] for d in docs if d.get("sample")})
    if not ids:
        return
    samples = {s["_id"]: s for s in store.samples.find({"_id": {"$in": ids}},
                                                       {"label": 1, "parent": 1, "route": 1, "summary": 1})}
    route_ids = sorted({s["route"] for s in samples.values() if s.get("route")})
    routes = {r["_id"]: r for r in store.routes.find({"_id": {"$in": route_ids}}, {"steps": 1})} if route_ids else {}
    for d in docs:
        s = samples.get(d.get("sample"))
        if s is None:
            continue
        steps = (routes.get(s.get("route")) or {}).get("steps") or []
        d["sample_expanded"] = {
            "id": s["_id"], "label": s.get("label"), "parent": s.get("parent"), "route": s.get("route"),
            "summary": s.get("summary"),
            "steps": [{k: st.get(k) for k in ("order", "type", "params", "notes") if st.get(k) is not None} for st in steps],
        }


@blp.route("")
@blp.arguments(PropertyQueryArgs, location="query")
@blp.response(200, PropertyPage)
def query_properties(args):
    """Query properties across materials.

    `filter` uses the OPTIMADE filter grammar over Ionbase fields (`GET /api/v1/properties/fields`).
    Pages are cursor-based: follow `meta.next` (or pass `meta.next_cursor` as `page_cursor`) with
    the same filter, sort and unit. `max_anneal_c<=T` also matches samples that were never annealed.
    """
    out, meta = property_page(args, for_orjson=True)
    # serialized here rather than by the PropertyPage schema (which documents this shape): dumping 50
    # documents through marshmallow cost more than the query itself (bench/bench_api.py)
    return Response(orjson.dumps({"data": out, "meta": meta}, option=ORJSON_OPTIONS), mimetype="application/json")


#: orjson writes a naive (UTC) datetime as ``clean`` does: ISO 8601 with "Z"
ORJSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def property_page(args: dict, *, for_orjson: bool = False) -> tuple[list[dict], dict]:
    """One page of the property query for loaded PropertyQueryArgs: (documents out, meta), for this
    Flask request (its app's store, its URL for the next page); :func:`page_of_properties`."""
    return page_of_properties(get_store(), args, next_url, for_orjson=for_orjson)


def page_of_properties(store: Any, args: dict, link: Callable[[str | None], str | None], *,
                       for_orjson: bool = False) -> tuple[list[dict], dict]:
    """One page of the property query for loaded PropertyQueryArgs: (documents out, meta); ``link``
    gives the URL of the next page from its cursor.

    The API view, the search page and the hot path (service/hot.py) all call this, so they answer the
    same question alike. ``for_orjson``: nested values are left as stored (datetimes included) for
    ``orjson.dumps`` with :data:`ORJSON_OPTIONS`, which writes the same JSON as ``clean`` would
    without walking each document in Python (tests/api/test_properties.py compares the two)."""
    pq = build_property_query(args["filter"], args["sort"], args["fields"], args["unit"])
    q = pq.query
    if args["page_cursor"]:
        q = combine(q, keyset_condition(pq.sort, decode_cursor(args["page_cursor"], pq.sort, pq.fingerprint)))
    limit = args["page_limit"]
    # a union of flat branches: the embedded server answers $or/$and slowly (store.shapes)
    docs = store.properties.page(q, pq.sort, limit + 1, pq.projection)
    more = len(docs) > limit
    docs = docs[:limit]
    cursor = encode_cursor(pq.sort, docs[-1], pq.fingerprint) if more and docs else None
    if args["unit"]:
        convert_units(docs, args["unit"])
    if args["expand"] == "sample":
        expand_samples(store, docs)
    out = [_top_level(d) for d in docs] if for_orjson else [_out(d) for d in docs]
    if pq.output is not None:
        keep = set(pq.output) | ({"sample_expanded"} if args["expand"] else set())
        out = [{k: v for k, v in d.items() if k in keep} for d in out]
    meta = {"returned": len(out), "page_limit": limit, "more_data_available": more,
            "next_cursor": cursor, "next": link(cursor)}
    if args["unit"]:
        meta["unit"] = args["unit"]
    if args["include_total"]:
        meta["total"] = store.properties.count(pq.query)
    return out, meta


_PROPERTY_KEYS = frozenset(PropertyOut().fields) - {"id"} | {"_id"}
_OUTPUT_KEYS = _PROPERTY_KEYS - {"_id"} | {"id"}


def _out(doc: dict) -> dict:
    """A stored property as PropertyOut documents it: declared keys only, ``_id`` -> ``id``, cleaned."""
    return clean(_top_level(doc))


def _top_level(doc: dict) -> dict:
    """:func:`_out` for orjson: declared keys only, ``_id`` -> ``id``; values as stored.

    Nested property values never hold an ``_id`` (conditions and steps take registry keys,
    embedded documents declared fields), so ``clean`` would only have rewritten datetimes there.
    A stored document starts with ``_id``: then it is copied whole behind ``id`` (in C) and only
    undeclared keys are deleted, which costs about half of filtering key by key (bench/bench_api.py);
    the keys keep their order either way."""
    if "id" in doc or next(iter(doc), None) != "_id":
        return {("id" if k == "_id" else k): v for k, v in doc.items() if k in _PROPERTY_KEYS}
    out = {"id": doc["_id"], **doc}
    del out["_id"]
    if not out.keys() <= _OUTPUT_KEYS:
        for k in out.keys() - _OUTPUT_KEYS:
            del out[k]
    return out


@blp.route("/fields")
@blp.response(200, FieldList)
def list_fields():
    """Fields usable in `filter`, `sort` and the trend endpoints, with types and database paths."""
    return {"data": [{"name": f.name, "path": f.path, "type": f.type, "sortable": f.sortable,
                      "description": f.description} for f in FIELDS.values()]}


@blp.route("/<propid:property_id>")
@blp.response(200, PropertyOut)
def get_property(property_id):
    """One property by id."""
    return clean(get_or_404("properties", property_id, "property"))
