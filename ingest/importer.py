"""Bulk import: validate everything, then write it as one batch that becomes visible at once.

Atomicity without multi-document transactions:

1. Every record is validated and built first; a batch with errors writes nothing (unless
   ``skip_invalid``).
2. A batch document is created with status ``pending``. New documents are inserted carrying
   ``batch_id``; queries exclude documents of batches that are not committed
   (``Store.visible``), so a batch killed at this stage is invisible. Changed documents are staged
   in ``import_staging``, not touched.
3. The batch flips to ``committing`` (one document update: the commit point). Staged replacements
   are applied, each saving the previous version in ``import_history`` for rollback; then the batch
   flips to ``committed``. A process killed while ``committing`` is rolled forward by the next
   import or ``ionbase import recover``; one killed while ``pending`` is cleaned away.

Re-importing identical files finds every document by its deterministic id with the same content
hash: nothing is written.
"""

from __future__ import annotations

import hashlib
import itertools
import logging
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import yaml

from ionbase.ingest.batches import COLLECTIONS, rollback  # noqa: F401 (rollback: public here too)
from ionbase.ingest import progress as progress_mod
from ionbase.ingest.errors import ImportFailed, Issue, singular
from ionbase.ingest.loaders import (
    LAB_RECORD_SUFFIXES,
    TABULAR_SUFFIXES,
    LoadError,
    LoadedFile,
    RawRecord,
    dump_records,
    load_lab_file,
)
from ionbase.ingest.protocol import Writer, _discard, _now, commit_batch, list_batches, recover, start_batch  # noqa: F401 (list_batches, recover: public here)
from ionbase.schemas import build as B
from ionbase.schemas.sources import split_notebook

log = logging.getLogger(__name__)

INSTRUMENT_SUFFIXES = (".mpt", ".mpr", ".dta", ".z", ".txt", ".par", ".cif", ".csv", ".xlsx")
IGNORED_NAMES = {"readme.md", ".ds_store"}


@dataclass
class ImportOptions:
    dry_run: bool = False
    skip_invalid: bool = False
    user: str | None = None
    progress: bool = False
    max_file_bytes: int = 200 * 1024 * 1024
    max_rows: int = 2_000_000
    rejected_dir: Path | None = None
    #: test hook: called with a stage name during the write phase
    on_stage: Callable[[str], None] | None = None


#: records listed one by one in a file's report; beyond this only the counts by kind grow
MAX_LISTED = 1000


@dataclass
class FileReport:
    path: str
    format: str
    records: list[dict] = field(default_factory=list)
    errors: list[dict] = field(default_factory=list)
    sha256: str | None = None
    size: int | None = None
    kinds: dict = field(default_factory=dict)
    unlisted: int = 0

    def note(self, entry: dict) -> None:
        """Count a record by kind; list it while the report is short."""
        self.kinds[entry["kind"]] = self.kinds.get(entry["kind"], 0) + 1
        if len(self.records) < MAX_LISTED:
            self.records.append(entry)
        else:
            self.unlisted += 1


@dataclass
class ImportReport:
    batch_id: str | None
    status: str
    dry_run: bool
    files: list[FileReport] = field(default_factory=list)
    counts: dict = field(default_factory=dict)
    errors: list[Issue] = field(default_factory=list)
    touched_samples: list[str] = field(default_factory=list)
    changed_ids: list[str] = field(default_factory=list)
    rejected_file: str | None = None

    def to_dict(self) -> dict:
        return {
            "batch_id": self.batch_id,
            "status": self.status,
            "dry_run": self.dry_run,
            "counts": self.counts,
            "files": [
                {"path": f.path, "format": f.format, "sha256": f.sha256, "counts": f.kinds, "records": f.records,
                 "unlisted_records": f.unlisted, "errors": f.errors}
                for f in self.files
            ],
            "errors": [i.to_dict() for i in self.errors],
            "touched_samples": self.touched_samples,
            "rejected_file": self.rejected_file,
        }


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def expand_paths(paths: Iterable[Path]) -> list[Path]:
    """Files named, and data files found below folders (sorted, deterministic)."""
    out: list[Path] = []
    for p in paths:
        p = Path(p)
        if p.is_dir():
            for f in sorted(p.rglob("*")):
                if f.is_file() and f.name.lower() not in IGNORED_NAMES and not any(
                    part.startswith(".") for part in f.relative_to(p).parts
                ) and f.suffix.lower() in LAB_RECORD_SUFFIXES + TABULAR_SUFFIXES + INSTRUMENT_SUFFIXES:
                    out.append(f)
        elif p.exists():
            out.append(p)
        else:
            raise ImportFailed([Issue(str(p), "no such file or folder")])
    seen, unique = set(), []
    for f in out:
        r = f.resolve()
        if r not in seen:
            seen.add(r)
            unique.append(f)
    return unique


