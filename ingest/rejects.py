"""What an import with ``--skip-invalid`` refused, written out to be fixed and imported again.

* Records (of YAML, JSON, JSONL files, and table rows that became records and were then refused)
  go to ``ionbase-rejected-<time>.yaml``, grouped by the file they came from, as before.
* Table rows refused as they were read (a cell that is not a number, a unit of the wrong dimension, a
  row with too many cells, a bad steps row) never became records: each table with such rows gets
  ``ionbase-rejected-<time>-<file>[-<sheet>].csv``, the table's source lines, header and units row
  followed by those rows as the file holds them. When a steps row is bad, every steps row of its
  sample is left out of the import (a route missing one step would misstate the synthesis), so every
  one of them is written here too.

Errors about a whole file or table (an unreadable file, a header nobody can read, an instrument file
that no record links) name no row to copy: :attr:`Rejects.not_written` counts them, and the report
lists them as it lists every error.
"""

from __future__ import annotations

import csv
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from ionbase.ingest.errors import Issue
from ionbase.ingest.loaders import LoadError, LoadedFile, RawRecord, dump_records
from ionbase.ingest.tabular import is_units_row, open_table

#: formats whose rows are copied as they are written
TABLE_FORMATS = ("csv", "xlsx")


@dataclass
class Rejects:
    """The files written and how many of the import's errors they hold."""

    files: list[str] = field(default_factory=list)
    records: int = 0
    rows: int = 0
    not_written: int = 0


def write_rejects(folder: Path, stamp: str, rejected: list[tuple[LoadedFile, RawRecord | Issue]],
                  loaded_files: list[LoadedFile], n_errors: int) -> Rejects:
    """Write the refused records and table rows of one import into ``folder``; see the module docstring."""
    folder.mkdir(parents=True, exist_ok=True)
    out = Rejects()
    records = [(lf, item) for lf, item in rejected if isinstance(item, RawRecord)]
    if records:
        out.files.append(_write_records(folder / f"ionbase-rejected-{stamp}.yaml", records))
        out.records = len(records)
    covered = out.records
    for lf, sheet, issue_rows, withheld in _tables(rejected, loaded_files):
        target = folder / f"ionbase-rejected-{stamp}-{_slug(lf.path.stem)}{'-' + _slug(sheet) if sheet else ''}.csv"
        copied = _copy_rows(lf, sheet, set(issue_rows) | withheld, target)
        if copied:
            out.files.append(str(target))
            out.rows += len(copied)
            covered += sum(1 for row in issue_rows if row in copied)
    out.not_written = max(0, n_errors - covered)
    return out


def _write_records(target: Path, records: list[tuple[LoadedFile, RawRecord]]) -> str:
    by_file: dict[Path, list[RawRecord]] = defaultdict(list)
    sources = {}
    for lf, rec in records:
        by_file[lf.path].append(rec)
        sources[lf.path] = lf.source
    docs = [dict(dump_records(recs, sources[p]), notes=f"rejected from {p.name}") for p, recs in by_file.items()]
    with open(target, "w") as fh:
        yaml.safe_dump_all(docs, fh, sort_keys=False, allow_unicode=True)
    return str(target)


def _tables(rejected: list, loaded_files: list[LoadedFile]) -> list[tuple[LoadedFile, str | None, list[int], set[int]]]:
    """Per table (file, sheet): the rows named by an issue (one entry per issue) and the rows withheld with them."""
    by_path = {lf.path: lf for lf in loaded_files}
    tables: dict[tuple[Path, str | None], tuple[list[int], set[int]]] = {}
    for lf, item in rejected:
        if isinstance(item, Issue) and item.row is not None and lf.format in TABLE_FORMATS:
            by_path.setdefault(lf.path, lf)
            tables.setdefault((lf.path, item.sheet), ([], set()))[0].append(item.row)
    for lf in loaded_files:
        for sheet, row in lf.withheld_rows:
            tables.setdefault((lf.path, sheet), ([], set()))[1].add(row)
    return [(by_path[path], sheet, named, withheld) for (path, sheet), (named, withheld) in tables.items()]


def _copy_rows(lf: LoadedFile, sheet: str | None, wanted: set[int], target: Path) -> set[int]:
    """Copy the source lines, the header, a units row and the ``wanted`` data rows of one table to
    ``target``; the data rows copied (none: no file). A line that cannot be read again ends the copy."""
    copied: set[int] = set()
    with open(target, "w", newline="", encoding="utf-8") as fh:
        for key, value in lf.source.items():
            fh.write(f"# {key}: {value}\n")
        writer = csv.writer(fh)
        try:
            rows, close = open_table(lf.path, sheet)
            try:
                for i, (lineno, cells) in enumerate(rows):
                    if i == 0 or is_units_row(cells):
                        writer.writerow(_text(cells))
                    elif lineno in wanted:
                        writer.writerow(_text(cells))
                        copied.add(lineno)
            finally:
                close()
        except LoadError:
            pass  # the rows before it are copied; the issue of that line is counted as not written
    if not copied:
        target.unlink()
    return copied


def _text(cells: list) -> list[str]:
    return ["" if c is None else str(c) for c in cells]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "table"
