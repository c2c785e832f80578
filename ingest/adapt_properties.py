"""Adapter for property records (values reported in papers or lab tables): record -> property document."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ionbase.ingest.loaders import LoadedFile, RawRecord
from ionbase.ingest.planning import FileReport
from ionbase.schemas import build as B

if TYPE_CHECKING:
    from ionbase.ingest.passes import BuildPass


def add_property(ctx: "BuildPass", lf: LoadedFile, rec: RawRecord, fr: FileReport) -> None:
    """Build one property, denormalised with its sample, and add it to the plan."""
    prop = B.build_property(rec.data, lf.source, rec.ref)
    smp = ctx.resolve_sample(prop["_sample_ref"], prop["source"], f"{rec.ref}.sample")
    prop = B.denormalize(prop, smp, smp["_mat"], smp.get("summary"))
    ctx.add("properties", prop, (lf.path.name, rec.row))
    fr.note({"kind": "property", "id": prop["_id"], "sample": smp["label"], "name": prop["name"]})
