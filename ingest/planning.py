"""Planning an import: options, reports, the files of a batch, and what a pass over it built.

Used by ingest/importer.py (the flow), ingest/passes.py (the build passes) and the adapters.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

from ionbase.ingest.errors import ImportFailed, Issue, singular
from ionbase.ingest.keyindex import KeyIndex
from ionbase.ingest.validation import check_document
from ionbase.ingest.loaders import LAB_RECORD_SUFFIXES, TABULAR_SUFFIXES, LoadedFile, RawRecord
from ionbase.ingest.spill import scratch_sqlite
from ionbase.schemas import build as B
from ionbase.schemas.sources import split_notebook



def data_suffixes() -> tuple[str, ...]:
    """Suffixes of lab records, tables and every registered instrument format (at call time)."""
    from ionbase.ingest.parsers import registry

    return LAB_RECORD_SUFFIXES + TABULAR_SUFFIXES + registry.suffixes()



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
    #: with skip_invalid: write the refused records and rows to files in ``rejected_dir`` (ingest/rejects.py)
    write_rejected: bool = True
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
    #: with skip_invalid: the files the refused records and table rows were written to (ingest/rejects.py)
    rejected_files: list[str] = field(default_factory=list)
    #: errors that name no record or row to write out (a whole file or table)
    errors_not_written: int = 0
    #: committed documents this batch derived again from what it changes (ingest/cascade.py): samples
    #: read (adopted), samples and properties written
    rederived: dict = field(default_factory=lambda: {"samples_read": 0, "samples": 0, "properties": 0})

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
            "rejected_files": self.rejected_files,
            "errors_not_written": self.errors_not_written,
            "rederived": self.rederived,
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
                ) and f.suffix.lower() in data_suffixes():
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


#: collections whose documents a plan keeps whole (a sample needs its material and route; the
#: samples themselves are kept on disk by the pass, ingest/samplebook.py)
SMALL_COLLECTIONS = ("materials", "routes")


class Plan:
    """What a pass over the batch built: small collections whole, the rest as keys on disk.

    Documents of the large collections (samples, properties, measurements, ...) go to ``sink`` as they are
    built (the importer's temporary file, ingest/spill.py) and are not kept; their ids, content
    hashes and origins go to a KeyIndex on disk (ingest/keyindex.py): memory does not grow with
    the rows.
    """

    def __init__(self, sink: Callable[[str, dict], None] | None = None,
                 bases: dict[str, dict[str, str | None]] | None = None,
                 uses: dict[str, dict[str, str | None]] | None = None) -> None:
        self.docs: dict[str, dict[str, dict]] = {c: {} for c in SMALL_COLLECTIONS}
        #: collection -> id -> content hash of the stored version a document was derived again from
        #: (ingest/cascade.py); shared with the batch's writer, which checks it is still stored
        self.bases = bases if bases is not None else {}
        #: collection -> id -> content hash of the committed documents the batch's documents copy from
        #: (a parent's route, a sample's summary, a material's family); shared with the writer, which
        #: holds them (shared claims) and checks they are still stored so before the commit
        self.uses = uses if uses is not None else {}
        #: what the cascade saw of the samples and materials it derives again (ingest/cascade.py)
        self.seen_counts: dict[str, dict[str, int]] = {"parent": {}, "sample": {}, "material": {}}
        self.keys = KeyIndex()
        self.origin: dict[str, tuple[str, Any]] = {}  # small collections' doc id -> (file, row)
        self.sink = sink
        self.reused: dict[str, dict] = {}  # committed documents of the store the batch refers to, by id

    def add(self, coll: str, doc: dict, where: tuple[str, Any]) -> Issue | None:
        check_document(coll, doc, where)  # against schemas.documents, before the writer (sink) gets it
        if coll not in self.docs:
            first = self.keys.first(doc["_id"], doc.get("content_hash"), where)
            if first is None:
                if self.sink is not None:
                    self.sink(coll, doc)
                return None
            return _duplicate(coll, doc, where, first[0], (first[1], first[2]))
        existing = self.docs[coll].get(doc["_id"])
        if existing is not None:
            return _duplicate(coll, doc, where, existing.get("content_hash"), self.origin.get(doc["_id"], ("?", None)))
        self.docs[coll][doc["_id"]] = doc
        self.origin.setdefault(doc["_id"], where)
        return None

    def use(self, coll: str, doc: dict) -> dict:
        """Note that documents of this batch copy from the committed ``doc`` (``uses``); returns it."""
        self.uses.setdefault(coll, {}).setdefault(doc["_id"], doc.get("content_hash"))
        return doc

    def add_derived(self, coll: str, doc: dict, stored_hash: str | None, where: tuple[str, Any]) -> Issue | None:
        """:meth:`add` a document derived again from its stored version (whose content hash is
        ``stored_hash``): the writer refuses the batch if that version is no longer stored."""
        self.bases.setdefault(coll, {})[doc["_id"]] = stored_hash
        return self.add(coll, doc, where)

    def forget_keys(self) -> None:
        """Drop the large collections' keys (used only to find a natural key defined twice within
        the pass) and the sink; the small collections' documents stay."""
        self.keys.close()
        self.sink = None


