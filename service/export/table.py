"""The ML export table: one row per (sample, temperature), streamed, and its CSV/JSONL/Parquet writers.

Row model (``service.export.cells``; the user documentation is ``docs/export.md``)
---------------------------------------------------------------------------------
* Rows are per sample and measurement temperature (rounded to 0.01 °C). A value of a
  temperature-bound property (``registry.PropertyType.temperature_bound``) appears only on the row
  of its temperature; a temperature-independent one (activation energy, lattice parameters, ...)
  on every row of its sample. A sample whose values carry no temperature has one row with an
  empty temperature.
* Each value column ``<property>_<unit slug>`` (canonical unit of the registry) has its
  uncertainty, qualifier, origin and source columns beside it.
* Competing values for one cell are resolved by ``cells.priority`` and counted per column in the
  plan's ``conflicts``. Stale derived values are never exported.
* Unknown is null (an empty CSV cell), never 0: a synthesis feature of an unknown route or an
  unknown step parameter, the composition of an unparsable formula.
* Features: group labels for leakage-free splits (with the formula as the source wrote it beside
  pymatgen's reduced formula), composition features from the reduced formula (pymatgen, cached
  per formula), the synthesis route summary, and structure features taken from the same sample's
  properties whatever the filter selected.

Column order is stable: groups, condition, targets (each with its companions), series value,
composition (``frac_<El>`` by atomic number, then statistics), synthesis, structure.

One pass: ``plan_export`` reads the selected documents once (sorted by sample, through a reader
thread that fetches the next batch while this one is processed; on nx-27017 an empty filter is
read in pages of whole samples, ``service.export.read``), builds the rows and spools them
(sparse, pickled a chunk of rows at a time) to a temporary file; at the end of the pass the columns
and the summary of the filtered selection (samples, rows, conflicts) are known, before the first
row is written. ``iter_chunks`` then reads the spool back as column chunks (one list per column,
composition and structure columns filled per distinct formula and sample), which the writers
(``service.export.writers``) turn into CSV or Parquet without a dict per row; ``build_rows``
gives the same rows as dicts (JSON Lines). Memory is bounded by one chunk, the per-formula
composition cache and the row count per sample (plus, for a filtered export, the structure
cells per sample), not by the number of rows.

Reads: all fields on nx-27017 (it projects document by document in Python, slower than sending
the whole document; ``Store.evaluates_in_python``), the top-level fields the export needs on a
MongoDB server (dotted projections come back as flat keys from the embedded store). The structure
features come from the same pass when the filter is empty (every document is read anyway), else
from one more query. All reads go through the store's typed collections, which hide uncommitted
batches. ``distinct`` is not used: the embedded store ignores a ``$regex`` condition in it and
answers for the whole collection.
"""

from __future__ import annotations

import pickle
import tempfile
import weakref
from collections import Counter
from dataclasses import dataclass, field
from itertools import repeat
from typing import IO, Any, Iterable, Iterator

from ionbase.service.export import cells as C
from ionbase.service.export import features as F
from ionbase.service.export import read as R
from ionbase.service.export.writers import (  # noqa: F401  (the writers' public names, re-exported)
    FORMULA_START,
    Chunk,
    arrow_schema as _arrow_schema,
    csv_cells,
    csv_from_chunks,
    csv_lines,
    csv_text,
    escape_formula,
    parquet_from_chunks,
    parquet_stream_from_chunks,
    rows_to_chunks,
    write_csv,
    write_jsonl,
)

TEMPERATURE_COLUMNS = ("temperature_C", "temperature_K")
#: a sample with more than this many ids is not looked up with $in (one scan by name instead)
MAX_IN_IDS = 2000
#: rows per spooled chunk (the unit of memory and of the column conversion)
SPOOL_ROWS = 4096

