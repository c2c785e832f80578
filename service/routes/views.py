"""``/api/v1/routes``: synthesis routes (step lists shared by samples with identical histories)."""

from __future__ import annotations

import marshmallow as ma
from ionbase.service.params import Blueprint

from ionbase.schemas.documents import SynthesisRoute
from ionbase.service.common import PageArgs, clean, get_or_404, get_store, list_page
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema

F = ma.fields
blp = Blueprint("routes", __name__, url_prefix="/api/v1/routes", description="Synthesis routes")


class RouteListArgs(PageArgs):
    step_type = F.String(validate=ma.validate.Length(max=100), metadata={"description": "Routes containing this step type"})


class RouteSampleRef(ma.Schema):
    id = F.String()
    label = F.String()


RouteOut = document_schema(SynthesisRoute, "Route")
RouteDetail = document_schema(SynthesisRoute, "RouteDetail", samples=F.List(F.Nested(RouteSampleRef)))
RoutePage = page_schema(RouteOut, "RoutePage")


@blp.route("")
@blp.arguments(RouteListArgs, location="query")
@blp.response(200, RoutePage)
def list_routes(args):
    """List synthesis routes."""
    q = {"summary.step_types": {"$in": [args["step_type"]]}} if args.get("step_type") else {}
    return list_page("routes", q, args)


@blp.route("/<string:route_id>")
@blp.response(200, RouteDetail)
def get_route(route_id):
    """One route with its steps and the samples made by it."""
    store = get_store()
    doc = clean(get_or_404("routes", route_id, "route"))
    doc["samples"] = [clean(s) for s in store.samples.find({"route": route_id}, {"label": 1}, sort=[("_id", 1)], limit=1000)]
    return doc
