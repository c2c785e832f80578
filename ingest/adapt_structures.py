"""Adapter for structure records: refinements given in the record, and phases read from a CIF file
(parser output -> phase dicts), plus the properties derived from them (cell volume, density, ...)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ionbase.ingest.loaders import LoadedFile, RawRecord
from ionbase.ingest.planning import FileReport, content_hash
from ionbase.ingest.references import confined_reference
from ionbase.schemas import build as B

if TYPE_CHECKING:
    from ionbase.ingest.passes import BuildPass


def add_structure(ctx: "BuildPass", lf: LoadedFile, rec: RawRecord, fr: FileReport) -> None:
    """Build one structure (with its CIF's phases) and its properties, and add them to the plan."""
    where = (lf.path.name, rec.row)
    st = B.build_structure(rec.data, lf.source, rec.ref)
    smp = ctx.resolve_sample(st.pop("_sample_ref"), st["source"], f"{rec.ref}.sample")
    cif = st.pop("_cif", None)
    if cif:
        path = confined_reference(lf.path.parent, cif, f"{rec.ref}.cif", ctx.max_file_bytes)
        st["phases"] = st.get("phases", []) + phases_from_cif(path, f"{rec.ref}.cif")
    st["sample"] = smp["_id"]
    st["_id"] = B.make_id("str", smp["_id"], st["label"], st["method"])
    st["content_hash"] = content_hash(st)
    ctx.add("structures", st, where)
    for p in B.structure_properties(st):
        ctx.add("properties", B.denormalize(p, smp, smp["_mat"], smp.get("summary")), where)
    fr.note({"kind": "structure", "id": st["_id"], "sample": smp["label"], "phases": len(st["phases"])})


def _quantity_or_none(value, unit: str) -> dict | None:
    return {"value": value, "unit": unit} if value is not None else None


def _site(s: dict) -> dict:
    return B._drop_none({
        "label": s["label"], "wyckoff": s.get("wyckoff"), "multiplicity": s.get("multiplicity"),
        "x": s.get("x"), "y": s.get("y"), "z": s.get("z"),
        "species": {sp["element"]: sp["occupancy"] for sp in s["species"]},
        "b_iso": _quantity_or_none(s.get("b_iso"), ""),
        "u_iso": _quantity_or_none(s.get("u_iso"), ""),
    })


def _reported_volume(volume: dict | None) -> dict | None:
    """The CIF's ``_cell_volume`` (Å^3) with its standard uncertainty; None when it reports none."""
    if volume is None:
        return None
    return {"value": volume["value"], "unit": "Å^3",
            **({"uncertainty": volume["uncertainty"]} if volume.get("uncertainty") else {})}


def phases_from_cif(path: Path, fieldname: str) -> list[dict]:
    """The phases of a CIF file as structure-record phases (RecordError naming the field if unreadable)."""
    from ionbase.ingest.parsers import read_cif
    from ionbase.ingest.parsers.errors import ParseError

    try:  # path comes checked from references.confined_reference (inside the folder, a regular file)
        phases = read_cif(path)
    except ParseError as exc:
        raise B.RecordError(str(exc), fieldname) from None
    out = []
    for ph in phases:
        lattice = {k: {"value": v["value"], "unit": "Å" if k in "abc" else "deg", **({"uncertainty": v["uncertainty"]} if v.get("uncertainty") else {})}
                   for k, v in ph.lattice.items()}
        out.append(B._drop_none({
            "name": ph.formula, "formula": ph.formula, "space_group_symbol": ph.space_group_symbol,
            "space_group_number": ph.space_group_number, "lattice": lattice,
            "volume": _reported_volume(ph.volume), "z": ph.z, "sites": [_site(s) for s in ph.sites],
            "structure": ph.structure_dict, "cif": ph.cif_text,
        }))
    return out
