"""The cross-material property query: arguments -> (query, sort, projection). Pure functions."""

from __future__ import annotations

import functools
from dataclasses import dataclass

from ionbase.errors import InvalidRequest
from ionbase.service.query.cursor import SortSpec, fingerprint, parse_sort
from ionbase.service.query.fields import OUTPUT_FIELDS, output_key
from ionbase.service.query.filter import parse_filter


#: output keys that ``unit=`` converts (service/properties/views.convert_units)
CONVERTED = frozenset({"value", "uncertainty", "range"})


@dataclass
class PropertyQuery:
    query: dict
    sort: SortSpec
    projection: dict | None  # top-level keys only (the embedded store mangles dotted projections)
    output: list[str] | None  # keys to return (None: all)
    fingerprint: str


def parse_fields(text: str | None) -> list[str] | None:
    """``fields=name,value,sample_label`` -> output keys (filter names map to their top-level key)."""
    if not text:
        return None
    out: list[str] = []
    for name in (n.strip() for n in text.split(",")):
        if not name:
            continue
        key = output_key(name)
        if key is None:
            raise InvalidRequest(f"unknown field {name!r} in fields; available: {', '.join(OUTPUT_FIELDS)}", {"fields": [name]})
        if key not in out:
            out.append(key)
    return out or None


def build_property_query(filter_text: str | None, sort_text: str | None, fields_text: str | None,
                         unit: str | None = None) -> PropertyQuery:
    """The query, sort, projection, output keys and cursor fingerprint of the property query's arguments.

    Parsed once per distinct arguments (``_compiled``); each call gets its own copies."""
    query = parse_filter(filter_text)  # first: a bad filter is the error reported
    sort, projection, output, fp = _compiled(filter_text, sort_text, fields_text, unit)
    return PropertyQuery(query=query, sort=list(sort), projection=dict(projection) if projection is not None else None,
                         output=list(output) if output is not None else None, fingerprint=fp)


@functools.lru_cache(maxsize=512)
def _compiled(filter_text: str | None, sort_text: str | None, fields_text: str | None,
              unit: str | None) -> tuple[SortSpec, dict | None, list[str] | None, str]:
    """(sort, projection, output, fingerprint) for one set of arguments; an invalid one raises (and is
    not remembered). Hashing the query for the fingerprint costs about as much as the rest of the view's
    own work on a page (bench/bench_api.py)."""
    sort = parse_sort(sort_text)
    output = parse_fields(fields_text)
    if unit and output is not None and CONVERTED & set(output) and "unit" not in output:
        output.append("unit")  # a number converted to a unit the caller chose never travels without it
    projection = None
    if output is not None:
        need = set(output) | {p.split(".")[0] for p, _ in sort}
        if unit:
            need |= {"value", "uncertainty", "unit", "name"}
        need.discard("id")
        projection = {k: 1 for k in sorted(need)}
        projection["_id"] = 1
    return sort, projection, output, fingerprint("properties", parse_filter(filter_text), unit)