#: collections whose documents a plan keeps whole (samples need their material and route)
SMALL_COLLECTIONS = ("materials", "routes", "samples")


class _Plan:
    """What a pass over the batch built: small collections whole, the rest as content hashes.

    Documents of the large collections (properties, measurements, ...) go to ``sink`` as they are
    built (the writer, in the second pass) and are not kept: memory stays bounded by the samples.
    """

    def __init__(self, sink: Callable[[str, dict], None] | None = None) -> None:
        self.docs: dict[str, dict[str, dict]] = {c: {} for c in SMALL_COLLECTIONS}
        self.hashes: dict[str, str] = {}
        self.origin: dict[str, tuple[str, Any]] = {}  # doc id -> (file, row)
        self.sink = sink

    def add(self, coll: str, doc: dict, where: tuple[str, Any]) -> Issue | None:
        if coll in self.docs:
            existing = self.docs[coll].get(doc["_id"])
            old_hash = existing.get("content_hash") if existing is not None else None
        else:
            existing = old_hash = self.hashes.get(doc["_id"])
        if existing is not None:
            if old_hash != doc.get("content_hash"):
                first = self.origin.get(doc["_id"], ("?", None))
                return Issue(
                    where[0], f"duplicate natural key: {singular(coll)} {doc['_id']} is also defined, differently, "
                    f"in {first[0]}" + (f" row {first[1]}" if first[1] else ""), row=where[1],
                )
            return None
        if coll in self.docs:
            self.docs[coll][doc["_id"]] = doc
        else:
            self.hashes[doc["_id"]] = doc["content_hash"]
            if self.sink is not None:
                self.sink(coll, doc)
        self.origin.setdefault(doc["_id"], where)
        return None


def content_hash(doc: dict) -> str:
    return B.stable_hash({k: v for k, v in doc.items() if k not in ("_id", "content_hash", "batch_id", "updated_at")})


