"""OPTIMADE query parameters: the specification's set, checked; anything else is refused (400).

Parameters prefixed by another provider (``_otherprovider_x``) are ignored, as the specification
demands; unknown unprefixed or ``_ionbase_`` parameters are refused naming them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lark import Token, Tree
from lark.exceptions import UnexpectedInput, VisitError

from ionbase.errors import InvalidRequest, PermissionDenied, UnknownParameter
from ionbase.service.optimade.fields import PREFIX, PROVIDER_FIELDS
from ionbase.service.query.filter import FilterError

DEFAULT_PAGE_LIMIT = 20
MAX_PAGE_LIMIT = 500
MAX_FILTER_LENGTH = 10_000
_SINGLE = {"response_format", "email_address", "response_fields", "include", "api_hint"}
_LIST = _SINGLE | {"filter", "sort", "page_limit", "page_offset", "page_number", "page_cursor",
                   "page_above", "page_below"}


class Forbidden(PermissionDenied):
    """A page_limit above the maximum (OPTIMADE answers 403)."""


@dataclass
class ListParams:
    query: dict = field(default_factory=dict)
    sort: list[tuple[str, int]] = field(default_factory=list)
    offset: int = 0
    limit: int = DEFAULT_PAGE_LIMIT
    response_fields: list[str] | None = None
    include: bool = True


@lru_cache(maxsize=1)
def _parser():
    from optimade.filterparser import LarkParser

    return LarkParser()


@lru_cache(maxsize=None)
def known_fields(entry_type: str) -> dict[str, dict]:
    """name -> {type, sortable, ...} of every queryable attribute of ``entry_type`` (info/<type> lists them)."""
    from optimade.models import ReferenceResource, StructureResource
    from optimade.server.schemas import retrieve_queryable_properties

    from ionbase.service.optimade.responses import STRUCTURE_FIELDS, REFERENCE_FIELDS

    if entry_type == "structures":
        every = retrieve_queryable_properties(StructureResource)
        props = {name: every[name] for name in STRUCTURE_FIELDS}
        for name, (typ, unit, sortable, desc) in PROVIDER_FIELDS.items():
            props[PREFIX + name] = {"description": desc, "type": typ, "sortable": sortable, **({"unit": unit} if unit else {})}
        return props
    every = retrieve_queryable_properties(ReferenceResource)
    return {name: every[name] for name in REFERENCE_FIELDS}


def _check_names(args, allowed: set[str]) -> None:
    unknown = sorted(k for k in args if k not in allowed and not (k.startswith("_") and not k.startswith(PREFIX)))
    if unknown:
        raise UnknownParameter(f"unknown query parameter(s) {', '.join(map(repr, unknown))}; "
                               f"this endpoint accepts: {', '.join(sorted(allowed))}", {"parameters": unknown})


def _int(args, name: str, default: int, minimum: int) -> int:
    raw = args.get(name)
    if raw in (None, ""):
        return default
    try:
        value = int(raw)
    except ValueError:
        raise InvalidRequest(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise InvalidRequest(f"{name} must be at least {minimum}, got {value}")
    return value


def _common(args, entry_type: str | None, params: ListParams) -> None:
    fmt = args.get("response_format", "json")
    if fmt != "json":
        raise InvalidRequest(f"response_format {fmt!r} is not supported; use json")
    include = args.get("include")
    if include not in (None, "", "references"):
        raise InvalidRequest(f"include={include!r}: only 'references' can be included")
    params.include = include != ""
    if args.get("response_fields") is not None and entry_type:
        names = [n.strip() for n in args["response_fields"].split(",") if n.strip()]
        params.response_fields = names


def parse_single_params(args, allowed: set[str] | tuple = tuple(_SINGLE), entry_type: str | None = None) -> ListParams:
    """Checked parameters of a single-entry or info request."""
    _check_names(args, set(allowed))
    params = ListParams()
    if allowed:
        _common(args, entry_type, params)
    return params


def parse_list_params(args, entry_type: str) -> ListParams:
    """Checked parameters of a multi-entry request: filter (as a Mongo query), sort, page, fields."""
    _check_names(args, _LIST)
    params = ListParams()
    _common(args, entry_type, params)
    params.limit = _int(args, "page_limit", DEFAULT_PAGE_LIMIT, 0)
    if params.limit > MAX_PAGE_LIMIT:
        raise Forbidden(f"page_limit {params.limit} is above the maximum {MAX_PAGE_LIMIT}")
    for name in ("page_cursor", "page_above", "page_below"):
        if args.get(name) not in (None, ""):
            raise InvalidRequest(f"{name} is not supported; page with page_offset or page_number")
    params.offset = _int(args, "page_offset", 0, 0)
    if args.get("page_number") not in (None, ""):
        params.offset = (_int(args, "page_number", 1, 1) - 1) * params.limit
    if entry_type != "links":
        params.sort = parse_sort(args.get("sort"), entry_type)
        params.query = parse_filter(args.get("filter"), entry_type)
    elif args.get("filter") or args.get("sort"):
        params.query = parse_filter(args.get("filter"), "links")
    return params


def parse_sort(text: str | None, entry_type: str) -> list[tuple[str, int]]:
    if not text:
        return []
    fields = known_fields(entry_type)
    out = []
    for part in text.split(","):
        name = part.strip()
        direction = -1 if name.startswith("-") else 1
        name = name.lstrip("-")
        if name not in fields:
            raise InvalidRequest(f"sort: unknown field {name!r}")
        if not fields[name].get("sortable") or str(fields[name].get("type")).lower().endswith("list"):
            raise InvalidRequest(f"sort: {name!r} is not sortable")
        out.append((name, direction))
    return out


def _check_tree(tree: Tree, text: str, fields: dict) -> None:
    for sub in tree.iter_subtrees():
        if sub.data != "property":
            continue
        toks = [t for t in sub.children if isinstance(t, Token)]
        name = ".".join(str(t) for t in toks)
        other_provider = name.startswith("_") and not name.startswith(PREFIX)
        if name not in fields and not other_provider:
            raise FilterError(f"unknown field {name!r}", position=toks[0].start_pos, line=toks[0].line,
                              column=toks[0].column, text=text)


@lru_cache(maxsize=1)
def _transformer():
    from optimade.filtertransformers.mongo import MongoTransformer

    class LiteralTextTransformer(MongoTransformer):
        """optimade's MongoTransformer, with CONTAINS / STARTS / ENDS matching literal text (it passes the
        pattern to $regex unescaped, so "Na2.9" would match "Na2-9" and "(P2_1/n)" would not parse)."""

        def fuzzy_string_op_rhs(self, arg):
            pattern = arg[2] if isinstance(arg[1], Token) and arg[1].type == "WITH" else arg[1]
            if not isinstance(pattern, str):
                raise FilterError(f"{arg[0]} needs a string")
            text = re.escape(pattern)
            return {"$regex": {"CONTAINS": text, "STARTS": "^" + text, "ENDS": text + "$"}[str(arg[0])]}

    return LiteralTextTransformer()


def parse_filter(text: str | None, entry_type: str) -> dict:
    """An OPTIMADE filter as a Mongo query over the flat entry documents (FilterError with the position)."""
    if text is None or not text.strip():
        return {}
    if len(text) > MAX_FILTER_LENGTH:
        raise FilterError(f"filter longer than {MAX_FILTER_LENGTH} characters")
    try:
        tree = _parser().lark.parse(text)
    except UnexpectedInput as exc:
        raise FilterError("syntax error", position=getattr(exc, "pos_in_stream", None), line=getattr(exc, "line", None),
                          column=getattr(exc, "column", None), text=text) from None
    _check_tree(tree, text, known_fields(entry_type) if entry_type != "links" else {"id": {}, "type": {}})
    try:
        query = _transformer().transform(tree)
    except VisitError as exc:
        raise FilterError(getattr(exc.orig_exc, "detail", None) or str(exc.orig_exc)) from None
    except Exception as exc:  # optimade raises its own BadRequest / NotImplementedError
        raise FilterError(getattr(exc, "detail", None) or str(exc) or "unsupported filter") from None
    return _no_regex_injection(query)


def _no_regex_injection(query: Any) -> Any:
    """The transformer escapes CONTAINS/STARTS/ENDS itself; only its own operators reach mongomock."""
    if isinstance(query, dict):
        for key in query:
            if key.startswith("$") and key not in _OPERATORS:
                raise FilterError(f"unsupported filter construct {key}")
        return {k: _no_regex_injection(v) for k, v in query.items()}
    if isinstance(query, list):
        return [_no_regex_injection(v) for v in query]
    return query


_OPERATORS = {"$and", "$or", "$nor", "$not", "$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$in", "$nin", "$all",
              "$exists", "$regex", "$size", "$elemMatch", "$options"}
