"""``GET /api/v1/health``: liveness plus which store answers."""

from __future__ import annotations

import marshmallow as ma
from ionbase.service.params import Blueprint

from ionbase import __version__
from ionbase.service.common import get_store
from ionbase.errors import StoreUnavailable

blp = Blueprint("health", __name__, url_prefix="/api/v1/health", description="Service health")


class StoreInfo(ma.Schema):
    kind = ma.fields.String(metadata={"description": "embedded | uri"})
    server_version = ma.fields.String(allow_none=True)


class Health(ma.Schema):
    status = ma.fields.String(metadata={"description": "ok"})
    version = ma.fields.String()
    store = ma.fields.Nested(StoreInfo)


@blp.route("")
@blp.response(200, Health)
@blp.alt_response(503, description="The store does not answer (with `Retry-After`)")
def health():
    """Service status, version and store; 503 with ``Retry-After`` when the store does not answer."""
    from pymongo.errors import PyMongoError

    store = get_store()
    try:
        info = store.client.admin.command("buildInfo")
    except PyMongoError as exc:
        errors = None
        if store.embedded is not None:
            store.on_unreachable()
            state = store.embedded.current()
            errors = {"embedded": {k: state.get(k) for k in ("status", "port", "restarts", "supervisor_pid")}}
        raise StoreUnavailable(f"the store does not answer: {type(exc).__name__}", errors) from None
    return {"status": "ok", "version": __version__, "store": {"kind": store.kind, "server_version": info.get("version")}}