_VALUE_FIELDS = {
    "_id": 1, "sample": 1, "name": 1, "value": 1, "qualifier": 1, "origin": 1, "stale": 1, "uncertainty": 1,
    "temperature_c": 1, "source": 1, "provenance": 1, "flags": 1,
    "conditions": 1,  # conditions.carrier: which carrier a stated activation energy describes (schemas.carriers)
}
_ROW_PROJECTION = {
    **_VALUE_FIELDS, "family": 1, "doi": 1, "series_name": 1, "series_value": 1, "material_id": 1,
    "sample_label": 1, "formula": 1, "reduced_formula": 1, "synthesis": 1, "components": 1, "elements": 1,
    "component_keys": 1,
}


@dataclass
class ExportPlan:
    """What the export contains, known before the first row is streamed: its columns, the
    summary of the filtered selection (samples with rows, rows, conflicting cells per column)
    and the spooled rows (an anonymous temporary file: closed with the plan, and gone with the process
    however it ends, kill -9 included)."""

    columns: list[str]
    types: dict[str, str]  # column -> "string" | "float" | "int" | "bool"
    targets: list[str]  # property names exported as target columns
    elements: list[str]  # elements with a frac_<El> column
    samples: set[str] = field(default_factory=set)  # samples that give at least one row
    n_rows: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)  # value column -> cells with competing values
    structure: dict[str, dict[str, Any]] = field(default_factory=dict)  # sample -> structure cells (filtered exports; else in the rows)
    spool: IO[bytes] | None = None  # the pickled row chunks (an unnamed temporary file)
    csv: bool = False  # the spool holds CSV cell texts (plan_export(for_csv=True)), not values

    def summary(self) -> dict[str, Any]:
        """Counts of the filtered export (what the CLI prints and the API sends as headers)."""
        return {"samples": len(self.samples), "rows": self.n_rows, "columns": len(self.columns),
                "conflicts": dict(sorted(self.conflicts.items()))}

    def close(self) -> None:
        """Drop the spooled rows (also done when the plan is garbage-collected)."""
        if self.spool:
            self.spool.close()
            self.spool = None


class _Pass:
    """What the plan pass accumulates over the samples of the selection."""

    def __init__(self, out: IO[bytes], structure_in_pass: bool, for_csv: bool) -> None:
        self.out = out
        self.for_csv = for_csv
        self.names: set[str] = set()
        self.elements: set[str] = set()
        self.component_keys: set[str] = set()
        self.rows_per_sample: dict[str, int] = {}
        self.conflicts: Counter = Counter()
        self.structure_in_pass = structure_in_pass
        self.pending = _ChunkColumns()

    def add(self, sample: Any, docs: list[dict]) -> None:
        """Place one sample's values into rows and spool them."""
        cells = C.assign(docs)
        temps = cells.temperatures()
        if not temps or not isinstance(sample, str):
            return
        self.rows_per_sample[sample] = len(temps)
        self.conflicts.update(cells.conflicts(len(temps)))
        seen_els, seen_keys = None, None
        for doc in docs:  # the documents of a sample mostly repeat the same lists: each read once
            els, keys = doc.get("elements"), doc.get("component_keys")
            if els and els != seen_els:
                self.elements.update(e for e in els if isinstance(e, str))
                seen_els = els
            if keys and keys != seen_keys:
                self.component_keys.update(k for k in keys if isinstance(k, str))
                seen_keys = keys
        self.names.update(cells.fixed)
        for by_name in cells.by_t.values():
            self.names.update(by_name)
        structure = self._structure(docs, len(temps)) if self.structure_in_pass else {}
        self.pending.add_sample(docs[0], cells, temps, structure)
        if self.pending.n >= SPOOL_ROWS:
            self.flush()

    def _structure(self, docs: list[dict], n_rows: int) -> dict[str, Any]:
        """The sample's structure cells from its own documents (the filter is empty: all were
        read), counted as conflicts on each of its rows like targets."""
        best, counts = C.best_per_name(d for d in docs if d.get("name") in _STRUCTURE_NAMES)
        for name, n in counts.items():
            if n > 1:
                self.conflicts[F.property_column(name)] += n_rows
        out: dict[str, Any] = {}
        for name, doc in best.items():
            out.update(C.cell_values(name, doc))
        return out

    def flush(self) -> None:
        """Spool the pending rows as one chunk: (n, {column: values or CSV texts}, sample ids,
        reduced formulas); columns without a value in the chunk are left out."""
        if not self.pending.n:
            return
        n, cols, samples, formulas = self.pending.chunk()
        if self.for_csv:
            cols = {c: csv_cells(v) for c, v in cols.items()}
        pickle.dump((n, cols, samples, formulas), self.out, protocol=pickle.HIGHEST_PROTOCOL)
        self.pending = _ChunkColumns()


