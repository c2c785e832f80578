"""What the OpenAPI document says about every operation, in one place (an apispec plugin).

The request guards (service/auth.py) and error handlers (service/errors.py) apply to all operations,
so what they do is documented here rather than on each view:

* a string query parameter never contains ``$`` (the guard refuses it, 400): ``pattern: ^[^$]*$``;
* the error answers that can come from any operation: 414 (URL too long), 429 (the per-IP rate limit,
  when it is on) and 503 (the store does not answer); 404 where the path has parameters (no such
  document); 401 and 403 where a key is required (none or an invalid one; a key whose role is too
  low); 413 where a body is taken (larger than ``IONBASE_MAX_REQUEST_BYTES``).

An operation's own description of one of these codes (e.g. "No such batch") is kept.
"""

from __future__ import annotations

from typing import Any

from apispec import BasePlugin

NO_DOLLAR = "^[^$]*$"
_ERROR = {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}
_ALWAYS = {
    401: "A credential was sent that is not a usable API key (a key sent is checked on every operation)",
    414: "URL too long (path and query string over 8,190 characters)",
    429: "Too many requests from this address (when the server's rate limit is on); see Retry-After",
    503: "The store does not answer; retry after Retry-After seconds",
}
_WITH_PATH_PARAMETERS = {404: "No such document"}
_WITH_SECURITY = {401: "No API key, or one that does not verify", 403: "The API key's role is too low"}
_WITH_BODY = {413: "Request body too large (IONBASE_MAX_REQUEST_BYTES)"}


def _no_dollar(schema: dict[str, Any]) -> None:
    """Add the ``$`` pattern to a string schema (or an array's string items) that has no pattern."""
    target = schema.get("items", {}) if schema.get("type") == "array" else schema
    if target.get("type") == "string" and "pattern" not in target and "enum" not in target:
        target["pattern"] = NO_DOLLAR


class GuardsPlugin(BasePlugin):
    """Documents the request guards and the global error answers on every operation."""

    def operation_helper(self, path: str | None = None, operations: dict | None = None, **kwargs: Any) -> None:
        """Called by apispec for each path, after the marshmallow plugin turned schemas into parameters."""
        has_path_params = "{" in (path or "")
        for operation in (operations or {}).values():
            for param in operation.get("parameters", []):
                if isinstance(param, dict) and param.get("in") == "query" and isinstance(param.get("schema"), dict):
                    _no_dollar(param["schema"])
            codes = dict(_ALWAYS)
            if has_path_params:
                codes.update(_WITH_PATH_PARAMETERS)
            if operation.get("security"):
                codes.update(_WITH_SECURITY)
            if operation.get("requestBody"):
                codes.update(_WITH_BODY)
            responses = operation.setdefault("responses", {})
            present = {str(code) for code in responses}
            for code, description in codes.items():
                if str(code) not in present:
                    responses[str(code)] = {"description": description, "content": _ERROR}
