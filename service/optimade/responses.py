"""OPTIMADE response documents, built as dicts and validated (and serialised) by the ``optimade`` models."""

from __future__ import annotations

import datetime as _dt
from typing import Any
from urllib.parse import urlencode

from ionbase import __version__
from ionbase.errors import NotFound
from ionbase.service.optimade.fields import PROVIDER

API_VERSION = "1.2.0"
#: the OpenAPI schema of the OPTIMADE version served (meta.schema)
SCHEMA_URL = "https://schemas.optimade.org/openapi/v1.2/optimade.json"
ENTRY_TYPES = ("structures", "references")
STRUCTURE_FIELDS = [
    "id", "type", "last_modified", "elements", "nelements", "elements_ratios", "chemical_formula_descriptive",
    "chemical_formula_reduced", "chemical_formula_anonymous", "dimension_types", "nperiodic_dimensions",
    "lattice_vectors", "cartesian_site_positions", "nsites", "species", "species_at_sites", "structure_features",
    "space_group_it_number",
]
REFERENCE_FIELDS = ["id", "type", "last_modified", "doi", "title", "url", "note", "bib_type"]
DESCRIPTIONS = {
    "structures": "One entry per phase of an Ionbase structure result (Rietveld, PDF or phase identification), "
                  "with the sample's synthesis and transport under _ionbase_ fields",
    "references": "The publications (DOIs) the structure results come from",
}


def _base_url(request) -> str:
    root = request.url_root.rstrip("/")
    return f"{root}/optimade/v1"


def _meta(request, returned: int | None = None, available: int | None = None, more: bool = False) -> dict:
    meta: dict[str, Any] = {
        "query": {"representation": request.full_path.split("/optimade", 1)[-1].removeprefix("/v1").rstrip("?") or "/"},
        "api_version": API_VERSION,
        "more_data_available": more,
        "time_stamp": _dt.datetime.now(_dt.timezone.utc),
        "provider": PROVIDER,
        "implementation": {"name": "Ionbase", "version": __version__},
        "schema": SCHEMA_URL,
    }
    if returned is not None:
        meta["data_returned"] = returned
    if available is not None:
        meta["data_available"] = available
    return meta


def _dump(model_cls, payload: dict) -> dict:
    """Validate with the optimade model and serialise. The model warns (MissingExpectedField) for a phase
    with species but no sites, which is what a paper that prints occupancies without positions gives."""
    import warnings

    from optimade.warnings import MissingExpectedField

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MissingExpectedField)
        return model_cls(**payload).model_dump(mode="json", exclude_unset=True, by_alias=True)


def info_response(request) -> dict:
    from optimade.models import InfoResponse

    data = {"id": "/", "type": "info", "attributes": {
        "api_version": API_VERSION,
        "available_api_versions": [{"url": _base_url(request), "version": API_VERSION}],
        "formats": ["json"],
        "available_endpoints": ["info", "links", *ENTRY_TYPES],
        "entry_types_by_format": {"json": list(ENTRY_TYPES)},
        "is_index": False,
    }}
    return _dump(InfoResponse, {"data": data, "meta": _meta(request)})


def entry_info_response(request, entry_type: str) -> dict:
    from optimade.models import EntryInfoResponse

    from ionbase.service.optimade.params import known_fields

    if entry_type not in ENTRY_TYPES:
        raise NotFound(f"no entry type {entry_type!r}; served: {', '.join(ENTRY_TYPES)}")
    props = {name: {k: v for k, v in p.items() if k in ("description", "unit", "sortable", "type")}
             for name, p in known_fields(entry_type).items()}
    data = {"id": entry_type, "type": "info", "formats": ["json"], "description": DESCRIPTIONS[entry_type], "properties": props,
            "output_fields_by_format": {"json": list(props)}}
    return _dump(EntryInfoResponse, {"data": data, "meta": _meta(request)})


def links_response(request, params) -> dict:
    from optimade.models import LinksResponse

    return _dump(LinksResponse, {"data": [], "meta": _meta(request, 0, 0), "links": {"next": None}})


def _aware(value: Any) -> Any:
    """Stored times are UTC; mongomock hands them back naive."""
    if isinstance(value, _dt.datetime) and value.tzinfo is None:
        return value.replace(tzinfo=_dt.timezone.utc)
    return value


def _resource(doc: dict, fields: list[str] | None) -> dict:
    attrs = {k: _aware(v) for k, v in doc.items() if k not in ("id", "type", "_references")}
    if fields is not None:
        attrs = {k: attrs.get(k) for k in fields if k not in ("id", "type")}
    out = {"id": doc["id"], "type": doc["type"], "attributes": attrs}
    if doc.get("_references"):
        out["relationships"] = {"references": {"data": [{"id": r, "type": "references"} for r in doc["_references"]]}}
    return out


def _included(docs: list[dict], params) -> list[dict] | None:
    from ionbase.service.optimade.entries import build_entries
    from ionbase.service.common import get_store

    wanted = sorted({r for d in docs for r in d.get("_references") or []})
    if not params.include or not wanted:
        return None
    _, refs = build_entries(get_store())
    return [_resource(r, None) for r in refs if r["id"] in wanted]


def _next_link(request, offset: int, limit: int) -> str:
    args = [(k, v) for k, v in request.args.items(multi=True) if k not in ("page_offset", "page_number")]
    args.append(("page_offset", str(offset + limit)))
    return f"{request.base_url}?{urlencode(args)}"


def entries_response(request, entry_type: str, docs: list[dict], total: int, available: int, params) -> dict:
    from optimade.models import ReferenceResponseMany, StructureResponseMany

    more = params.offset + len(docs) < total
    payload: dict[str, Any] = {
        "data": [_resource(d, params.response_fields) for d in docs],
        "meta": _meta(request, total, available, more),
        "links": {"next": _next_link(request, params.offset, params.limit) if more else None},
    }
    included = _included(docs, params)
    if included is not None:
        payload["included"] = included
    cls = StructureResponseMany if entry_type == "structures" else ReferenceResponseMany
    out = _dump(cls, payload)
    if params.response_fields is not None:  # the models fill defaults; the client asked for these only
        keep = set(params.response_fields)
        for d in out["data"]:
            d["attributes"] = {k: v for k, v in d.get("attributes", {}).items() if k in keep}
    return out


def entry_response(request, entry_type: str, doc: dict, available: int, params) -> dict:
    from optimade.models import ReferenceResponseOne, StructureResponseOne

    payload: dict[str, Any] = {"data": _resource(doc, params.response_fields), "meta": _meta(request, 1, available),
                               "links": {"next": None}}
    included = _included([doc], params)
    if included is not None:
        payload["included"] = included
    cls = StructureResponseOne if entry_type == "structures" else ReferenceResponseOne
    return _dump(cls, payload)


def error_response(request, status: int, detail: str, errors: Any = None) -> dict:
    from werkzeug.http import HTTP_STATUS_CODES

    title = HTTP_STATUS_CODES.get(status, "Error")
    error: dict[str, Any] = {"status": str(status), "title": title, "detail": detail}
    if isinstance(errors, dict) and isinstance(errors.get("filter"), dict) and "position" in errors["filter"]:
        error["meta"] = {"filter": errors["filter"]}
    meta = _meta(request)
    return {"errors": [error], "meta": {**{k: v for k, v in meta.items() if k != "time_stamp"},
                                        "time_stamp": meta["time_stamp"].isoformat()}}
