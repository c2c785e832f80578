"""Strict request parameters: every endpoint refuses a parameter it does not know (400, naming it).

The one place this is decided. Views declare their parameters with ``blp.arguments(Schema,
location=...)`` as usual; the ``Blueprint`` here differs from flask-smorest's in three ways:

* its webargs parser loads every location with marshmallow ``unknown=RAISE`` (webargs' default
  silently drops unknown query-string and form keys) and answers an unknown key with **400**
  naming it and listing what the endpoint accepts (other validation errors stay 422);
* a view that declares no query-string parameters gets an empty query schema, so
  ``GET /samples/{id}?bogus=1`` is refused too;
* a parameter given more than once (``?filter=a&filter=b``, a form field sent twice) is refused with
  **400** naming it, in every location read from a multidict (query string, form fields, multipart),
  unless its schema field takes a list (``fields.List``, e.g. the ``files`` of an upload): webargs
  would silently read the first value;
* the location ``multipart`` reads form fields and uploaded files together (flask-smorest
  documents one request body per operation, and a multipart body mixes both), so an upload
  endpoint declares its fields and files in one schema and an unknown field or file part is
  refused like any other parameter.

A flat query-string schema (string, integer and boolean fields, marshmallow validators, no hooks) is
also compiled once into a :class:`QueryPlan` that loads a well-formed query string without webargs and
marshmallow (about a tenth of a small API request: bench/bench_api.py). Whatever the plan does not
accept as plainly valid (an unknown or repeated key, a value that is not plain digits or a listed
boolean, a failing validator) goes through webargs and marshmallow as before, so every error and
every value loaded is theirs.
"""

from __future__ import annotations

import re
from typing import Any, Callable, NoReturn

import marshmallow as ma
from flask import Request, request as current_request
from flask.views import MethodView
from flask_smorest import Blueprint as _SmorestBlueprint
import webargs.core
from webargs.flaskparser import FlaskParser
from werkzeug.datastructures import CombinedMultiDict

from ionbase.errors import InvalidRequest, UnknownParameter

#: where each location's parameters are sent, as the error message says it
_WHERE = {"query": "query string", "querystring": "query string", "form": "form fields",
          "multipart": "multipart form fields", "files": "uploaded file fields", "json": "JSON body"}


class NoParameters(ma.Schema):
    """No query-string parameters (given to views that declare none)."""


def unknown_names(messages: Any, unknown_message: str) -> list[str]:
    """Top-level keys whose only error is marshmallow's 'unknown field' message."""
    if not isinstance(messages, dict):
        return []
    return sorted(str(k) for k, v in messages.items() if v == [unknown_message])


def _accepted(schema: ma.Schema) -> list[str]:
    return sorted(f.data_key or name for name, f in schema.fields.items() if not f.dump_only)


#: webargs' "unknown not given" marker (a private name: when a webargs release drops it, no query string
#: takes the plan and webargs parses every one, as before the plan existed)
_UNKNOWN_DEFAULT_PARAM = getattr(webargs.core, "_UNKNOWN_DEFAULT_PARAM", None)

#: what the plan reads as an integer itself (anything else, e.g. "+5" or "1_000", is left to marshmallow)
_PLAIN_INT = re.compile(r"[0-9]{1,9}")
_MISSING = ma.missing


