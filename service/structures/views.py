"""``/api/v1/structures``: structure results (Rietveld, PDF, ...) with phases and sites.

``GET /structures/{id}?format=cif`` writes one CIF data block per phase that has a unit cell
(``ionbase.schemas.crystal.phase_cif``: pymatgen's CifWriter, partial occupancies included, or a
cell-only block when the record gives no atomic positions); phases without a cell are named in a
comment at the top of the file.
"""

from __future__ import annotations

import marshmallow as ma
from flask import Response
from ionbase.service.params import Blueprint

from ionbase.errors import NotFound, Unprocessable
from ionbase.schemas.crystal import CrystalError, phase_cif
from ionbase.schemas.documents import StructureResult
from ionbase.service.common import PageArgs, clean, get_or_404, list_page
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema

F = ma.fields
blp = Blueprint("structures", __name__, url_prefix="/api/v1/structures", description="Structure results")

FORMATS = ("json", "cif")


class StructureListArgs(PageArgs):
    sample = F.String(validate=ma.validate.Length(max=200), metadata={"description": "Sample id"})
    method = F.String(validate=ma.validate.Length(max=100))


class StructureGetArgs(ma.Schema):
    format = F.String(load_default="json", validate=ma.validate.OneOf(FORMATS),
                      metadata={"description": "json (default) or cif: one CIF data block per phase with a unit cell"})


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
@blp.arguments(StructureGetArgs, location="query", error_status_code=400)
@blp.response(200, StructureOut, description="JSON; with format=cif a CIF file (chemical/x-cif)")
@blp.doc(responses={200: {"content": {"chemical/x-cif": {"schema": {"type": "string"}}}}})
def get_structure(args, structure_id):
    """One structure result (JSON), or its phases as CIF with ``format=cif``."""
    doc = get_or_404("structures", structure_id, "structure result")
    if args["format"] == "cif":
        return cif_response(doc)
    return clean(doc)


def structure_cif(doc: dict) -> str:
    """The CIF text of a structure result: a block per phase with a unit cell (NotFound if none has one)."""
    blocks, skipped = [], []
    for i, phase in enumerate(doc.get("phases") or []):
        label = phase.get("name") or phase.get("formula") or f"phase {i + 1}"
        if not phase.get("lattice"):
            skipped.append(label)
            continue
        try:
            blocks.append(phase_cif(phase, f"{doc['_id']}_phase{i + 1}"))
        except CrystalError as exc:
            raise Unprocessable(f"structure result {doc['_id']!r}, phases[{i}] ({label}): {exc}",
                                {f"phases[{i}]": str(exc)}) from None
    if not blocks:
        raise NotFound(f"structure result {doc['_id']!r} has no phase with lattice parameters, so no CIF can be written")
    head = f"# Ionbase structure result {doc['_id']} ({doc.get('label')}, {doc.get('method')}), sample {doc.get('sample')}\n"
    head += "".join(f"# phase {name!r} not written: no lattice parameters stored\n" for name in skipped)
    return head + "\n".join(blocks)


def cif_response(doc: dict) -> Response:
    return Response(structure_cif(doc), mimetype="chemical/x-cif",
                    headers={"Content-Disposition": f'attachment; filename="{doc["_id"]}.cif"'})
