"""Strict request parameters: every endpoint refuses a parameter it does not know (400, naming it).

The one place this is decided. Views declare their parameters with ``blp.arguments(Schema,
location=...)`` as usual; the ``Blueprint`` here differs from flask-smorest's in three ways:

* its webargs parser loads every location with marshmallow ``unknown=RAISE`` (webargs' default
  silently drops unknown query-string and form keys) and answers an unknown key with **400**
  naming it and listing what the endpoint accepts (other validation errors stay 422);
* a view that declares no query-string parameters gets an empty query schema, so
  ``GET /samples/{id}?bogus=1`` is refused too;
* the location ``multipart`` reads form fields and uploaded files together (flask-smorest
  documents one request body per operation, and a multipart body mixes both), so an upload
  endpoint declares its fields and files in one schema and an unknown field or file part is
  refused like any other parameter.
"""

from __future__ import annotations

from typing import Any, Callable, NoReturn

import marshmallow as ma
from flask import Request
from flask.views import MethodView
from flask_smorest import Blueprint as _SmorestBlueprint
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


class StrictParser(FlaskParser):
    """webargs parser: unknown keys raise in every location; unknown keys -> 400, the rest 422."""

    DEFAULT_UNKNOWN_BY_LOCATION = {loc: ma.RAISE for loc in
                                   ("json", "form", "json_or_form", "querystring", "query", "headers",
                                    "cookies", "files", "multipart")}
    # headers and cookies are never declared by Ionbase views; keep webargs' tolerant default there
    DEFAULT_UNKNOWN_BY_LOCATION.update(headers=ma.EXCLUDE, cookies=ma.EXCLUDE)

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.location_loader("multipart")(self._load_multipart)

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
        unknown = unknown_names(messages, schema.error_messages.get("unknown", "Unknown field."))
        if not unknown:
            super().handle_error(error, req, schema, error_status_code=error_status_code, error_headers=error_headers)
        where = _WHERE.get(location, location or "request")
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
