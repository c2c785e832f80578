"""OPTIMADE v1 endpoints at ``/optimade/v1`` and ``/optimade`` (unversioned): info, links, structures,
references, versions. Responses are built and validated with the ``optimade`` package's models;
errors are OPTIMADE error documents with the status of Ionbase's one error table
(``service.errors.http_error_for``). Parameters outside the OPTIMADE set are refused (400).
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, jsonify, request

from ionbase.errors import DomainError, NotFound
from ionbase.service.common import get_store
from ionbase.service.errors import http_error_for
from ionbase.service.optimade import responses as R
from ionbase.service.optimade.entries import EntryQuery, build_entries
from ionbase.service.optimade.params import parse_list_params, parse_single_params

log = logging.getLogger(__name__)
blp = Blueprint("optimade", __name__)
BASES = ("/optimade/v1", "/optimade")


def _json(payload: dict, status: int = 200) -> Response:
    resp = jsonify(payload)
    resp.status_code = status
    resp.mimetype = "application/vnd.api+json"
    return resp


def _route(rule: str, **kw):
    def deco(func):
        for base in BASES:
            blp.add_url_rule(base + rule, f"{func.__name__}{base.replace('/', '_')}", func, **kw)
        return func
    return deco


@blp.route("/optimade/versions")
def versions():
    """The major versions served (unversioned base only), as text/csv."""
    parse_single_params(request.args, allowed=())
    return Response("version\n1\n", content_type="text/csv; header=present")


@_route("/info")
def info():
    parse_single_params(request.args)
    return _json(R.info_response(request))


@_route("/info/<string:entry_type>")
def entry_info(entry_type: str):
    parse_single_params(request.args)
    return _json(R.entry_info_response(request, entry_type))


@_route("/links")
def links():
    params = parse_list_params(request.args, "links")
    return _json(R.links_response(request, params))


def _entries(entry_type: str) -> list[dict]:
    structures, references = build_entries(get_store())
    return structures if entry_type == "structures" else references


@_route("/<any(structures, references):entry_type>")
def entry_list(entry_type: str):
    params = parse_list_params(request.args, entry_type)
    docs = _entries(entry_type)
    page, total = EntryQuery(docs).run(params.query, params.sort, params.offset, params.limit)
    return _json(R.entries_response(request, entry_type, page, total, len(docs), params))


@_route("/<any(structures, references):entry_type>/<path:entry_id>")
def entry_one(entry_type: str, entry_id: str):
    params = parse_single_params(request.args, entry_type=entry_type)
    docs = _entries(entry_type)
    found = [d for d in docs if d["id"] == entry_id]
    if not found:
        raise NotFound(f"no {entry_type[:-1]} with id {entry_id!r}")
    return _json(R.entry_response(request, entry_type, found[0], len(docs), params))


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError):
    status = http_error_for(error).status
    return _json(R.error_response(request, status, error.message, error.errors), status)


@blp.errorhandler(Exception)
def _unexpected(error: Exception):
    code = getattr(error, "code", None)
    if isinstance(code, int) and 400 <= code < 600 and hasattr(error, "description"):  # an HTTP error (e.g. 405, 413)
        return _json(R.error_response(request, code, str(error.description)), code)
    log.exception("OPTIMADE request failed: %s", request.full_path)
    return _json(R.error_response(request, 500, "internal error; it has been logged"), 500)


def unknown_version(version: str):
    """``/optimade/v<n>/...`` for a version not served: 553 (OPTIMADE)."""
    return _json(R.error_response(request, 553, f"version {version!r} is not supported; this server serves v1"), 553)


blp.add_url_rule("/optimade/<regex_version>/<path:rest>", "unknown_version_any",
                 lambda regex_version, rest: unknown_version(regex_version)
                 if regex_version.startswith("v") and regex_version[1:].isdigit() and regex_version != "v1"
                 else _json(R.error_response(request, 404, "not found"), 404))