def _duplicate(coll: str, doc: dict, where: tuple[str, Any], old_hash: str | None, first: tuple[str, Any]) -> Issue | None:
    """None when the document was built before identically, else the duplicate natural key issue."""
    if old_hash == doc.get("content_hash"):
        return None
    hint = _PROPERTY_KEY_HINT if coll == "properties" else ""
    return Issue(where[0], f"duplicate natural key: {singular(coll)} {doc['_id']} is also defined, differently, "
                 f"in {first[0]}" + (f" row {first[1]}" if first[1] else "") + hint, row=where[1])


#: what names a property, for the duplicate-key message (schemas.build_records.property_id)
_PROPERTY_KEY_HINT = ("; a property is named by its sample, name, conditions (not 'carrier') and source location, "
                      "so two values that differ only in value or carrier need another condition (e.g. method) "
                      "or source location (e.g. table, figure)")


def content_hash(doc: dict) -> str:
    return B.stable_hash({k: v for k, v in doc.items() if k not in ("_id", "content_hash", "batch_id", "updated_at")})


class Rejected(Exception):
    """A record refused while adding it to the plan (e.g. a natural key defined twice, differently)."""

    def __init__(self, issue: Issue):
        self.issue = issue
        super().__init__(str(issue))


def _skey(lf: LoadedFile, data: dict) -> str:
    src = {**lf.source, **(data.get("source") or {})}
    return str(src.get("doi") or split_notebook(src.get("notebook") or "")[0])


class _SampleTargets:
    """(source key, label) -> the sample record of the batch that steps given elsewhere attach to (the
    last one read, as a dict would keep it), indexed in a private temporary SQLite database: a
    table's sample records are on disk (ingest/recordshelf.py), and so is their index."""

    def __init__(self, loaded_files: list[LoadedFile]) -> None:
        self._files = loaded_files
        self._held: list[tuple[int, RawRecord]] = []  # sample records held in memory (YAML, JSON), with their file
        self._db = scratch_sqlite()
        self._db.execute("CREATE TABLE targets (skey TEXT, label TEXT, file INTEGER, pos INTEGER, "
                         "PRIMARY KEY (skey, label)) WITHOUT ROWID")
        self._db.execute("BEGIN")
        for i, lf in enumerate(loaded_files):
            for r in lf.records:
                if r.kind == "sample":
                    self._held.append((i, r))
                    self._put(lf, r, -1, len(self._held) - 1)
            if lf.shelf is not None:
                for seq, r in lf.shelf.records("sample"):
                    self._put(lf, r, i, seq)

    def _put(self, lf: LoadedFile, r: RawRecord, file: int, pos: int) -> None:
        self._db.execute("INSERT OR REPLACE INTO targets VALUES (?, ?, ?, ?)", (_skey(lf, r.data), str(r.data.get("label")), file, pos))

    def find(self, lf: LoadedFile, fragment: RawRecord) -> tuple[LoadedFile, RawRecord, Callable[[RawRecord], None]] | None:
        """(its file, the sample record, a function that stores it again) of the sample a steps
        fragment attaches to, or None if no sample of the batch has its key."""
        row = self._db.execute("SELECT file, pos FROM targets WHERE skey = ? AND label = ?",
                               (_skey(lf, fragment.data), fragment.data["sample"])).fetchone()
        if row is None:
            return None
        if row[0] < 0:
            i, target = self._held[row[1]]
            return self._files[i], target, lambda _rec: None
        shelf = self._files[row[0]].shelved()
        return self._files[row[0]], shelf.get(row[1]), lambda rec: shelf.replace(row[1], rec)

    def close(self) -> None:
        self._db.close()
        self._held = []