_STRUCTURE_NAMES = frozenset(F.STRUCTURE_FEATURES)


def _read_selection(store, mongo_filter: dict, batch_size: int) -> Iterator[list[dict]]:
    """The selected documents sorted by sample, in lists, fetched ahead (``service.export.read``):
    all fields on nx-27017, in pages of whole samples when the filter is empty."""
    in_python = store.evaluates_in_python()
    return R.read_selection(store, mongo_filter, None if in_python else _ROW_PROJECTION, batch_size,
                            paged=in_python and not mongo_filter)


def plan_export(store, mongo_filter: dict, *, batch_size: int = R.READ_BATCH, for_csv: bool = False) -> ExportPlan:
    """Read the selection once: spool its rows, and fix its columns and summary.

    ``for_csv``: spool CSV cell texts, formatted while the reader thread waits for the server
    (``export_csv`` then only joins them); such a plan gives no values (``iter_chunks`` refuses it)."""
    # unnamed (O_TMPFILE where the system has it): nothing is left behind when the process is killed
    spool = tempfile.TemporaryFile(prefix="ionbase-export-", suffix=".pickle")
    try:
        acc = _Pass(spool, structure_in_pass=not mongo_filter, for_csv=for_csv)
        reader = _read_selection(store, mongo_filter, batch_size)
        try:
            for sample, docs in R.by_sample(reader):
                acc.add(sample, docs)
        finally:
            reader.close()
        acc.flush()
        spool.flush()
        samples = set(acc.rows_per_sample)
        if acc.structure_in_pass:  # an empty filter read every document: structure cells are in the rows
            structure, candidates = {}, {}
        else:
            structure, candidates = _structure_cells(_structure_docs(store, samples))
    except BaseException:
        spool.close()
        raise
    conflicts = acc.conflicts
    for sample, counts in candidates.items():  # repeated on every row of the sample: once per row
        for name, n in counts.items():
            if n > 1:
                conflicts[F.property_column(name)] += acc.rows_per_sample[sample]
    targets = sorted(acc.names, key=F.property_order)
    els = sorted(acc.elements, key=F.element_sort_key)
    types = _column_types(targets, els, sorted(acc.component_keys))
    plan = ExportPlan(columns=list(types), types=types, targets=targets, elements=els,
                      samples=samples, n_rows=sum(acc.rows_per_sample.values()),
                      conflicts=dict(conflicts), structure=structure, spool=spool, csv=for_csv)
    weakref.finalize(plan, spool.close)
    return plan


def _column_types(targets: list[str], els: list[str], component_keys: list[str]) -> dict[str, str]:
    types: dict[str, str] = {}
    for c in F.GROUP_COLUMNS:
        types[c] = "string"
    for c in TEMPERATURE_COLUMNS:
        types[c] = "float"
    for nm in targets:
        types.update(C.value_columns(nm))
    types["series_value"] = "float"
    for el in els:
        types[f"frac_{el}"] = "float"
    for c in F.COMPOSITION_STAT_COLUMNS:
        types[c] = "float"
    for key in component_keys:  # composites: fraction of each component, e.g. vol_pct_SiO2
        types[component_column(key)] = "float"
    for key in F.SYNTHESIS_FEATURES:
        col = F.SYNTHESIS_COLUMNS[key]
        types[col] = "bool" if key in F.SYNTHESIS_BOOLEANS else ("int" if key == "n_steps" else "float")
    for nm in F.STRUCTURE_FEATURES:
        types.update(C.value_columns(nm))
    return types


