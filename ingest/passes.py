"""One pass over a batch's records, building documents into a Plan: materials and samples first
(across all files, so references resolve in any file order), then routes (parents first), then
every record that hangs off a sample, each kind through its adapter (ingest/adapt_*.py).

The importer runs it once, to validate; the documents of the large collections go to the Plan's
sink (a temporary file, ingest/spill.py) as they are built, and the second pass replays them into
the batch writer (store/batches.py) without building anything again.
"""

from __future__ import annotations

import itertools
from collections import ChainMap
from pathlib import Path
from typing import Any, Callable

from ionbase.ingest import adapt_samples, cascade
from ionbase.ingest.adapt_measurements import add_measurement
from ionbase.ingest.adapt_properties import add_property
from ionbase.ingest.adapt_structures import add_structure
from ionbase.ingest.errors import ImportFailed, Issue
from ionbase.ingest.loaders import LoadedFile, RawRecord
from ionbase.ingest.planning import FileReport, ImportReport, Plan, Rejected, content_hash
from ionbase.ingest.samplebook import SampleBook
from ionbase.schemas import build as B

#: record kind -> adapter adding its documents to the plan
DEPENDENT_ADAPTERS: dict[str, Callable[["BuildPass", LoadedFile, RawRecord, FileReport], None]] = {
    "property": add_property,
    "structure": add_structure,
    "measurement": add_measurement,
}