def merge_fragments(loaded_files: list[LoadedFile], report: ImportReport, rejected: list | None = None) -> None:
    """Attach steps and sites given in one table file to samples and structures of another (the
    errors file by file, a file's steps before its sites); a refused steps table row goes to
    ``rejected`` as (file, None, issue), for the rejected-rows files (ingest/rejects.py)."""
    broken = {(_skey(lf, {"source": dict(source)}), label) for lf in loaded_files for label, source in lf.broken_labels}
    if broken:
        _drop_broken_steps(loaded_files, broken)
    targets = None
    if any(lf.shelf is not None and lf.shelf.counts["sample_steps"] for lf in loaded_files):
        targets = _SampleTargets(loaded_files)
    structures = {}
    for lf in loaded_files:
        for r in lf.records:
            if r.kind == "structure":
                for ph in r.data.get("phases") or [{}]:
                    structures[(_skey(lf, r.data), str(r.data.get("sample")), str(ph.get("name", "")))] = ph
    by_path = {str(lf.path): lf for lf in loaded_files}
    try:
        for lf in loaded_files:
            if targets is not None:
                for r in _shelved_fragments(lf):
                    if (_skey(lf, r.data), r.data["sample"]) in broken:
                        lf.withheld_rows.extend(r.step_rows or [])  # see _drop_broken_steps
                        continue
                    _merge_steps(targets, lf, r, report, rejected, by_path)
            _merge_sites(structures, lf, report)
    finally:
        if targets is not None:
            targets.close()


def _drop_broken_steps(loaded_files: list[LoadedFile], broken: set[tuple[str, str]]) -> None:
    """A sample with a bad steps row in any table of the batch keeps no steps from any file: the route
    would otherwise miss a step and misstate the synthesis (the bad row a 600 °C anneal, the route
    "never annealed"). Its table rows are withheld, for the rejected-rows files (ingest/rejects.py);
    steps given inline in a YAML or JSON sample are dropped with them (the bad row's error says why)."""
    def drop(lf: LoadedFile, r: RawRecord) -> bool:
        if (_skey(lf, r.data), str(r.data.get("label"))) not in broken:
            return False
        _refuse_steps(lf, r, {})  # (nothing is merged from other files yet)
        return True

    for lf in loaded_files:
        for r in lf.records:
            if r.kind == "sample":
                drop(lf, r)
        for seq, r in lf.shelf.records("sample") if lf.shelf is not None else ():
            if drop(lf, r):
                lf.shelf.replace(seq, r)


def _merge_sites(structures: dict, lf: LoadedFile, report: ImportReport) -> None:
    keep = []
    for r in lf.records:
        if r.kind == "structure_sites":
            phase = structures.get((_skey(lf, r.data), r.data["sample"], r.data["phase"]))
            if phase is None:
                _merge_error(report, lf, Issue(lf.path.name, f"site for sample {r.data['sample']!r}, phase {r.data['phase']!r} "
                                           "has no row in a structures table of this import", row=r.row, field="sample"))
                continue
            phase.setdefault("sites", []).append(r.data["site"])
        else:
            keep.append(r)
    lf.records[:] = keep


def _merge_error(report: ImportReport, lf: LoadedFile, issue: Issue) -> None:
    """An error found joining one file's rows to another's: in the batch's list and in the file's own
    (its report, built by the first pass from ``lf.issues``, counted them out until 2026-12-02)."""
    report.errors.append(issue)
    lf.issues.append(issue)


def _shelved_fragments(lf: LoadedFile) -> Iterable[RawRecord]:
    """A file's steps fragments (dropped from its shelf once merged)."""
    if lf.shelf is None or not lf.shelf.counts["sample_steps"]:
        return
    for _seq, r in lf.shelf.records("sample_steps"):
        yield r
    lf.shelf.clear("sample_steps")


