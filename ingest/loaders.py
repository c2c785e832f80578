"""Read lab-record files (YAML, JSON, JSONL, CSV, XLSX) into raw records with their locations.

Only data formats are read: ``yaml.safe_load`` and ``json`` never execute code, and spreadsheet
formulas are read as their cached values, never evaluated.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import yaml

from ionbase.ingest import limits
from ionbase.ingest.errors import Issue
from ionbase.ingest.recordshelf import RecordShelf

SECTIONS = {"materials": "material", "samples": "sample", "structures": "structure",
            "measurements": "measurement", "properties": "property"}
RECORD_KINDS = tuple(SECTIONS.values())
LAB_RECORD_SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")
TABULAR_SUFFIXES = (".csv", ".tsv", ".xlsx", ".xlsm")
#: a YAML/JSON record file above this is refused before it is parsed (bulk data belongs in tables)
MAX_RECORD_TEXT_CHARS = 32 * 1024 * 1024


@dataclass(slots=True)  # no per-record __dict__: a large samples table holds one per row
class RawRecord:
    kind: str  # material | sample | structure | measurement | property
    data: dict
    row: int | None  # 1-based line (YAML/JSONL) or spreadsheet row
    ref: str  # e.g. "samples[3]" or "sheet 'properties' row 3"
    #: for a table row: record field path ("value", "conditions.temperature") -> column as written
    columns: dict[str, str] | None = None
    #: a table's sample record or steps fragment: (sheet, row) of the steps rows it was given
    step_rows: list[tuple[str | None, int]] | None = None
    #: ... and their step numbers, None when the table numbers none (ingest/planning.py joins tables by them)
    step_orders: list[float] | None = None
    #: the (file, sheet, row) of steps rows joined from other tables of the batch (ingest/planning.py)
    merged_rows: list[tuple[str, str | None, int]] | None = None
    #: a sample whose steps rows were refused (a bad one among them): its route is unknown, not its parent's
    steps_refused: bool = False
    #: a material a table declares by some of its columns: what it leaves out (no column, or a blank
    #: cell) is kept from the stored material (passes.BuildPass._materials), not erased
    partial: bool = False

    def issue(self, file: str, message: str, field: str | None = None) -> Issue:
        """An Issue about this record; a table row's names the column as the user wrote it."""
        if self.columns is None:
            return Issue(file, message, row=self.row, field=field, record=self.ref)
        path = (field or "").removeprefix(self.ref).lstrip(".")
        parts = path.split(".") if path else []
        column = next((self.columns[p] for p in (".".join(parts[:i]) for i in range(len(parts), 0, -1)) if p in self.columns), None)
        if column is None and parts:
            column = self.columns.get(parts[-1].split("[")[0])
        sheet = self.ref.rsplit(" row ", 1)[0]
        return Issue(file, message, row=self.row, field=path or None,
                     record=sheet if sheet.startswith("sheet ") else None, column=column)


@dataclass
class LoadedFile:
    """A lab-record file: records held in memory, plus streams re-read from the file on demand.

    Large tables (properties, conductivities) are not held: each entry of ``streams`` re-reads its
    table and yields RawRecords (or Issues for bad rows). A table's sample records and steps
    fragments are kept on disk, in ``shelf`` (ingest/recordshelf.py), so memory stays bounded by the
    small records (materials, structures), whatever the number of rows.
    """

    path: Path
    format: str
    source: dict = field(default_factory=dict)
    records: list[RawRecord] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    #: (sheet, line) of table rows left out with a row that has an issue (the other steps rows of its sample)
    withheld_rows: list[tuple[str | None, int]] = field(default_factory=list)
    #: labels of samples a bad steps row of this file leaves without steps (the whole batch drops theirs)
    broken_labels: set[tuple[str, tuple]] = field(default_factory=set)  # (label, the row's own source key)
    streams: list = field(default_factory=list)  # callables -> Iterator[RawRecord | Issue]
    #: a table's ``sample`` and ``sample_steps`` records, on disk; None until the first is shelved
    shelf: RecordShelf | None = None

    def streamed(self):
        """Every streamed record or row issue, read from the file again."""
        for stream in self.streams:
            yield from stream()

    def shelved(self) -> RecordShelf:
        """The file's record shelf, opened on first use."""
        if self.shelf is None:
            self.shelf = RecordShelf()
        return self.shelf

    def count(self) -> int:
        """Records held in memory or shelved (the streamed tables' rows are not counted)."""
        return len(self.records) + (len(self.shelf) if self.shelf is not None else 0)

    def sample_records(self) -> Iterator[RawRecord]:
        """The file's sample records: those held (a YAML or JSON file's), then those shelved (a table's)."""
        for rec in self.records:
            if rec.kind == "sample":
                yield rec
        if self.shelf is not None:
            for _seq, rec in self.shelf.records("sample"):
                yield rec

    def close_shelf(self) -> None:
        """Delete the shelf (its records were built)."""
        if self.shelf is not None:
            self.shelf.close()
            self.shelf = None


class LoadError(Exception):
    def __init__(self, issue: Issue):
        self.issue = issue
        super().__init__(str(issue))


