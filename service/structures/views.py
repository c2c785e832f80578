"""``/api/v1/structures``: structure results (Rietveld, PDF, ...) with phases and sites."""

from __future__ import annotations

import marshmallow as ma
from service.params import Blueprint

from schemas.documents import StructureResult
from service.common import PageArgs, clean, get_or_404, list_page
from schemas.api import document_schema
from service.common import page_schema

F = ma.fields
blp = Blueprint("structures", __name__, url_prefix="/api/v1/structures", description="Structure results")


class StructureListArgs(PageArgs):
    sample = F.String(validate=ma.validate.Length(max=200), metadata={"description": "Sample id"})
    method = F.String(validate=ma.validate.Length(max=100))


StructureOut = document_schema(StructureResult, "Structure")
StructurePage = page_schema(StructureOut, "StructurePage")


@blp.route("")
@blp.arguments(StructureListArgs, location="query")
@blp.response(200, StructurePage)
def list_structures(args):
    """List structure results."""
    q = {k: args[k] for k in ("sample", "method") if args.get(k)}
    return list_page("structures", q, args)


@blp.route("/<string:structure_id>")
@blp.response(200, StructureOut)
def get_structure(structure_id):
    """One structure result."""
    return clean(get_or_404("structures", structure_id, "structure result"))