class BuildPass:
    """Builds every record of the loaded files into ``plan``; errors go to ``report`` and the
    refused records to ``rejected``."""

    def __init__(self, store, plan: Plan, report: ImportReport, rejected: list, progress: Any, max_rows: int,
                 max_file_bytes: int) -> None:
        self.store = store
        self.max_file_bytes = max_file_bytes  # for files the records reference (ingest/references.py)
        self.plan = plan
        self.report = report
        self.rejected = rejected
        self.progress = progress
        self.max_rows = max_rows
        self.file_reports: dict[Path, FileReport] = {}
        self.materials_by_key: dict[tuple[str, str], dict] = {}
        #: the samples built, on disk (ingest/samplebook.py): memory does not grow with the samples
        self.samples = SampleBook(ChainMap(plan.docs["materials"], plan.reused))
        self.files: list[LoadedFile] = []

    def run(self, loaded_files: list[LoadedFile]) -> None:
        self.files = loaded_files
        for lf in loaded_files:
            self.file_reports[lf.path] = FileReport(str(lf.path), lf.format, errors=[i.to_dict() for i in lf.issues])
            self.report.files.append(self.file_reports[lf.path])
        try:
            self._materials(loaded_files)
            self._samples(loaded_files)
            materials = cascade.changed_materials(self)
            self.report.rederived["samples_read"] = cascade.adopt(self, materials)
            self._routes()
            self._dependents(loaded_files)
            self.report.rederived["properties"] = cascade.rederive_properties(self, materials)
        finally:
            self.samples.close()

    def fail(self, lf: LoadedFile, rec: RawRecord, exc: B.RecordError | str, fieldname: str | None = None) -> None:
        msg = exc.message if isinstance(exc, B.RecordError) else str(exc)
        fld = exc.field if isinstance(exc, B.RecordError) else fieldname
        issue = rec.issue(lf.path.name, msg, fld)
        self.report.errors.append(issue)
        self.file_reports[lf.path].errors.append(issue.to_dict())
        self.rejected.append((lf, rec, issue))

    def add(self, coll: str, doc: dict, where) -> None:
        """Add a document to the plan (Rejected if its natural key is defined differently elsewhere)."""
        if "content_hash" not in doc:
            doc["content_hash"] = content_hash(doc)
        issue = self.plan.add(coll, doc, where)
        if issue:
            raise Rejected(issue)

    def resolve_sample(self, label: str, source: dict, fieldname: str) -> dict:
        return adapt_samples.resolve_sample(self.store, label, source, self.samples, fieldname, self.plan)

    def _materials(self, loaded_files: list[LoadedFile]) -> None:
        for lf in loaded_files:
            for rec in lf.records:
                if rec.kind != "material":
                    continue
                self.progress.update(1)
                try:
                    mat = B.build_material(rec.data, lf.source, rec.ref)
                    if rec.partial:
                        mat = self._completed(mat, rec, lf)
                except B.RecordError as exc:
                    self.fail(lf, rec, exc)
                    continue
                issue = self.plan.add("materials", mat, (lf.path.name, rec.row))
                if issue:
                    self.fail(lf, rec, issue.message)
                    continue
                self.materials_by_key[(str(lf.path), mat["key"])] = mat
                self.file_reports[lf.path].note({"kind": "material", "id": mat["_id"], "key": mat["key"]})

    def _completed(self, mat: dict, rec: RawRecord, lf: LoadedFile) -> dict:
        """A material a table declares by some columns, with the family and series it leaves out kept
        from the committed material: a table with a series column but no family column erased the
        family of every sample of that material (review, 2026-12-03)."""
        stored = self.store.materials.get(mat["_id"])
        if not stored:
            return mat
        missing = {k: stored[k] for k in ("family", "series") if k not in rec.data and stored.get(k)}
        old, new = stored.get("series") or {}, rec.data.get("series") or {}
        if new and old.get("name") == new.get("name") and set(old) - set(new):  # (its x, when this table gives none)
            missing["series"] = {**old, **new}
        if not missing:
            return mat
        self.plan.use("materials", stored)
        return B.build_material({**rec.data, **missing}, lf.source, rec.ref)

    def _samples(self, loaded_files: list[LoadedFile]) -> None:
        """Build every sample record into the sample book; the records are dropped from the files
        (and their shelves deleted) once built (the book keeps each with its sample, for the route
        pass's errors)."""
        for i, lf in enumerate(loaded_files):
            for rec in lf.sample_records():  # a table's from its shelf, on disk (ingest/recordshelf.py)
                self.progress.update(1)
                try:
                    smp = adapt_samples.sample_doc(self.store, lf, rec, self.plan, self.materials_by_key)
                except B.RecordError as exc:
                    self.fail(lf, rec, exc)
                    continue
                if not self.samples.add((i, rec), smp):
                    self.fail(lf, rec, B.RecordError(f"duplicate sample label {smp['label']!r} for source {smp['source_key']}", "label"))
            lf.records[:] = [rec for rec in lf.records if rec.kind != "sample"]
            lf.close_shelf()

    def _routes(self) -> None:
        # routes need parents first
        for seq, (i, rec), smp in self.samples.parents_first():
            if i == cascade.STORED:
                self._stored_route(seq, rec, smp)
                continue
            lf = self.files[i]
            try:
                route = adapt_samples.route_for(self.store, smp, rec, self.plan, self.samples)
            except B.RecordError as exc:
                self.fail(lf, rec, exc)
                continue
            route["content_hash"] = content_hash(route)
            self.plan.add("routes", route, (lf.path.name, rec.row))
            mat = smp.pop("_material")
            adapt_samples.denormalize_sample(smp, route, mat)
            issue = self.plan.add("samples", smp, (lf.path.name, rec.row))
            if issue:
                self.fail(lf, rec, issue.message)
                continue
            smp["_mat"] = mat
            self.samples.resolved(seq, smp)
            self.file_reports[lf.path].note({"kind": "sample", "id": smp["_id"], "label": smp["label"]})

    def _stored_route(self, seq: int, rec: RawRecord, smp: dict) -> None:
        """The route of a committed sample adopted by the batch (ingest/cascade.py); the sample is
        written only when it comes out other than stored. Under a parent the batch refuses (its error
        is reported), it stays as stored, as the parent does, and its children are built from that."""
        parent = smp.get("_parent_ref")
        state = None if parent is None else self.samples.state(smp["source_key"], parent)
        if state == "waiting":  # a cycle: the sample of the batch that closes it is refused (route_for)
            return
        if state == "refused":
            self.samples.resolved(seq, {**rec.data, "_mat": smp["_material"]})
            return
        try:
            route = adapt_samples.route_for(self.store, smp, rec, self.plan, self.samples)
        except B.RecordError as exc:
            self.report.errors.append(Issue("store", f"its route cannot be derived again: {exc.message}", record=rec.ref))
            return
        mat = smp.pop("_material")
        adapt_samples.denormalize_sample(smp, route, mat)
        if smp["content_hash"] != rec.data.get("content_hash"):
            route["content_hash"] = content_hash(route)
            self.plan.add("routes", route, cascade.WHERE)
            issue = self.plan.add_derived("samples", smp, rec.data.get("content_hash"), cascade.WHERE)
            if issue:
                self.report.errors.append(Issue("store", issue.message, record=rec.ref))
                return
            self.report.rederived["samples"] += 1
        smp["_mat"] = mat
        self.samples.resolved(seq, smp)

    def _dependents(self, loaded_files: list[LoadedFile]) -> None:
        # everything that hangs off a sample, streamed tables read from their files again
        seen = 0
        for lf in loaded_files:
            for rec in itertools.chain(lf.records, lf.streamed()):
                if isinstance(rec, Issue):  # a malformed row of a streamed table
                    self.report.errors.append(rec)
                    self.file_reports[lf.path].errors.append(rec.to_dict())
                    self.rejected.append((lf, None, rec))  # its row goes to the rejected-rows file (ingest/rejects.py)
                    continue
                if rec.kind in ("material", "sample"):
                    continue
                seen += 1
                if seen > self.max_rows:
                    raise ImportFailed([Issue("batch", f"more than {self.max_rows} records in one batch "
                                               "(IONBASE_MAX_ROWS_PER_BATCH); split the import")])
                self.progress.update(1)
                self._dependent(lf, rec)

    def _dependent(self, lf: LoadedFile, rec: RawRecord) -> None:
        adapter = DEPENDENT_ADAPTERS.get(rec.kind)
        if adapter is None:
            return
        try:
            adapter(self, lf, rec, self.file_reports[lf.path])
        except B.RecordError as exc:
            self.fail(lf, rec, exc)
        except Rejected as exc:
            self.fail(lf, rec, exc.issue.message, exc.issue.field)