def component_column(key: str) -> str:
    """``vol:SiO2`` -> ``vol_pct_SiO2`` (the fraction, in percent, of that component)."""
    basis, _, formula = key.partition(":")
    return f"{basis}_pct_{formula}"


def _structure_docs(store, samples: set[str]) -> dict[str, list[dict]]:
    """sample id -> its exportable-or-not structure-feature documents (one more query)."""
    if not samples:
        return {}
    query: dict[str, Any] = {"name": {"$in": list(F.STRUCTURE_FEATURES)}}
    if len(samples) <= MAX_IN_IDS:
        query["sample"] = {"$in": sorted(samples)}
    docs_by_sample: dict[str, list[dict]] = {}
    for doc in store.properties.find(query, _VALUE_FIELDS):
        if doc.get("sample") in samples:
            docs_by_sample.setdefault(doc["sample"], []).append(doc)
    return docs_by_sample


def _structure_cells(docs_by_sample: dict[str, list[dict]]) -> tuple[dict[str, dict[str, Any]], dict[str, Counter]]:
    """sample id -> {structure column: value or companion} (best value per property, same rule
    as targets), and sample id -> candidates per property (for the conflict count)."""
    out: dict[str, dict[str, Any]] = {}
    counts: dict[str, Counter] = {}
    for sample, docs in docs_by_sample.items():
        best, n = C.best_per_name(docs)
        counts[sample] = n
        for name, doc in best.items():
            out.setdefault(sample, {}).update(C.cell_values(name, doc))
    return out, counts


def _base_cells(meta: dict, cells: C.SampleCells) -> dict[str, Any]:
    """The cells on every row of one sample (group labels, components, synthesis, values of
    temperature-independent properties), without empty ones."""
    base: dict[str, Any] = {
        "family": meta.get("family"), "doi": meta.get("doi"), "series_name": meta.get("series_name"),
        "material_id": meta.get("material_id"), "sample_id": meta.get("sample"),
        "sample_label": meta.get("sample_label"), "formula": meta.get("formula"),
        "reduced_formula": meta.get("reduced_formula"), "series_value": meta.get("series_value"),
    }
    for comp in meta.get("components") or []:
        base[component_column(f"{comp['basis']}:{comp['formula']}")] = comp["fraction"]
    base.update(F.synthesis_features(meta.get("synthesis")))
    for name, doc in cells.fixed.items():
        base.update(C.cell_values(name, doc))
    return {k: v for k, v in base.items() if v is not None}


class _ChunkColumns:
    """The rows of a chunk filled straight into columns (no dict per row): a cell on every row of
    a sample is one ``extend``; columns without a value stay out (None when read back)."""

    def __init__(self) -> None:
        self.cols: dict[str, list] = {}
        self.n = 0
        self.samples: list = []
        self.formulas: list = []

    def _put(self, key: str, value: Any, start: int, count: int) -> None:
        col = self.cols.get(key)
        if col is None:
            col = self.cols[key] = []
        if len(col) < start:
            col.extend(repeat(None, start - len(col)))
        col.extend(repeat(value, count))

    def _put_many(self, key: str, values: list, start: int) -> None:
        col = self.cols.get(key)
        if col is None:
            col = self.cols[key] = []
        if len(col) < start:
            col.extend(repeat(None, start - len(col)))
        col.extend(values)

    def add_sample(self, meta: dict, cells: C.SampleCells, temps: list[float | None], structure: dict[str, Any]) -> None:
        """The rows of one sample, one per temperature, with the structure cells given (composition
        and, unless given here, structure columns are added on reading)."""
        start, count = self.n, len(temps)
        for key, value in _base_cells(meta, cells).items():
            self._put(key, value, start, count)
        for key, value in structure.items():
            if value is not None:
                self._put(key, value, start, count)
        known = temps if temps[-1] is not None else temps[:-1]  # the empty temperature is last
        if known:  # one list per temperature column
            self._put_many("temperature_C", known, start)
            self._put_many("temperature_K", [round(t + 273.15, 2) for t in known], start)
        cols, by_t = self.cols, cells.by_t
        for i, t in enumerate(temps, start):
            by_name = by_t.get(t)
            if not by_name:
                continue
            for name, doc in by_name.items():
                for key, value in C.cell_values(name, doc).items():  # one cell: _put inlined
                    if value is None:
                        continue
                    col = cols.get(key)
                    if col is None:
                        col = cols[key] = [None] * i
                    elif len(col) > i:  # a column written twice in one row: the last value (a dict update)
                        col[i] = value
                        continue
                    elif len(col) < i:
                        col.extend(repeat(None, i - len(col)))
                    col.append(value)
        self.samples.extend(repeat(meta.get("sample"), count))
        self.formulas.extend(repeat(meta.get("reduced_formula"), count))
        self.n += count

    def chunk(self) -> tuple[int, dict[str, list], list, list]:
        """(n, {column: n values}, sample ids, reduced formulas)."""
        for col in self.cols.values():
            col.extend(repeat(None, self.n - len(col)))
        return self.n, self.cols, self.samples, self.formulas