class Importer:
    """Validates and writes one import batch."""

    def __init__(self, store, options: ImportOptions | None = None):
        self.store = store
        self.db = store.db
        self.opt = options or ImportOptions()
        #: records the first pass went through (the second pass's progress total)
        self.records_seen: int | None = None

    # ------------------------------------------------------------ planning

    def plan(self, paths: Iterable[Path]) -> tuple[ImportReport, list[LoadedFile], dict, list]:
        """First pass: load and validate everything, keeping no large documents (see _Plan).

        Returns the report (with every error), the loaded files, the files' metadata (checksums)
        and the rejected records.
        """
        files = expand_paths(paths)
        self.records_seen = None
        report = ImportReport(batch_id=None, status="planned", dry_run=self.opt.dry_run)
        plan = _Plan()
        loaded_files: list[LoadedFile] = []
        referenced: set[Path] = set()
        handled: set[Path] = set()
        file_meta: dict[str, dict] = {}
        for path in files:
            if path.suffix.lower() in LAB_RECORD_SUFFIXES or (
                path.suffix.lower() in TABULAR_SUFFIXES and _is_lab_table(path)
            ):
                handled.add(path.resolve())
                try:
                    lf = load_lab_file(path, self.opt.max_file_bytes)
                except LoadError as exc:
                    report.errors.append(exc.issue)
                    report.files.append(FileReport(str(path), "unreadable", errors=[exc.issue.to_dict()]))
                    continue
                loaded_files.append(lf)
                report.errors.extend(lf.issues)
                for rec in lf.records:
                    ref = rec.data.get("file") if rec.kind == "measurement" else rec.data.get("cif") if rec.kind == "structure" else None
                    if ref:
                        referenced.add((path.parent / str(ref)).resolve())
        for path in files:
            if path.resolve() in referenced or path.resolve() in handled:
                continue
            if path.suffix.lower() in LAB_RECORD_SUFFIXES + TABULAR_SUFFIXES + INSTRUMENT_SUFFIXES:
                issue = Issue(path.name, "instrument file not linked to a sample: list it in a manifest "
                              "(a measurements record with 'file:', or a CSV manifest with a 'file' column)")
                report.errors.append(issue)
                report.files.append(FileReport(str(path), _detect(path), errors=[issue.to_dict()]))
        rejected: list[tuple[LoadedFile, RawRecord]] = []
        _merge_fragments(loaded_files, report)
        self._build(loaded_files, plan, report, rejected)
        for lf in loaded_files:
            size = lf.path.stat().st_size
            file_meta[str(lf.path)] = {"path": str(lf.path), "name": lf.path.name, "sha256": sha256_file(lf.path), "size": size, "format": lf.format}
        for ref in referenced:
            if ref.exists():
                file_meta[str(ref)] = {"path": str(ref), "name": ref.name, "sha256": sha256_file(ref), "size": ref.stat().st_size, "format": _detect(ref)}
        for fr in report.files:
            meta = file_meta.get(fr.path)
            if meta:
                fr.sha256, fr.size = meta["sha256"], meta["size"]
        return report, loaded_files, file_meta, rejected

    def _build(self, loaded_files: list[LoadedFile], plan: _Plan, report: ImportReport, rejected: list) -> None:
        progress = self._pass_progress(loaded_files)
        file_reports: dict[Path, FileReport] = {}
        # materials and samples first, across all files, so references resolve in any file order
        materials_by_key: dict[tuple[str, str], dict] = {}
        samples_by_key: dict[tuple[str, str], dict] = {}
        pending_samples: list[tuple[LoadedFile, RawRecord, dict]] = []

        def fail(lf: LoadedFile, rec: RawRecord, exc: B.RecordError | str, fieldname: str | None = None) -> None:
            msg = exc.message if isinstance(exc, B.RecordError) else str(exc)
            fld = exc.field if isinstance(exc, B.RecordError) else fieldname
            issue = rec.issue(lf.path.name, msg, fld)
            report.errors.append(issue)
            file_reports[lf.path].errors.append(issue.to_dict())
            rejected.append((lf, rec))

        for lf in loaded_files:
            file_reports[lf.path] = FileReport(str(lf.path), lf.format, errors=[i.to_dict() for i in lf.issues])
            report.files.append(file_reports[lf.path])
        for lf in loaded_files:
            for rec in lf.records:
                if rec.kind != "material":
                    continue
                progress.update(1)
                try:
                    mat = B.build_material(rec.data, lf.source, rec.ref)
                except B.RecordError as exc:
                    fail(lf, rec, exc)
                    continue
                issue = plan.add("materials", mat, (lf.path.name, rec.row))
                if issue:
                    fail(lf, rec, issue.message)
                    continue
                materials_by_key[(str(lf.path), mat["key"])] = mat
                file_reports[lf.path].note({"kind": "material", "id": mat["_id"], "key": mat["key"]})
        for lf in loaded_files:
            for rec in lf.records:
                if rec.kind != "sample":
                    continue
                progress.update(1)
                try:
                    smp = B.build_sample(rec.data, lf.source, rec.ref)
                    skey = smp["source_key"]
                    mref = smp.pop("_material_ref")
                    mat = materials_by_key.get((str(lf.path), mref)) or self._material_from_ref(mref, lf, plan, rec)
                    smp["material"] = mat["_id"]
                    smp["_material"] = mat
                except B.RecordError as exc:
                    fail(lf, rec, exc)
                    continue
                if (skey, smp["label"]) in samples_by_key:
                    fail(lf, rec, B.RecordError(f"duplicate sample label {smp['label']!r} for source {skey}", "label"))
                    continue
                samples_by_key[(skey, smp["label"])] = smp
                pending_samples.append((lf, rec, smp))
        # routes need parents first
        resolved: dict[str, dict] = {}
        order = _parents_first(pending_samples)
        for lf, rec, smp in order:
            parent_label = smp.pop("_parent_ref", None)
            steps = smp.get("own_steps", [])
            try:
                if parent_label is not None:
                    parent = samples_by_key.get((smp["source_key"], parent_label))
                    if parent is not None and parent["_id"] not in resolved:
                        raise B.RecordError(f"parent {parent_label!r} is invalid or part of a cycle", f"{rec.ref}.parent")
                    if parent is None:
                        parent = self._sample_from_db(smp["source_key"], parent_label)
                    if parent is None:
                        raise B.RecordError(f"parent sample {parent_label!r} not found in this batch or the store", f"{rec.ref}.parent")
                    smp["parent"] = parent["_id"]
                    parent_steps = self._route_steps(parent, plan)
                    steps = [dict(s) for s in parent_steps] + [dict(s, order=len(parent_steps) + i) for i, s in enumerate(smp.get("own_steps", []))]
                route = B.build_route(steps)
            except B.RecordError as exc:
                fail(lf, rec, exc)
                continue
            route["content_hash"] = content_hash(route)
            plan.add("routes", route, (lf.path.name, rec.row))
            mat = smp.pop("_material")
            smp["route"] = route["_id"]
            smp["reduced_formula"] = mat["reduced_formula"]
            smp["elements"] = mat["elements"]
            if mat.get("family"):
                smp["family"] = mat["family"]
            smp["summary"] = route["summary"]
            smp["content_hash"] = content_hash(smp)
            issue = plan.add("samples", smp, (lf.path.name, rec.row))
            if issue:
                fail(lf, rec, issue.message)
                continue
            resolved[smp["_id"]] = smp
            smp["_mat"] = mat
            file_reports[lf.path].note({"kind": "sample", "id": smp["_id"], "label": smp["label"]})
        # everything that hangs off a sample, streamed tables read from their files again
        seen = 0
        for lf in loaded_files:
            for rec in itertools.chain(lf.records, lf.streamed()):
                if isinstance(rec, Issue):  # a malformed row of a streamed table
                    report.errors.append(rec)
                    file_reports[lf.path].errors.append(rec.to_dict())
                    continue
                if rec.kind in ("material", "sample"):
                    continue
                seen += 1
                if seen > self.opt.max_rows:
                    raise ImportFailed([Issue("batch", f"more than {self.opt.max_rows} records in one batch "
                                               "(IONBASE_MAX_ROWS_PER_BATCH); split the import")])
                progress.update(1)
                try:
                    self._build_dependent(lf, rec, plan, samples_by_key, resolved, file_reports[lf.path])
                except B.RecordError as exc:
                    fail(lf, rec, exc)
                except _Rejected as exc:
                    fail(lf, rec, exc.issue.message, exc.issue.field)
        progress.close()
        self.records_seen = progress.n
        for smp in plan.docs["samples"].values():
            smp.pop("_mat", None)

    def _pass_progress(self, loaded_files: list[LoadedFile]) -> "progress_mod.Progress":
        """Records of the first pass (total known unless a table is streamed), or of the second
        pass (total = what the first pass went through); see ingest/progress.py."""
        if self.records_seen is None:
            known = None if any(lf.streams for lf in loaded_files) else sum(len(lf.records) for lf in loaded_files)
            return progress_mod.make_progress(known, self.opt.progress, "validating")
        return progress_mod.make_progress(self.records_seen, self.opt.progress, "writing")

    def _material_from_ref(self, ref: str, lf: LoadedFile, plan: _Plan, rec: RawRecord) -> dict:
        """A sample may name its material by formula when the file does not declare it."""
        try:
            mat = B.build_material({"key": ref, "formula": ref}, lf.source, f"{rec.ref}.material")
        except B.RecordError:
            raise B.RecordError(f"material {ref!r} is neither declared in this file nor a formula pymatgen can parse", f"{rec.ref}.material") from None
        existing = self.db.materials.find_one({"_id": mat["_id"]})
        if existing:
            return existing
        plan.add("materials", mat, (lf.path.name, rec.row))
        return mat

    def _sample_from_db(self, skey: str, label: str) -> dict | None:
        doc = self.db.samples.find_one(self.store.visible({"source_key": skey, "label": label}))
        if doc is None:
            return None
        doc["_mat"] = self.db.materials.find_one({"_id": doc["material"]}) or {}
        return doc

    def _route_steps(self, sample: dict, plan: _Plan) -> list[dict]:
        rid = sample.get("route")
        route = plan.docs["routes"].get(rid) or (self.db.routes.find_one({"_id": rid}) if rid else None)
        return list(route["steps"]) if route else []

    def _resolve_sample(self, label: str, source: dict, samples_by_key: dict, resolved: dict, fieldname: str) -> dict:
        skey = B.source_key(source)
        smp = samples_by_key.get((skey, label))
        if smp is not None:
            if smp["_id"] not in resolved:
                raise B.RecordError(f"sample {label!r} was rejected (see its error)", fieldname)
            return smp
        smp = self._sample_from_db(skey, label)
        if smp is None:
            raise B.RecordError(f"sample {label!r} not found in this batch or the store (source {skey})", fieldname)
        return smp

    def _build_dependent(self, lf, rec, plan: _Plan, samples_by_key, resolved, fr: FileReport) -> None:
        where = (lf.path.name, rec.row)
        if rec.kind == "property":
            prop = B.build_property(rec.data, lf.source, rec.ref)
            smp = self._resolve_sample(prop["_sample_ref"], prop["source"], samples_by_key, resolved, f"{rec.ref}.sample")
            prop = B.denormalize(prop, smp, smp["_mat"], smp.get("summary"))
            self._add(plan, "properties", prop, where)
            fr.note({"kind": "property", "id": prop["_id"], "sample": smp["label"], "name": prop["name"]})
        elif rec.kind == "structure":
            st = B.build_structure(rec.data, lf.source, rec.ref)
            smp = self._resolve_sample(st.pop("_sample_ref"), st["source"], samples_by_key, resolved, f"{rec.ref}.sample")
            cif = st.pop("_cif", None)
            if cif:
                st["phases"] = st.get("phases", []) + self._phases_from_cif(lf.path.parent / cif, f"{rec.ref}.cif")
            st["sample"] = smp["_id"]
            st["_id"] = B.make_id("str", smp["_id"], st["label"], st["method"])
            st["content_hash"] = content_hash(st)
            self._add(plan, "structures", st, where)
            for p in B.structure_properties(st):
                self._add(plan, "properties", B.denormalize(p, smp, smp["_mat"], smp.get("summary")), where)
            fr.note({"kind": "structure", "id": st["_id"], "sample": smp["label"], "phases": len(st["phases"])})
        elif rec.kind == "measurement":
            m = B.build_measurement(rec.data, lf.source, rec.ref)
            smp = self._resolve_sample(m.pop("_sample_ref"), m["source"], samples_by_key, resolved, f"{rec.ref}.sample")
            file_ref = m.pop("_file", None)
            variants = [m]
            if file_ref:
                variants = self._measurements_from_file(m, lf.path.parent / str(file_ref), f"{rec.ref}.file")
            for mv in variants:
                arrays = mv.pop("_arrays", {}) or {}
                mv["sample"] = smp["_id"]
                mv["_id"] = B.make_id("meas", smp["_id"], mv["label"])
                if arrays:
                    mv["array_names"] = sorted(arrays)
                    mv["n_points"] = len(next(iter(arrays.values())))
                chunks = B.chunk_arrays(mv["_id"], arrays)
                mv["n_chunks"] = len(chunks)
                for ch in chunks:
                    ch["content_hash"] = content_hash(ch)
                    self._add(plan, "measurement_arrays", ch, where)
                mv["content_hash"] = B.stable_hash([content_hash(mv), [c["content_hash"] for c in chunks]])
                self._add(plan, "measurements", mv, where)
                for p in B.measurement_properties(mv):
                    self._add(plan, "properties", B.denormalize(p, smp, smp["_mat"], smp.get("summary")), where)
                entry = {"kind": mv["kind"], "id": mv["_id"], "sample": smp["label"], "label": mv["label"]}
                if arrays:
                    entry["points"] = mv["n_points"]
                if mv.get("file", {}).get("loop") is not None:
                    entry["loop"] = mv["file"]["loop"]
                if file_ref:
                    entry["loops"] = len(variants)
                fr.note(entry)

    def _add(self, plan: _Plan, coll: str, doc: dict, where) -> None:
        if "content_hash" not in doc:
            doc["content_hash"] = content_hash(doc)
        issue = plan.add(coll, doc, where)
        if issue:
            raise _Rejected(issue)

    def _phases_from_cif(self, path: Path, fieldname: str) -> list[dict]:
        from ionbase.ingest.parsers import read_cif
        from ionbase.ingest.parsers.errors import ParseError

        if not path.exists():
            raise B.RecordError(f"CIF file {path.name} not found next to the record file", fieldname)
        try:
            phases = read_cif(path)
        except ParseError as exc:
            raise B.RecordError(str(exc), fieldname) from None
        out = []
        for ph in phases:
            lattice = {k: {"value": v["value"], "unit": "Å" if k in "abc" else "deg", **({"uncertainty": v["uncertainty"]} if v.get("uncertainty") else {})}
                       for k, v in ph.lattice.items()}
            sites = [B._drop_none({
                "label": s["label"], "wyckoff": s.get("wyckoff"), "multiplicity": s.get("multiplicity"),
                "x": s.get("x"), "y": s.get("y"), "z": s.get("z"),
                "species": {sp["element"]: sp["occupancy"] for sp in s["species"]},
                "b_iso": {"value": s["b_iso"], "unit": ""} if s.get("b_iso") is not None else None,
                "u_iso": {"value": s["u_iso"], "unit": ""} if s.get("u_iso") is not None else None,
            }) for s in ph.sites]
            out.append(B._drop_none({
                "name": ph.formula, "formula": ph.formula, "space_group_symbol": ph.space_group_symbol,
                "space_group_number": ph.space_group_number, "lattice": lattice,
                "volume": {"value": ph.volume_A3, "unit": "Å^3"}, "z": ph.z, "sites": sites,
                "structure": ph.structure_dict, "cif": ph.cif_text,
            }))
        return out

    def _measurements_from_file(self, m: dict, path: Path, fieldname: str) -> list[dict]:
        from ionbase.ingest.parsers import parse_file
        from ionbase.ingest.parsers.errors import ParseError

        if not path.exists():
            raise B.RecordError(f"file {path.name} not found next to the record file", fieldname)
        try:
            parsed = parse_file(path)
        except ParseError as exc:
            raise B.RecordError(str(exc), fieldname) from None
        sha = sha256_file(path)
        out = []
        if parsed.kind == "impedance":
            if m["kind"] != "impedance_spectrum":
                raise B.RecordError(f"{path.name} holds impedance spectra but the record's kind is {m['kind']}", fieldname)
            many = len(parsed.records) > 1
            for i, spec in enumerate(parsed.records):
                mv = dict(m)
                loop = spec.loop if spec.loop is not None else i
                if many:
                    mv["label"] = f"{m['label']} loop {loop}"
                mv["file"] = {"name": path.name, "sha256": sha, "format": parsed.format, "loop": loop if many else None}
                mv["file"] = {k: v for k, v in mv["file"].items() if v is not None}
                if "temperature" not in mv and spec.temperature_k:
                    mv["temperature"] = {"value": float(spec.temperature_k), "unit": "K"}
                mv["_arrays"] = {
                    "frequency": [float(x) for x in spec.frequency_hz],
                    "z_real": [float(x) for x in spec.z_real_ohm],
                    "z_imag": [float(x) for x in spec.z_imag_ohm],
                }
                mv["array_units"] = {"frequency": "Hz", "z_real": "ohm", "z_imag": "ohm"}
                out.append(mv)
        elif parsed.kind == "cycling":
            if m["kind"] != "galvanostatic_cycling":
                raise B.RecordError(f"{path.name} holds cycling data but the record's kind is {m['kind']}", fieldname)
            cyc = parsed.records[0]
            mv = dict(m)
            mv["file"] = {"name": path.name, "sha256": sha, "format": parsed.format}
            payload = dict(mv.get("payload", {}))
            scale = _specific_capacity_scale(cyc.capacity_unit, cyc.metadata, payload, fieldname, path.name)
            payload["cycles"] = [
                B._drop_none({
                    "cycle": int(c),
                    "charge_capacity": {"value": float(q) * scale, "unit": "mAh/g", "entered": {"value": float(q), "unit": cyc.capacity_unit}} if q == q else None,
                    "discharge_capacity": {"value": float(d) * scale, "unit": "mAh/g", "entered": {"value": float(d), "unit": cyc.capacity_unit}} if d == d else None,
                    "coulombic_efficiency": {"value": float(e), "unit": "%"} if e == e else None,
                })
                for c, q, d, e in zip(cyc.cycle, cyc.charge_capacity, cyc.discharge_capacity, cyc.coulombic_efficiency)
            ]
            mv["payload"] = payload
            out.append(mv)
        else:
            raise B.RecordError(f"{path.name} is a {parsed.kind} file; reference CIFs from a structures record", fieldname)
        return out

    # ------------------------------------------------------------ diff and write

    def run(self, paths: Iterable[Path]) -> ImportReport:
        """Validate (first pass), then build again and write in chunks as one batch (second pass)."""
        recover(self.store)
        report, loaded_files, file_meta, rejected = self.plan(paths)
        if report.errors and not self.opt.skip_invalid:
            report.status = "invalid"
            raise ImportFailed(report.errors, report.to_dict())
        if report.errors and self.opt.skip_invalid and rejected:
            report.rejected_file = self._write_rejected(rejected)
        batch_id = None
        if not self.opt.dry_run:
            batch_id = start_batch(self.db, file_meta, report.errors, self.opt.user, self.opt.skip_invalid)
            report.batch_id = batch_id
        stage = self.opt.on_stage or (lambda name: None)
        writer = Writer(self.store, batch_id, stage)
        try:
            plan = _Plan(sink=writer)
            self._build(loaded_files, plan, ImportReport(None, "second pass", self.opt.dry_run), [])
            for coll in SMALL_COLLECTIONS:
                for doc in plan.docs[coll].values():
                    writer(coll, doc)
            writer.close()
        except BaseException:
            if batch_id is not None:  # nothing of it was ever visible: clean it away
                _discard(self.db, batch_id, "import failed while writing")
            raise
        report.counts = writer.counts
        report.counts["total"] = {k: sum(writer.counts[c][k] for c in COLLECTIONS) for k in ("new", "changed", "unchanged")}
        report.counts["errors"] = len(report.errors)
        report.touched_samples = sorted(writer.touched)
        report.changed_ids = writer.changed_ids
        if self.opt.dry_run:
            report.status = "dry_run"
            return report
        commit_batch(self.db, batch_id, report.counts, report.touched_samples, writer.changed_ids, stage)
        report.status = "committed"
        return report

    def _write_rejected(self, rejected: list[tuple[LoadedFile, RawRecord]]) -> str:
        folder = Path(self.opt.rejected_dir or ".")
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"ionbase-rejected-{_now().strftime('%Y%m%dT%H%M%S')}.yaml"
        by_file: dict[Path, list[RawRecord]] = defaultdict(list)
        sources = {}
        for lf, rec in rejected:
            by_file[lf.path].append(rec)
            sources[lf.path] = lf.source
        docs = [dict(dump_records(recs, sources[p]), notes=f"rejected from {p.name}") for p, recs in by_file.items()]
        with open(target, "w") as fh:
            yaml.safe_dump_all(docs, fh, sort_keys=False, allow_unicode=True)
        return str(target)