class QueryPlan:
    """A flat query-string schema compiled once: loads a plainly valid query string, or returns None.

    None means "let webargs and marshmallow decide" (they then answer the same as without the plan)."""

    KINDS = {ma.fields.String: "str", ma.fields.Integer: "int", ma.fields.Boolean: "bool"}

    def __init__(self, fields: list[tuple[str, str, str, ma.fields.Field]]):
        self.fields = fields
        self.keys = frozenset(key for key, _, _, _ in fields)

    @classmethod
    def compile(cls, schema: ma.Schema) -> "QueryPlan | None":
        """The plan of ``schema``, or None when it has anything the plan does not model."""
        hooks = getattr(schema, "_hooks", None)  # marshmallow's private registry of pre/post hooks
        if _UNKNOWN_DEFAULT_PARAM is None or not isinstance(hooks, dict) or any(hooks.values()) \
                or schema.many or schema.partial:
            return None
        fields = []
        for name, field in schema.load_fields.items():
            kind = cls.KINDS.get(type(field))
            if kind is None or (kind == "int" and field.strict) or (kind == "bool" and not field.truthy):
                return None
            if not all(isinstance(v, ma.validate.Validator) for v in field.validators):
                return None
            fields.append((field.data_key or name, field.attribute or name, kind, field))
        return cls(fields)

    def load(self, args: Any) -> dict | None:
        """The loaded arguments of the multidict ``args``, or None (see the class docstring)."""
        given = {}
        for key, values in args.lists():
            if key not in self.keys or len(values) != 1:
                return None
            given[key] = values[0]
        out = {}
        for key, attr, kind, field in self.fields:
            value = given.get(key, _MISSING)
            if value is _MISSING:
                if field.required:
                    return None
                default = field.load_default
                if default is not _MISSING:
                    out[attr] = default() if callable(default) else default
                continue
            value = _convert(kind, field, value)
            if value is _MISSING or not _passes(field, value):
                return None
            out[attr] = value
        return out


def _convert(kind: str, field: ma.fields.Field, value: str) -> Any:
    if kind == "str":
        return value
    if kind == "int":
        return int(value) if _PLAIN_INT.fullmatch(value) else _MISSING
    if value in field.truthy:
        return True
    return False if value in field.falsy else _MISSING


def _passes(field: ma.fields.Field, value: Any) -> bool:
    for validator in field.validators:
        try:
            validator(value)
        except ma.ValidationError:
            return False
    return True


class RepeatedParameter(ma.ValidationError):
    """Keys given more than once for a field that takes one value: {key: times}."""

    def __init__(self, counts: dict[str, int]):
        self.counts = counts
        super().__init__({key: [f"given {n} times; give it once"] for key, n in counts.items()})


def repeated_keys(multidict: Any, proxy: Any, schema: ma.Schema) -> dict[str, int]:
    """The keys of ``multidict`` given more than once whose field in ``schema`` takes one value.

    Unknown keys are left out: marshmallow refuses them as unknown, however often they are given."""
    lists = getattr(multidict, "lists", None)
    if lists is None:
        return {}
    known = {f.data_key or name for name, f in schema.load_fields.items()}
    return {key: len(values) for key, values in lists()
            if len(values) > 1 and key in known and key not in proxy.multiple_keys}