def _composition(formula: str | None, plan: ExportPlan) -> dict[str, Any]:
    """frac_<El> and statistics; an element absent from a parsed formula is a known 0, an
    unparsable or missing formula leaves every composition column empty."""
    if not formula:
        return {}
    fracs, stats = F.composition_features(formula)
    if not fracs:
        return {}
    out: dict[str, Any] = {f"frac_{el}": 0.0 for el in plan.elements}
    for el, frac in fracs:
        if f"frac_{el}" in out:
            out[f"frac_{el}"] = frac
    out.update(stats)
    return out


def _composition_columns(plan: ExportPlan) -> list[str]:
    return [f"frac_{el}" for el in plan.elements] + list(F.COMPOSITION_STAT_COLUMNS)


def _structure_columns() -> list[str]:
    return [c for nm in F.STRUCTURE_FEATURES for c, _ in C.value_columns(nm)]


class _ChunkBuilder:
    """Turns spooled chunks into columns in the plan's order: the chunk's own columns, composition
    from a per-formula cache, structure features per sample; ``fmt`` formats the computed cells
    (CSV text) or keeps them (values)."""

    def __init__(self, plan: ExportPlan, fmt=None) -> None:
        self.plan = plan
        self.fmt = fmt
        self.comp_cols = _composition_columns(plan)
        self.struct_cols = _structure_columns()
        self.comp_pos = {c: i for i, c in enumerate(self.comp_cols)}
        self.struct_pos = {c: i for i, c in enumerate(self.struct_cols)}
        self.row_cols = set(plan.columns) - set(self.comp_pos)  # structure cells may be in the rows
        self.comp_cache: dict[Any, tuple] = {}
        self.empty = "" if fmt else None

    def _cells(self, values: Iterable) -> tuple:
        return tuple(map(self.fmt, values)) if self.fmt else tuple(values)

    def _comp(self, formula: Any) -> tuple:
        got = self.comp_cache.get(formula)
        if got is None:
            if len(self.comp_cache) > 50_000:  # bounded: many distinct formulas are computed again
                self.comp_cache.clear()
            values = _composition(formula, self.plan)
            got = self.comp_cache[formula] = self._cells(values.get(c) for c in self.comp_cols)
        return got

    def columns(self, chunk: tuple) -> Chunk:
        """(n, one list per plan column) for one spooled chunk."""
        n, cols, samples, formulas = chunk
        unplanned = cols.keys() - self.row_cols
        if unplanned:  # cannot happen: the plan's columns come from the same pass
            raise RuntimeError(f"export: columns {sorted(unplanned)} are not in the plan")
        comp = list(zip(*map(self._comp, formulas)))
        blank = [self.empty] * n
        structure = self.plan.structure
        by_sample = {s: self._cells(structure[s].get(c) for c in self.struct_cols) for s in set(samples)
                     if s in structure}  # a sample without structure cells: blank (most, and all of an empty filter)
        if by_sample:
            none = self._cells(repeat(None, len(self.struct_cols)))
            struct = list(zip(*(by_sample.get(s, none) for s in samples)))
        else:
            struct = [blank] * len(self.struct_cols)
        out: list[list] = []
        for c in self.plan.columns:
            if c in cols:
                out.append(cols[c])
            elif c in self.comp_pos:
                out.append(comp[self.comp_pos[c]])
            elif c in self.struct_pos:
                out.append(struct[self.struct_pos[c]])
            else:
                out.append(blank)
        return n, out