def _specific_capacity_scale(unit: str, metadata: dict, payload: dict, fieldname: str, filename: str) -> float:
    """Factor taking a cycling file's capacities to mAh/g; absolute capacities need the active mass,
    from the record's ``mass_loading`` or the file's "Characteristic mass"."""
    from ionbase.schemas.units import UnitError, convert, parse_value

    unit = unit.replace("mA.h", "mA*h").replace("A.h", "A*h")
    try:
        return convert(1.0, unit, "mA*h/g")
    except UnitError:
        pass
    try:
        per_mass = convert(1.0, unit, "mA*h")
    except UnitError:
        raise B.RecordError(f"{filename}: capacity unit {unit!r} is neither a capacity nor a specific capacity", fieldname) from None
    mass_text = payload.get("mass_loading") or metadata.get("Characteristic mass")
    if not mass_text:
        raise B.RecordError(f"{filename} gives capacities in {unit}; give the active mass as 'mass_loading' (e.g. '2.0 mg')", fieldname)
    try:
        mass_g = parse_value(str(mass_text), "mass", "mass_loading").value
    except UnitError as exc:
        raise B.RecordError(str(exc), fieldname) from None
    if mass_g <= 0:
        raise B.RecordError(f"active mass must be positive, got {mass_text!r}", fieldname)
    return per_mass / mass_g