def _merge_steps(targets: _SampleTargets, lf: LoadedFile, r: RawRecord, report: ImportReport,
                 rejected: list | None, by_path: dict[str, LoadedFile]) -> None:
    """Join one table's steps of a sample to the steps it has from elsewhere, by step number; steps
    whose order is unknown refuse all of the sample's steps (its route is then unknown, not wrong)."""
    found = targets.find(lf, r)
    if found is None:
        _merge_error(report, lf, Issue(lf.path.name, f"steps given for sample {r.data['sample']!r}, which no samples table in this import defines",
                                   row=r.row, field="sample"))
        return
    target_lf, target, save = found
    if target.steps_refused:  # a bad steps row of this sample in another table: none of its steps are kept
        lf.withheld_rows.extend(r.step_rows or [])
        return
    problem = _order_problem(target, r)
    if problem is None:
        _join_steps(lf, target, r)
    else:
        sheet, row = problem[1] or (r.step_rows[0] if r.step_rows else (None, r.row))
        issue = Issue.in_table(lf.path.name, sheet, problem[0], row=row, field="step")
        _merge_error(report, lf, issue)
        if rejected is not None:
            rejected.append((lf, None, issue))
        lf.withheld_rows.extend(r.step_rows or [])
        _refuse_steps(target_lf, target, by_path)
    save(target)


def _order_problem(target: RawRecord, r: RawRecord) -> tuple[str, tuple[str | None, int] | None] | None:
    """Why the steps of ``r`` cannot be put in order with those ``target`` has already, and the
    (sheet, line) of the row it is about (None: the table's first); or None."""
    if not target.data.get("steps"):
        return None
    label = r.data["sample"]
    where = f"steps of sample {label!r} are given in more than one place of this import"
    if target.step_rows is None and target.merged_rows is None:  # steps inline in a YAML or JSON record
        return (f"{where}: with the sample's record, where steps have no numbers, and in this table, so their "
                "order is unknown: give all of its steps in one place (all with the record, or all in steps tables)"), None
    if r.step_orders is None:
        return f"{where}, and this table does not number them: give it a 'step' column so their order is known", None
    if target.step_orders is None:
        return (f"{where}, and those given before this table (in a table without a 'step' column) are not "
                "numbered: number every steps row so their order is known"), None
    twice = set(target.step_orders) & set(r.step_orders)
    if twice:
        i = min(i for i, o in enumerate(r.step_orders) if o in twice)
        number = int(r.step_orders[i]) if float(r.step_orders[i]).is_integer() else r.step_orders[i]
        return (f"step {number} of sample {label!r} is numbered so in another table of this import too: "
                "the order of the two is unknown"), (r.step_rows[i] if r.step_rows else None)
    return None


def _join_steps(lf: LoadedFile, target: RawRecord, r: RawRecord) -> None:
    """The steps of both, in the order of their step numbers (checked by _order_problem)."""
    if target.data.get("steps"):
        pairs = sorted(zip(target.step_orders + r.step_orders, target.data["steps"] + r.data["steps"]), key=lambda p: p[0])
        target.step_orders, target.data["steps"] = [o for o, _s in pairs], [s for _o, s in pairs]
    else:
        target.data["steps"], target.step_orders = list(r.data["steps"]), r.step_orders
    target.merged_rows = (target.merged_rows or []) + [(str(lf.path), sheet, line) for sheet, line in r.step_rows or []]


def _refuse_steps(target_lf: LoadedFile, target: RawRecord, by_path: dict[str, LoadedFile]) -> None:
    """Drop every step of a sample, its rows withheld for the rejected-rows files, its route unknown."""
    target.data.pop("steps", None)
    target_lf.withheld_rows.extend(target.step_rows or [])
    for path, sheet, line in target.merged_rows or []:
        by_path[path].withheld_rows.append((sheet, line))
    target.step_rows = target.step_orders = target.merged_rows = None
    target.steps_refused = True


def is_lab_table(path: Path) -> bool:
    from ionbase.ingest.tabular import sniff_table_kind

    try:
        return sniff_table_kind(path) is not None
    except Exception:
        return False


def detect(path: Path) -> str:
    try:
        from ionbase.ingest.parsers import detect_format

        return detect_format(path)
    except Exception:
        return "unknown"