def _spooled(plan: ExportPlan) -> Iterator[tuple]:
    if not plan.spool:
        raise ValueError("the export plan was closed; plan the export again")
    fh = plan.spool
    fh.seek(0)  # one reading at a time per plan (each export streams it once)
    while True:
        try:
            yield pickle.load(fh)
        except EOFError:
            return


def iter_chunks(plan: ExportPlan) -> Iterator[Chunk]:
    """The plan's rows as column chunks ``(n, [values of each plan column])``, in row order."""
    if plan.csv:
        raise ValueError("this export plan spooled CSV text (for_csv=True): plan it again for values")
    builder = _ChunkBuilder(plan)
    for chunk in _spooled(plan):
        yield builder.columns(chunk)


def export_csv(plan: ExportPlan) -> Iterator[str]:
    """The plan's rows as CSV text, header first; fastest from a ``for_csv`` plan (cells formatted)."""
    yield csv_lines(1, [[csv_text(c)] for c in plan.columns])
    builder = _ChunkBuilder(plan, fmt=csv_text)
    for n, cols, samples, formulas in _spooled(plan):
        if not plan.csv:
            cols = {c: csv_cells(v) for c, v in cols.items()}
        yield csv_lines(*builder.columns((n, cols, samples, formulas)))


def build_rows(store, mongo_filter: dict, plan: ExportPlan | None = None) -> Iterator[dict]:
    """Stream export rows, one per (sample, temperature), for the property documents matching
    ``mongo_filter`` (a Mongo query on the ``properties`` collection). Every row holds every
    column of ``plan`` (computed here when not given), in the plan's order. The rows are those
    the plan spooled: its summary counts exactly what is streamed."""
    plan = plan or plan_export(store, mongo_filter)
    columns = plan.columns
    for _n, cols in iter_chunks(plan):
        for values in zip(*cols):
            yield dict(zip(columns, values))


def arrow_schema(plan: ExportPlan):
    """The pyarrow schema of an export (units are in the column names)."""
    return _arrow_schema(plan.columns, plan.types)


def export_parquet(plan: ExportPlan, sink: str | IO[bytes], *, row_group_size: int = 10_000) -> int:
    """Write the plan's rows to ``sink`` (path or binary file) in row groups; returns the row count."""
    return parquet_from_chunks(iter_chunks(plan), arrow_schema(plan), sink, row_group_size=row_group_size)


def export_parquet_stream(plan: ExportPlan, *, row_group_size: int = 10_000) -> Iterator[bytes]:
    """The plan's rows as Parquet bytes, yielded after each row group (the footer comes last)."""
    return parquet_stream_from_chunks(iter_chunks(plan), arrow_schema(plan), row_group_size=row_group_size)


def write_parquet(rows: Iterable[dict], plan: ExportPlan, sink: str | IO[bytes], *, row_group_size: int = 10_000) -> int:
    """Write row dicts to ``sink`` (path or binary file object) in row groups; returns the row count."""
    chunks = rows_to_chunks(rows, plan.columns, row_group_size)
    return parquet_from_chunks(chunks, arrow_schema(plan), sink, row_group_size=row_group_size)


def stream_parquet(rows: Iterable[dict], plan: ExportPlan, *, row_group_size: int = 10_000) -> Iterator[bytes]:
    """Parquet bytes of row dicts, yielded after each row group (the footer comes last)."""
    chunks = rows_to_chunks(rows, plan.columns, row_group_size)
    return parquet_stream_from_chunks(chunks, arrow_schema(plan), row_group_size=row_group_size)


FORMATS = ("csv", "jsonl", "parquet")
MIMETYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}
