"""Bulk import: validate everything, then write it as one batch that becomes visible at once.

Atomicity without multi-document transactions:

1. A batch document is created with status ``pending``. Documents written for it carry its
   ``batch_id``; queries exclude documents of batches that are not committed, so a batch killed
   before its commit point is invisible (and cleaned away by the next import or ``ionbase import
   recover``).
2. The first pass validates and builds every record. The samples and the large collections'
   documents are written as it goes, by a writer thread (ingest/overlap.py), so the store's work
   overlaps the parsing; materials and routes are kept in a temporary file (ingest/spill.py) and
   written after it. A batch with errors (unless ``skip_invalid``) stops
   writing at its first error and is withdrawn: nothing of it is left.
3. The batch flips to ``committing`` (one document update: the commit point), which switches its new
   documents and the new versions of changed ones on at once (store/batches.py, store/shadows.py);
   then it flips to ``committed``. A process killed while ``committing`` is rolled forward.

Re-importing identical files finds every document by its deterministic id with the same content
hash: nothing is written.

Where things are: ingest/planning.py (options, reports, the Plan, file discovery),
ingest/passes.py (a pass over the records), ingest/adapt_*.py (one adapter per record kind:
samples and routes, properties, structures and CIF phases, measurements from instrument files),
ingest/cascade.py (what earlier imports copied from the samples and materials the batch changes:
descendants' routes, properties' synthesis, derived again in the batch),
store/batches.py (the batch protocol above; claims in store/claims.py), store/rollback.py (rollback), ingest/tabular.py and
ingest/table_rows.py (template tables). What the first pass keeps is on disk, so memory does not grow
with the rows: a table's sample records and steps (ingest/recordshelf.py), the samples built
(ingest/samplebook.py), the keys seen (ingest/keyindex.py), the documents built (ingest/spill.py).
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Iterable

from ionbase.ingest import cascade, progress as progress_mod
from ionbase.store.rollback import COLLECTIONS, rollback  # noqa: F401 (rollback: public here too)
from ionbase.ingest.errors import ImportFailed, Issue
from ionbase.ingest.loaders import LAB_RECORD_SUFFIXES, TABULAR_SUFFIXES, LoadError, LoadedFile, load_lab_file
from ionbase.ingest.passes import BuildPass
from ionbase.ingest.rejects import Rejected, check_folder, write_rejects
from ionbase.ingest.references import confined_or_none
from ionbase.ingest.overlap import EarlyWriter
from ionbase.ingest.spill import Spill
from ionbase.ingest.planning import (  # noqa: F401 (re-exported: the importer's public names)
    IGNORED_NAMES,
    data_suffixes,
    MAX_LISTED,
    SMALL_COLLECTIONS,
    FileReport,
    ImportOptions,
    ImportReport,
    Plan,
    content_hash,
    detect,
    expand_paths,
    is_lab_table,
    merge_fragments,
    sha256_file,
)
from ionbase.store.batches import Writer, _now, commit_batch, describe_batch, discard, list_batches, recover, start_batch, withdraw  # noqa: F401 (list_batches, recover: public here)

log = logging.getLogger(__name__)


class Importer:
    """Validates and writes one import batch."""

    def __init__(self, store, options: ImportOptions | None = None):
        self.store = store
        self.opt = options or ImportOptions()
        #: records the first pass went through (None until it ends)
        self.records_seen: int | None = None
        self._writing = progress_mod.Progress(None, "writing")  # the writing bar, once the pass is valid
        self._seen_counts: dict[str, dict[str, int]] = {}  # what the cascade read (Plan.seen_counts)

    # ------------------------------------------------------------ planning

    def plan(self, paths: Iterable[Path]) -> tuple[ImportReport, list[LoadedFile], dict, list]:
        """First pass: load and validate everything, keeping no large documents (see Plan).

        Returns the report (with every error), the loaded files, the files' metadata (checksums)
        and the rejected records.
        """
        report, loaded_files, file_meta, rejected, _plan = self._plan(paths, None)
        return report, loaded_files, file_meta, rejected

    def _plan(self, paths: Iterable[Path], spill: Spill | None, report: ImportReport | None = None,
              writer: Writer | None = None) -> tuple[ImportReport, list[LoadedFile], dict, list, Plan]:
        """plan(), also returning the Plan (its small collections whole); the large collections'
        documents go to ``spill`` when given (ingest/spill.py), for the second pass to write, or to
        the writer while the pass runs (``spill.early``, ingest/overlap.py). ``writer``: the batch's,
        which checks what the plan derived from the store (Plan.bases, Plan.uses)."""
        files = expand_paths(paths)
        self.records_seen = None
        if report is None:
            report = ImportReport(batch_id=None, status="planned", dry_run=self.opt.dry_run)
        plan = Plan(sink=spill.add if spill is not None else None, bases=writer.bases if writer else None,
                    uses=writer.uses if writer else None)
        loaded_files: list[LoadedFile] = []
        referenced: set[Path] = set()
        handled: set[Path] = set()
        #: what was refused: records, and the issues of table rows that never became records (ingest/rejects.py)
        rejected: list[Rejected] = []
        for path in files:
            if path.suffix.lower() in LAB_RECORD_SUFFIXES or (
                path.suffix.lower() in TABULAR_SUFFIXES and is_lab_table(path)
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
                rejected.extend((lf, None, issue) for issue in lf.issues)
                for rec in lf.records:
                    ref = rec.data.get("file") if rec.kind == "measurement" else rec.data.get("cif") if rec.kind == "structure" else None
                    target = confined_or_none(path.parent, ref, self.opt.max_file_bytes) if ref else None
                    if target is not None:  # a refused reference is reported by the build pass
                        referenced.add(target.resolve())
        for path in files:
            if path.resolve() in referenced or path.resolve() in handled:
                continue
            if path.suffix.lower() in data_suffixes():
                issue = Issue(path.name, "instrument file not linked to a sample: list it in a manifest "
                              "(a measurements record with 'file:', or a CSV manifest with a 'file' column)")
                report.errors.append(issue)
                report.files.append(FileReport(str(path), detect(path), errors=[issue.to_dict()]))
        merge_fragments(loaded_files, report, rejected)
        self._build(loaded_files, plan, report, rejected)
        plan.forget_keys()  # only the small collections' documents are needed from here on
        file_meta = _file_meta(loaded_files, referenced, report)
        return report, loaded_files, file_meta, rejected, plan

    def _build(self, loaded_files: list[LoadedFile], plan: Plan, report: ImportReport, rejected: list) -> None:
        """The first pass over every record (ingest/passes.py), with a progress bar of its records."""
        known = None if any(lf.streams for lf in loaded_files) else sum(lf.count() for lf in loaded_files)
        progress = progress_mod.make_progress(known, self.opt.progress, "validating")
        BuildPass(self.store, plan, report, rejected, progress, self.opt.max_rows, self.opt.max_file_bytes).run(loaded_files)
        progress.close()
        self.records_seen = progress.n

    def _writing_progress(self, writer: Writer, total: int) -> "progress_mod.Progress":
        """The documents of the batch (``total``), from those the writer has done: it advances from the
        writer's thread as each chunk is written (ingest/progress.py)."""
        made: list[progress_mod.Progress] = []

        def start(done: int):
            made.append(progress_mod.make_progress(total, self.opt.progress, "writing", unit="document", initial=done))
            return made[0].update

        writer.follow(start)
        return made[0]

    # ------------------------------------------------------------ diff and write

    def run(self, paths: Iterable[Path]) -> ImportReport:
        """Validate (first pass, writing the large collections as it goes), then write the rest in
        chunks as one batch (second pass), and commit."""
        recover(self.store)
        spill = Spill()
        try:
            return self._run(paths, spill)
        finally:
            spill.close()

    def _run(self, paths: Iterable[Path], spill: Spill) -> ImportReport:
        if self.opt.skip_invalid and self.opt.write_rejected and not self.opt.dry_run:
            problem = check_folder(self._rejected_dir())  # refused before anything is read or written
            if problem:
                raise ImportFailed([Issue(str(self._rejected_dir()), f"the rejected records cannot be written: {problem}",
                                          field="--rejected-dir")])
        files = expand_paths(paths)
        self._writing = progress_mod.Progress(None, "writing")  # replaced once the pass is valid
        batch_id = None
        if not self.opt.dry_run:  # pending (invisible) from the start: the pass's documents are written as it goes
            names = {str(p): {"path": str(p), "name": p.name} for p in files}  # checksums after the pass
            batch_id = start_batch(self.store, names, [], self.opt.user, self.opt.skip_invalid)
        stage = self.opt.on_stage or (lambda name: None)
        writer = Writer(self.store, batch_id, stage)
        report = ImportReport(batch_id=batch_id, status="planned", dry_run=self.opt.dry_run)
        try:
            self._first_pass(files, spill, writer, report)
            self._write_rest(spill, writer)
            if batch_id is not None:  # all of it held: what the cascade read must still be so
                cascade.verify(self.store, self._seen_counts)
        except ImportFailed:
            if batch_id is not None:  # invalid: nothing of it was ever visible, and nothing is left
                withdraw(self.store, batch_id, "invalid records")
            raise
        except BaseException as exc:
            if batch_id is not None:  # nothing of it was ever visible: clean it away
                discard(self.store, batch_id, f"import failed before its commit point ({type(exc).__name__})")
            raise
        self._count(report, writer)
        if self.opt.dry_run:
            report.status = "dry_run"
            return report
        commit_batch(self.store, batch_id, report.counts, report.touched_samples, writer.changed_ids, stage)
        report.status = "committed"
        return report

    def _first_pass(self, paths: Iterable[Path], spill: Spill, writer: Writer, report: ImportReport) -> None:
        """The first pass, its large collections written meanwhile (ingest/overlap.py); ImportFailed
        (after it) when the batch has errors and does not skip invalid records. However it ends, the
        writer thread has stopped when this returns or raises (the caller may then discard the batch).
        Once the pass is valid, the writing progress bar follows the documents still to write."""
        early = EarlyWriter(writer, writer.beat, lambda: bool(report.errors) and not self.opt.skip_invalid,
                            flush=writer.flush_ready)
        spill.early = early.add
        loaded_files: list[LoadedFile] = []
        try:
            _report, loaded_files, file_meta, rejected, plan = self._plan(paths, spill, report, writer)
            self._seen_counts = plan.seen_counts
            if report.errors and not self.opt.skip_invalid:
                report.status, report.batch_id = "invalid", None  # the batch is withdrawn (Importer._run)
                raise ImportFailed(report.errors, report.to_dict())
            self._writing = self._writing_progress(writer, spill.documents + sum(map(len, (plan.docs[c] for c in SMALL_COLLECTIONS))))
            early.finish()
            if report.errors and self.opt.write_rejected and not self.opt.dry_run:
                self._write_rejected(report, rejected, loaded_files)
        except BaseException:
            early.abort()
            self._writing.close()
            raise
        finally:
            spill.early = None
            for lf in loaded_files:  # everything the second pass writes is written or in the spill from here on
                lf.records = []
                lf.close_shelf()
        if writer.batch_id is not None:
            describe_batch(self.store, writer.batch_id, file_meta, report.errors)
        for coll in SMALL_COLLECTIONS:  # written after the pass (ingest/spill.py); on disk meanwhile
            for doc in plan.docs[coll].values():
                spill.add(coll, doc)
            plan.docs[coll] = {}

    def _write_rest(self, spill: Spill, writer: Writer) -> None:
        """The second pass: what the first left in the spill (the small collections), then what the
        writer still buffers."""
        try:
            spill.replay(writer)
            writer.close()
        finally:
            self._writing.close()

    @staticmethod
    def _count(report: ImportReport, writer: Writer) -> None:
        report.counts = writer.counts
        report.counts["total"] = {k: sum(writer.counts[c][k] for c in COLLECTIONS) for k in ("new", "changed", "unchanged")}
        report.counts["errors"] = len(report.errors)
        report.touched_samples = sorted(writer.touched)
        report.changed_ids = writer.changed_ids

    def _rejected_dir(self) -> Path:
        return Path(self.opt.rejected_dir or ".")

    def _write_rejected(self, report: ImportReport, rejected: list, loaded_files: list[LoadedFile]) -> None:
        """The refused records and table rows, to fix and import again (ingest/rejects.py)."""
        try:
            out = write_rejects(self._rejected_dir(), _now().strftime("%Y%m%dT%H%M%S"), rejected, loaded_files,
                                report.errors)
        except OSError as exc:  # a disk that filled up since the check: the batch is withdrawn (Importer._run)
            raise ImportFailed([Issue(str(self._rejected_dir()), f"the rejected records cannot be written: {exc}",
                                      field="--rejected-dir")]) from None
        report.rejected_files, report.errors_not_written = out.files, out.not_written

def _file_meta(loaded_files: list[LoadedFile], referenced: set[Path], report: ImportReport) -> dict[str, dict]:
    """Path -> checksum, size and format of every file of the batch (the lab files and the files their
    records reference); the file reports get their checksum and size."""
    file_meta: dict[str, dict] = {}
    for lf in loaded_files:
        size = lf.path.stat().st_size
        file_meta[str(lf.path)] = {"path": str(lf.path), "name": lf.path.name, "sha256": sha256_file(lf.path), "size": size, "format": lf.format}
    for ref in referenced:
        if ref.is_file():  # a directory or a missing file is reported by the record that names it
            file_meta[str(ref)] = {"path": str(ref), "name": ref.name, "sha256": sha256_file(ref), "size": ref.stat().st_size, "format": detect(ref)}
    for fr in report.files:
        meta = file_meta.get(fr.path)
        if meta:
            fr.sha256, fr.size = meta["sha256"], meta["size"]
    return file_meta