class StrictParser(FlaskParser):
    """webargs parser: unknown keys raise in every location; unknown and repeated keys -> 400, the rest 422."""

    DEFAULT_UNKNOWN_BY_LOCATION = {loc: ma.RAISE for loc in
                                   ("json", "form", "json_or_form", "querystring", "query", "headers",
                                    "cookies", "files", "multipart")}
    # headers and cookies are never declared by Ionbase views; keep webargs' tolerant default there
    DEFAULT_UNKNOWN_BY_LOCATION.update(headers=ma.EXCLUDE, cookies=ma.EXCLUDE)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.location_loader("multipart")(self._load_multipart)
        self._plans: dict[ma.Schema, QueryPlan | None] = {}

    def parse(self, argmap: Any, req: Request | None = None, *, location: str | None = None, **kwargs: Any) -> Any:
        """webargs' ``parse``; a query string that the schema's :class:`QueryPlan` loads skips it."""
        if location in ("query", "querystring") and isinstance(argmap, ma.Schema) and not kwargs.get("validate") \
                and kwargs.get("unknown", _UNKNOWN_DEFAULT_PARAM) is _UNKNOWN_DEFAULT_PARAM \
                and self.unknown is _UNKNOWN_DEFAULT_PARAM:  # then marshmallow would load with RAISE
            if argmap not in self._plans:
                self._plans[argmap] = QueryPlan.compile(argmap)
            plan = self._plans[argmap]
            loaded = plan.load((req if req is not None else current_request).args) if plan is not None else None
            if loaded is not None:
                return loaded
        return super().parse(argmap, req, location=location, **kwargs)

    def _makeproxy(self, multidict: Any, schema: ma.Schema, **kwargs: Any) -> Any:
        """webargs' multidict proxy, after refusing a key given more than once for a one-value field."""
        proxy = super()._makeproxy(multidict, schema, **kwargs)
        counts = repeated_keys(multidict, proxy, schema)
        if counts:
            raise RepeatedParameter(counts)  # inside webargs' parse: handle_error gets it, under its location
        return proxy

    def _load_multipart(self, req: Request, schema: ma.Schema) -> Any:
        """Form fields and uploaded files of a multipart body, as one multidict."""
        return self._makeproxy(CombinedMultiDict([req.form, req.files]), schema)

    def load_json(self, req: Request, schema: ma.Schema) -> Any:
        """The JSON body; a form or multipart body sent instead is refused, never read as 'no parameters'."""
        if not req.is_json and (req.form or req.files):
            names = ", ".join(repr(k) for k in sorted({*req.form, *req.files}))
            raise InvalidRequest(f"this endpoint takes a JSON body (Content-Type: application/json), not form fields ({names})",
                                 {"json": {k: ["Send as a JSON body."] for k in sorted({*req.form, *req.files})}})
        return super().load_json(req, schema)

    def handle_error(self, error: ma.ValidationError, req: Request, schema: ma.Schema, *,
                     error_status_code: int | None, error_headers: Any) -> NoReturn:
        location, messages = None, error.messages
        if isinstance(error.messages, dict) and len(error.messages) == 1:  # webargs: {location: messages}
            (location, messages), = error.messages.items()
        where = _WHERE.get(location, location or "request")
        if isinstance(error, RepeatedParameter):
            given = "; ".join(f"parameter '{k}' given {n} times" for k, n in sorted(error.counts.items()))
            raise InvalidRequest(f"{given} in the {where}; give it once", {location or "request": messages})
        unknown = unknown_names(messages, schema.error_messages.get("unknown", "Unknown field."))
        if not unknown:
            super().handle_error(error, req, schema, error_status_code=error_status_code, error_headers=error_headers)
        accepted = _accepted(schema)
        names = ", ".join(repr(n) for n in unknown)
        message = (f"unknown parameter{'s' if len(unknown) > 1 else ''} {names} in the {where}; "
                   + (f"this endpoint accepts there: {', '.join(accepted)}" if accepted
                      else "this endpoint takes none there"))
        raise UnknownParameter(message, {location or "request": messages})


class Blueprint(_SmorestBlueprint):
    """flask-smorest Blueprint with strict parameters (see the module docstring)."""

    ARGUMENTS_PARSER = StrictParser()
    DEFAULT_LOCATION_CONTENT_TYPE_MAPPING = {**_SmorestBlueprint.DEFAULT_LOCATION_CONTENT_TYPE_MAPPING,
                                             "multipart": "multipart/form-data"}

    def arguments(self, schema: Any, *, location: str = "json", **kwargs: Any) -> Callable:
        """flask-smorest's ``arguments``, also documenting the 400 for unknown parameters.

        A schema class is instantiated once here: webargs would build a new instance (deep-copying
        every field) on every request (bench/bench_api.py)."""
        if isinstance(schema, type) and issubclass(schema, ma.Schema):
            schema = schema()
        inner = super().arguments(schema, location=location, **kwargs)

        def decorator(func: Callable) -> Callable:
            wrapped = inner(func)
            wrapped._apidoc["arguments"]["responses"][400] = "BAD_REQUEST"
            return wrapped

        return decorator

    def add_url_rule(self, rule: str, endpoint: str | None = None, view_func: Callable | None = None,
                     provide_automatic_options: bool | None = None, **kwargs: Any) -> None:
        """Register a view; one without query-string parameters refuses any (empty query schema)."""
        if view_func is not None and not isinstance(view_func, type(MethodView)) and not _declares_query(view_func):
            view_func = self.arguments(NoParameters, location="query", as_kwargs=True, error_status_code=400)(view_func)
        super().add_url_rule(rule, endpoint, view_func, provide_automatic_options, **kwargs)


def _declares_query(view_func: Callable) -> bool:
    params = (getattr(view_func, "_apidoc", {}).get("arguments") or {}).get("parameters") or []
    return any(p.get("in") in ("query", "querystring") for p in params)
