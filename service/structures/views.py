"""``/api/v1/structures``: structure results (Rietveld, PDF, ...) with phases and sites."""

from __future__ import annotations

import marshmallow as ma
from ionbase.service.params import Blueprint

from ionbase.schemas.documents import StructureResult
from ionbase.service.common import PageArgs, clean, get_or_404, list_page
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema

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
