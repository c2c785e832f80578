"""What an import with ``--skip-invalid`` refused, written out to be fixed and imported again.

* Records (of YAML, JSON, JSONL files, and table rows that became records and were then refused)
  go to ``ionbase-rejected-<time>-<file>.yaml``, one file in the import format per file they came from.
* Table rows refused as they were read (a cell that is not a number, a unit of the wrong dimension, a
  row with too many cells, a bad steps row) never became records: each table with such rows gets
  ``ionbase-rejected-<time>-<file>[-<sheet>].csv``, the table's source lines, header and units row
  followed by those rows as the file holds them. When a steps row is bad, every steps row of its
  sample is left out of the import (a route missing one step would misstate the synthesis), so every
  one of them is written here too.

Errors about a whole file or table (an unreadable file, a header nobody can read, an instrument file
that no record links), and a few about rows that are not kept (steps for a sample no table of the
import defines), name nothing these files can hold: :attr:`Rejects.not_written` counts them, and the
report lists every error. Names never collide: a name in use gets ``-2``, ``-3``, ... (files are
created exclusively), so two tables of one name, or two imports in one second, never overwrite rows.
"""

from __future__ import annotations

import csv
import re
import tempfile
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


#: what an import refused: (file, the record refused or None for a table row refused as it was read, the issue)
Rejected = tuple[LoadedFile, "RawRecord | None", Issue]


def check_folder(folder: Path) -> str | None:
    """Why rejected files could not be written into ``folder``, or None; asked before an import starts
    (the folder is made, and a file created and removed in it: permission bits alone say nothing for
    root), so a bad ``--rejected-dir`` refuses the import before anything is written."""
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder, prefix=".ionbase-probe-"):
            pass
    except OSError as exc:
        return f"{exc.strerror or exc} ({exc.filename or folder})"
    return None


def write_rejects(folder: Path, stamp: str, rejected: list[Rejected], loaded_files: list[LoadedFile],
                  errors: list[Issue]) -> Rejects:
    """Write the refused records and table rows of one import into ``folder``; see the module docstring."""
    out = Rejects()
    covered: set[int] = set()
    by_file: dict[Path, list[Rejected]] = defaultdict(list)
    for item in rejected:
        if item[1] is not None:
            by_file[item[0].path].append(item)
    for path, items in by_file.items():
        out.files.append(_write_records(folder, f"ionbase-rejected-{stamp}-{_slug(path.stem)}", items))
        out.records += len(items)
        covered.update(id(issue) for _lf, _rec, issue in items)
    for lf, sheet, named, withheld in _tables(rejected, loaded_files):
        base = f"ionbase-rejected-{stamp}-{_slug(lf.path.stem)}{'-' + _slug(sheet) if sheet else ''}"
        target, copied = _copy_rows(lf, sheet, {issue.row for issue in named} | withheld, folder, base)
        if target is not None:
            out.files.append(str(target))
            out.rows += len(copied)
            covered.update(id(issue) for issue in named if issue.row in copied)
    out.not_written = sum(1 for issue in errors if id(issue) not in covered)
    return out


def _create(folder: Path, base: str, suffix: str):
    """A new file ``base[-N]suffix`` in ``folder``, opened for writing: never one in use."""
    for n in range(1, 10_000):
        target = folder / f"{base}{'' if n == 1 else f'-{n}'}{suffix}"
        try:
            return target, open(target, "x", newline="", encoding="utf-8")
        except FileExistsError:
            continue
    raise FileExistsError(f"{folder / base}{suffix}: 9,999 files of this name already")


def _write_records(folder: Path, base: str, items: list[Rejected]) -> str:
    """The refused records of one file as one import-format YAML document, with that file's source."""
    lf = items[0][0]
    doc = dict(dump_records([rec for _lf, rec, _issue in items], lf.source), notes=f"rejected from {lf.path.name}")
    target, fh = _create(folder, base, ".yaml")
    with fh:
        yaml.safe_dump(doc, fh, sort_keys=False, allow_unicode=True)
    return str(target)


def _tables(rejected: list[Rejected], loaded_files: list[LoadedFile]) -> list[tuple[LoadedFile, str | None, list[Issue], set[int]]]:
    """Per table (file, sheet): the issues of its rows refused as they were read, and the rows withheld with them."""
    by_path = {lf.path: lf for lf in loaded_files}
    tables: dict[tuple[Path, str | None], tuple[list[Issue], set[int]]] = {}
    for lf, rec, issue in rejected:
        if rec is None and issue.row is not None and lf.format in TABLE_FORMATS:
            by_path.setdefault(lf.path, lf)
            tables.setdefault((lf.path, issue.sheet), ([], set()))[0].append(issue)
    for lf in loaded_files:
        for sheet, row in lf.withheld_rows:
            tables.setdefault((lf.path, sheet), ([], set()))[1].add(row)
    return [(by_path[path], sheet, named, withheld) for (path, sheet), (named, withheld) in tables.items()]


def _copy_rows(lf: LoadedFile, sheet: str | None, wanted: set[int], folder: Path,
               base: str) -> tuple[Path | None, set[int]]:
    """Copy the source lines, the header, a units row and the ``wanted`` data rows of one table into a
    new CSV; (its path, the data rows copied), or (None, none) when no wanted row is found. A line that
    can no longer be read ends the copy (its issue, already reported, counts as not written)."""
    picked: list[tuple[int, list]] = []
    header: list | None = None
    rows, close = open_table(lf.path, sheet)
    try:
        for i, (lineno, cells) in enumerate(rows):
            if i == 0:
                header = cells
            elif lineno in wanted or is_units_row(cells):
                picked.append((lineno, cells))
    except LoadError:
        pass
    finally:
        close()
    copied = {lineno for lineno, cells in picked if lineno in wanted}
    if header is None or not copied:
        return None, set()
    target, fh = _create(folder, base, ".csv")
    with fh:
        fh.write(f"# rejected from {lf.path.name}{f', sheet {sheet}' if sheet else ''}: {lf.path}\n")
        for key, value in lf.source.items():
            fh.write(f"# {key}: {value}\n")
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(_text(header))
        for _lineno, cells in picked:
            writer.writerow(_text(cells))
    return target, copied


def _text(cells: list) -> list[str]:
    return ["" if c is None else str(c) for c in cells]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "table"