class _Rejected(Exception):
    def __init__(self, issue: Issue):
        self.issue = issue
        super().__init__(str(issue))



def _merge_fragments(loaded_files: list[LoadedFile], report: ImportReport) -> None:
    """Attach steps and sites given in one table file to samples and structures of another."""
    def skey(lf: LoadedFile, data: dict) -> str:
        src = {**lf.source, **(data.get("source") or {})}
        return str(src.get("doi") or split_notebook(src.get("notebook") or "")[0])

    samples = {(skey(lf, r.data), str(r.data.get("label"))): r for lf in loaded_files for r in lf.records if r.kind == "sample"}
    structures = {}
    for lf in loaded_files:
        for r in lf.records:
            if r.kind == "structure":
                for ph in r.data.get("phases") or [{}]:
                    structures[(skey(lf, r.data), str(r.data.get("sample")), str(ph.get("name", "")))] = ph
    for lf in loaded_files:
        keep = []
        for r in lf.records:
            if r.kind == "sample_steps":
                target = samples.get((skey(lf, r.data), r.data["sample"]))
                if target is None:
                    issue = Issue(lf.path.name, f"steps given for sample {r.data['sample']!r}, which no samples table in this import defines",
                                  row=r.row, field="sample")
                    report.errors.append(issue)
                    continue
                target.data.setdefault("steps", []).extend(r.data["steps"])
            elif r.kind == "structure_sites":
                phase = structures.get((skey(lf, r.data), r.data["sample"], r.data["phase"]))
                if phase is None:
                    report.errors.append(Issue(lf.path.name, f"site for sample {r.data['sample']!r}, phase {r.data['phase']!r} "
                                               "has no row in a structures table of this import", row=r.row, field="sample"))
                    continue
                phase.setdefault("sites", []).append(r.data["site"])
            else:
                keep.append(r)
        lf.records[:] = keep


def _parents_first(items: list[tuple[LoadedFile, RawRecord, dict]]) -> list[tuple[LoadedFile, RawRecord, dict]]:
    by_key = {(s["source_key"], s["label"]): (lf, r, s) for lf, r, s in items}
    out, state = [], {}

    def visit(key, depth=0):
        if state.get(key) == "done" or depth > 1000:
            return
        if state.get(key) == "visiting":
            return  # cycle: reported when the parent is found unresolved
        state[key] = "visiting"
        item = by_key[key]
        parent = item[2].get("_parent_ref")
        if parent is not None and (key[0], parent) in by_key:
            visit((key[0], parent), depth + 1)
        state[key] = "done"
        out.append(item)

    for key in by_key:
        visit(key)
    return out


def _is_lab_table(path: Path) -> bool:
    from ionbase.ingest.tabular import sniff_table_kind

    try:
        return sniff_table_kind(path) is not None
    except Exception:
        return False


def _detect(path: Path) -> str:
    try:
        from ionbase.ingest.parsers import detect_format

        return detect_format(path)
    except Exception:
        return "unknown"

