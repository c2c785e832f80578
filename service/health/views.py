"""``GET /api/v1/health``: liveness plus which store answers."""

from __future__ import annotations

import marshmallow as ma
from flask_smorest import Blueprint

from ionbase import __version__
from service.common import get_store

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
def health():
    """Service status, version and store."""
    store = get_store()
    info = store.client.admin.command("buildInfo")
    return {"status": "ok", "version": __version__, "store": {"kind": store.kind, "server_version": info.get("version")}}