def load_records_text(text: str, path: Path, fmt: str) -> LoadedFile:
    """Parse a YAML/JSON/JSONL lab-record document."""
    name = path.name
    check_text(text, name)
    if fmt == "jsonl":
        return _load_jsonl(text, path)
    if len(text) > MAX_RECORD_TEXT_CHARS:
        raise LoadError(Issue(name, f"a {fmt.upper()} record file of {len(text)} characters is above the limit of "
                              f"{MAX_RECORD_TEXT_CHARS}; put bulk data in CSV tables or instrument files"))
    try:
        if fmt == "json":
            doc = json.loads(text)
            lines: dict[tuple[str, int], int] = {}
        else:
            doc, lines = _load_yaml(text, name)
    except (yaml.YAMLError, json.JSONDecodeError) as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        line = line + 1 if line is not None else getattr(exc, "lineno", None)
        raise LoadError(Issue(name, f"not valid {fmt.upper()}: {exc}", row=line)) from None
    except RecursionError:
        raise LoadError(Issue(name, f"not a usable {fmt.upper()} document: nested too deeply")) from None
    problem = limits.value_problem(doc)
    if problem:
        raise LoadError(Issue(name, problem[1], field=problem[0] or None))
    if not isinstance(doc, dict):
        raise LoadError(Issue(name, f"expected a mapping with sections {sorted(SECTIONS)} at the top"))
    unknown = set(doc) - set(SECTIONS) - {"source", "ionbase_format", "notes", "description"}
    if unknown:
        raise LoadError(Issue(name, f"unknown top-level key(s) {sorted(unknown)}; expected {sorted(SECTIONS)} and 'source'"))
    src = doc.get("source") or {}
    if not isinstance(src, dict):
        raise LoadError(Issue(name, "source must be a mapping {doi, citation, title} or {notebook[, page]}", field="source"))
    loaded = LoadedFile(path, fmt, source=src)
    for section, kind in SECTIONS.items():
        items = doc.get(section) or []
        if not isinstance(items, list):
            loaded.issues.append(Issue(name, f"'{section}' must be a list", field=section))
            continue
        for i, item in enumerate(items):
            ref = f"{section}[{i}]"
            if not isinstance(item, dict):
                loaded.issues.append(Issue(name, "expected a mapping", row=lines.get((section, i)), record=ref))
                continue
            loaded.records.append(RawRecord(kind, item, lines.get((section, i)), ref))
    return loaded


def _load_yaml(text: str, name: str) -> tuple[Any, dict[tuple[str, int], int]]:
    """The YAML document and its items' lines, composed once; an alias bomb is refused before it is built."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None, {}
        size = limits.yaml_expanded_size(root)
        if size > limits.MAX_YAML_NODES:
            raise LoadError(Issue(name, f"the YAML expands to more than {limits.MAX_YAML_NODES} values through its "
                                  "aliases (&anchor / *alias); refused"))
        return loader.construct_document(root), _yaml_item_lines(root)
    finally:
        loader.dispose()


def _yaml_item_lines(root) -> dict[tuple[str, int], int]:
    """(section, index) -> 1-based line of each list item, from the YAML node tree."""
    out: dict[tuple[str, int], int] = {}
    if not isinstance(root, yaml.MappingNode):
        return out
    for key_node, value_node in root.value:
        if isinstance(value_node, yaml.SequenceNode):
            for i, item in enumerate(value_node.value):
                out[(key_node.value, i)] = item.start_mark.line + 1
    return out


def _load_jsonl(text: str, path: Path) -> LoadedFile:
    """One JSON object per line: ``{"record": "sample", ...}``; a line ``{"source": {...}}`` sets the source."""
    loaded = LoadedFile(path, "jsonl")
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            loaded.issues.append(Issue(path.name, f"not valid JSON: {exc.msg}", row=lineno))
            continue
        except RecursionError:
            loaded.issues.append(Issue(path.name, "not usable JSON: nested too deeply", row=lineno))
            continue
        if not isinstance(obj, dict):
            loaded.issues.append(Issue(path.name, "expected a JSON object", row=lineno))
            continue
        problem = limits.value_problem(obj)
        if problem:
            loaded.issues.append(Issue(path.name, problem[1], row=lineno, field=problem[0] or None))
            continue
        if set(obj) == {"source"}:
            loaded.source = obj["source"]
            continue
        kind = obj.pop("record", None)
        if kind not in RECORD_KINDS:
            loaded.issues.append(Issue(path.name, f"'record' must be one of {list(RECORD_KINDS)}, got {kind!r}", row=lineno, field="record"))
            continue
        loaded.records.append(RawRecord(kind, obj, lineno, f"line {lineno}"))
    return loaded


def load_lab_file(path: Path, max_bytes: int) -> LoadedFile:
    """Load any lab-record file by its format (YAML/JSON/JSONL/CSV/XLSX)."""
    from ionbase.ingest.references import check_regular_file

    problem = check_regular_file(path, max_bytes)  # before any read: a FIFO or device would block
    if problem:
        raise LoadError(Issue(path.name, problem))
    suffix = path.suffix.lower()
    if suffix in (".csv", ".tsv", ".xlsx", ".xlsm"):
        from ionbase.ingest.tabular import load_tabular

        return load_tabular(path)
    text = _read_text(path)
    fmt = {".yaml": "yaml", ".yml": "yaml", ".json": "json", ".jsonl": "jsonl"}[suffix]
    return load_records_text(text, path, fmt)


def check_text(text: str, name: str) -> None:
    """Refuse control characters (a binary or corrupted file) and lines above the length limit."""
    problem = limits.text_problem(text)
    if problem:
        raise LoadError(Issue(name, problem[1], row=problem[0]))


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    for enc in ("utf-8-sig", "latin-1"):
        try:
            return data.decode(enc)
        except UnicodeDecodeError:
            continue
    raise LoadError(Issue(path.name, "cannot decode the file as text"))


def dump_records(loaded: list[RawRecord], source: dict) -> dict[str, Any]:
    """Group raw records back into the YAML document shape (for rejected-record files)."""
    doc: dict[str, Any] = {"source": source}
    for section, kind in SECTIONS.items():
        items = [r.data for r in loaded if r.kind == kind]
        if items:
            doc[section] = items
    return doc
