"""``/api/v1/materials``: materials (compositions) and their samples."""

from __future__ import annotations

from ionbase.service.params import Blueprint

from ionbase.service.common import clean, get_or_404, get_store, list_page
from ionbase.service.materials.schemas import MaterialDetail, MaterialListArgs, MaterialPage

blp = Blueprint("materials", __name__, url_prefix="/api/v1/materials", description="Materials")


def material_query(args: dict) -> dict:
    """List filters -> Mongo query (equality and $all only; values are plain strings)."""
    q: dict = {}
    if args.get("family"):
        q["family"] = args["family"]
    if args.get("element"):
        q["elements"] = {"$all": list(args["element"])}
    if args.get("reduced_formula"):
        q["reduced_formula"] = args["reduced_formula"]
    if args.get("series"):
        q["series.name"] = args["series"]
    return q


@blp.route("")
@blp.arguments(MaterialListArgs, location="query")
@blp.response(200, MaterialPage)
def list_materials(args):
    """List materials (cursor pages sorted by id)."""
    return list_page("materials", material_query(args), args)


@blp.route("/<string:material_id>")
@blp.response(200, MaterialDetail)
def get_material(material_id):
    """One material with its samples."""
    return material_detail(material_id)


def material_detail(material_id: str) -> dict:
    """The material as GET /materials/{id} returns it (also rendered by the material page)."""
    store = get_store()
    doc = clean(get_or_404("materials", material_id, "material"))
    doc["samples"] = [clean(s) for s in store.samples.find({"material": material_id},
                                                            {"label": 1, "source_key": 1}, sort=[("_id", 1)])]
    return doc
