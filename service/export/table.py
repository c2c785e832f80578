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

One pass: ``plan_export`` reads the selected documents once (sorted by sample), builds the rows
and spools them (sparse, pickled) to a temporary file; at the end of the pass the columns and
the summary of the filtered selection (samples, rows, conflicts) are known, before the first row
is written. ``build_rows`` then streams the spooled rows with every column. One more query reads
the structure features. All reads go through the store's typed collections, which hide uncommitted batches. Only top-level fields are
projected (the embedded store returns dotted projections as flat keys). ``distinct`` is not
used: the embedded store ignores a ``$regex`` condition in it and answers for the whole collection.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import pickle
import tempfile
import weakref
from collections import Counter
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator

from ionbase.service.export import cells as C
from ionbase.service.export import features as F

TEMPERATURE_COLUMNS = ("temperature_C", "temperature_K")
#: a sample with more than this many ids is not looked up with $in (one scan by name instead)
MAX_IN_IDS = 2000

_VALUE_FIELDS = {
    "_id": 1, "sample": 1, "name": 1, "value": 1, "qualifier": 1, "origin": 1, "stale": 1, "uncertainty": 1,
    "temperature_c": 1, "source": 1, "provenance": 1, "flags": 1,
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
    and the spooled rows (a temporary file, removed when the plan is closed or collected)."""

    columns: list[str]
    types: dict[str, str]  # column -> "string" | "float" | "int" | "bool"
    targets: list[str]  # property names exported as target columns
    elements: list[str]  # elements with a frac_<El> column
    samples: set[str] = field(default_factory=set)  # samples that give at least one row
    n_rows: int = 0
    conflicts: dict[str, int] = field(default_factory=dict)  # value column -> cells with competing values
    structure: dict[str, dict[str, Any]] = field(default_factory=dict)  # sample -> structure cells
    spool: str | None = None  # path of the pickled sparse rows

    def summary(self) -> dict[str, Any]:
        """Counts of the filtered export (what the CLI prints and the API sends as headers)."""
        return {"samples": len(self.samples), "rows": self.n_rows, "columns": len(self.columns),
                "conflicts": dict(sorted(self.conflicts.items()))}

    def close(self) -> None:
        """Remove the spooled rows (also done when the plan is garbage-collected)."""
        if self.spool:
            _remove(self.spool)
            self.spool = None


def _remove(path: str) -> None:
    try:
        os.remove(path)
    except FileNotFoundError:
        pass


def _by_sample(cursor) -> Iterator[tuple[str, list[dict]]]:
    """Group a cursor sorted by sample into (sample, documents)."""
    current: str | None = None
    group: list[dict] = []
    for doc in cursor:
        sample = doc.get("sample")
        if sample != current and group:
            yield current, group
            group = []
        current = sample
        group.append(doc)
    if group:
        yield current, group


def plan_export(store, mongo_filter: dict, *, batch_size: int = 2000) -> ExportPlan:
    """Read the selection once: spool its rows, and fix its columns and summary."""
    names: set[str] = set()
    elements: set[str] = set()
    component_keys: set[str] = set()
    rows_per_sample: dict[str, int] = {}
    conflicts: Counter = Counter()
    fd, spool = tempfile.mkstemp(prefix="ionbase-export-", suffix=".pickle")
    try:
        with os.fdopen(fd, "wb") as out:
            cursor = store.properties.find(mongo_filter, _ROW_PROJECTION, sort=[("sample", 1)], batch_size=batch_size)
            for sample, docs in _by_sample(cursor):
                cells = C.assign(docs)
                temps = cells.temperatures()
                if not temps or not isinstance(sample, str):
                    continue
                rows_per_sample[sample] = len(temps)
                conflicts.update(cells.conflicts())
                for doc in docs:
                    elements.update(e for e in doc.get("elements") or [] if isinstance(e, str))
                    component_keys.update(k for k in doc.get("component_keys") or [] if isinstance(k, str))
                names.update(cells.fixed)
                for by_name in cells.by_t.values():
                    names.update(by_name)
                for row in _sparse_rows(docs[0], cells, temps):
                    pickle.dump(row, out, protocol=pickle.HIGHEST_PROTOCOL)
        structure, candidates = _structure_features(store, set(rows_per_sample))
    except BaseException:
        _remove(spool)
        raise
    for sample, counts in candidates.items():  # repeated on every row of the sample: once per row
        for name, n in counts.items():
            if n > 1:
                conflicts[F.property_column(name)] += rows_per_sample[sample]
    targets = sorted(names, key=F.property_order)
    els = sorted(elements, key=F.element_sort_key)
    types = _column_types(targets, els, sorted(component_keys))
    plan = ExportPlan(columns=list(types), types=types, targets=targets, elements=els,
                      samples=set(rows_per_sample), n_rows=sum(rows_per_sample.values()),
                      conflicts=dict(conflicts), structure=structure, spool=spool)
    weakref.finalize(plan, _remove, spool)
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


def _structure_features(store, samples: set[str]) -> tuple[dict[str, dict[str, Any]], dict[str, Counter]]:
    """sample id -> {structure column: value or companion} (best value per property, same rule
    as targets), and sample id -> candidates per property (for the conflict count)."""
    if not samples:
        return {}, {}
    query: dict[str, Any] = {"name": {"$in": list(F.STRUCTURE_FEATURES)}}
    if len(samples) <= MAX_IN_IDS:
        query["sample"] = {"$in": sorted(samples)}
    docs_by_sample: dict[str, list[dict]] = {}
    for doc in store.properties.find(query, _VALUE_FIELDS):
        if doc.get("sample") in samples:
            docs_by_sample.setdefault(doc["sample"], []).append(doc)
    out: dict[str, dict[str, Any]] = {}
    counts: dict[str, Counter] = {}
    for sample, docs in docs_by_sample.items():
        best, n = C.best_per_name(docs)
        counts[sample] = n
        for name, doc in best.items():
            out.setdefault(sample, {}).update(C.cell_values(name, doc))
    return out, counts


def _sparse_rows(meta: dict, cells: C.SampleCells, temps: list[float | None]) -> Iterator[dict]:
    """The rows of one sample without plan-dependent columns (composition, structure) and
    without empty cells; ``build_rows`` completes them."""
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
    base = {k: v for k, v in base.items() if v is not None}
    for t in temps:
        row = dict(base)
        if t is not None:
            row["temperature_C"] = t
            row["temperature_K"] = round(t + 273.15, 2)
        for name, doc in cells.by_t.get(t, {}).items():
            row.update(C.cell_values(name, doc))
        yield row


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


def build_rows(store, mongo_filter: dict, plan: ExportPlan | None = None) -> Iterator[dict]:
    """Stream export rows, one per (sample, temperature), for the property documents matching
    ``mongo_filter`` (a Mongo query on the ``properties`` collection). Every row holds every
    column of ``plan`` (computed here when not given), in the plan's order. The rows are those
    the plan spooled: its summary counts exactly what is streamed."""
    plan = plan or plan_export(store, mongo_filter)
    if not plan.spool:
        raise ValueError("the export plan was closed; plan the export again")
    empty = dict.fromkeys(plan.columns)
    known = set(plan.columns)
    with open(plan.spool, "rb") as fh:
        while True:
            try:
                sparse = pickle.load(fh)
            except EOFError:
                return
            row = dict(empty)
            row.update(_composition(sparse.get("reduced_formula"), plan))
            row.update(plan.structure.get(sparse["sample_id"], {}))
            unplanned = sparse.keys() - known
            if unplanned:  # cannot happen: the plan's columns come from the same pass
                raise RuntimeError(f"export: columns {sorted(unplanned)} are not in the plan")
            row.update(sparse)
            yield row


# ----------------------------------------------------------------------------- writers


#: a text cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def escape_formula(v: Any) -> Any:
    """A text cell a spreadsheet would run as a formula, prefixed with ``'`` (OWASP); other values as they are.

    Only strings: a number (``-0.52``) is written as the number it is. A lone sign (the qualifier
    ``=``, a ``-`` placeholder) carries no formula and is kept as it is."""
    if isinstance(v, str) and len(v) > 1 and v.startswith(FORMULA_START):
        return "'" + v
    return v


def _csv_value(v: Any) -> Any:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return escape_formula(v)


def write_csv(rows: Iterable[dict], columns: list[str] | None = None, *, flush_every: int = 256) -> Iterator[str]:
    """CSV text, header first; yields every ``flush_every`` lines (1 = strictly line by line).

    ``columns`` defaults to the keys of the first row (build_rows rows all share them)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    it = iter(rows)
    if columns is None:
        first = next(it, None)
        if first is None:
            return
        columns = list(first)
        it = _chain_one(first, it)
    writer.writerow([escape_formula(c) for c in columns])
    yield buf.getvalue()  # the header goes out at once
    buf.seek(0)
    buf.truncate()
    n = 0
    for row in it:
        writer.writerow([_csv_value(row.get(c)) for c in columns])
        n += 1
        if n % flush_every == 0:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    rest = buf.getvalue()
    if rest:
        yield rest


def _chain_one(first: dict, rest: Iterator[dict]) -> Iterator[dict]:
    yield first
    yield from rest


def _json_value(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return v


def write_jsonl(rows: Iterable[dict], columns: list[str] | None = None, *, flush_every: int = 256) -> Iterator[str]:
    """JSON Lines, one object per row with keys in column order."""
    chunk: list[str] = []
    for row in rows:
        keys = columns or list(row)
        chunk.append(json.dumps({k: _json_value(row.get(k)) for k in keys}, ensure_ascii=False, separators=(",", ":")))
        if len(chunk) >= flush_every:
            yield "\n".join(chunk) + "\n"
            chunk = []
    if chunk:
        yield "\n".join(chunk) + "\n"


def arrow_schema(plan: ExportPlan):
    """The pyarrow schema of an export (units are in the column names)."""
    import pyarrow as pa

    kinds = {"string": pa.string(), "float": pa.float64(), "int": pa.int64(), "bool": pa.bool_()}
    return pa.schema([pa.field(c, kinds[plan.types[c]]) for c in plan.columns])


def write_parquet(rows: Iterable[dict], plan: ExportPlan, sink: str | IO[bytes], *, row_group_size: int = 10_000) -> int:
    """Write rows to ``sink`` (path or binary file object) in row groups; returns the row count."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(plan)
    n = 0
    with pq.ParquetWriter(sink, schema, compression="zstd") as writer:
        batch: dict[str, list] = {c: [] for c in plan.columns}
        size = 0
        for row in rows:
            for c in plan.columns:
                batch[c].append(row.get(c))
            size += 1
            if size >= row_group_size:
                writer.write_table(pa.table(batch, schema=schema), row_group_size=row_group_size)
                n += size
                batch = {c: [] for c in plan.columns}
                size = 0
        if size or n == 0:
            writer.write_table(pa.table(batch, schema=schema), row_group_size=row_group_size)
            n += size
    return n


class _ChunkSink(io.RawIOBase):
    """A write-only binary stream that hands out what was written so far (for HTTP streaming)."""

    def __init__(self) -> None:
        super().__init__()
        self._chunks: list[bytes] = []
        self._pos = 0

    def writable(self) -> bool:
        return True

    def write(self, b) -> int:
        data = bytes(b)
        self._chunks.append(data)
        self._pos += len(data)
        return len(data)

    def tell(self) -> int:
        return self._pos

    def take(self) -> bytes:
        data = b"".join(self._chunks)
        self._chunks = []
        return data


def stream_parquet(rows: Iterable[dict], plan: ExportPlan, *, row_group_size: int = 10_000) -> Iterator[bytes]:
    """Parquet bytes, yielded after each row group (the footer comes last)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = arrow_schema(plan)
    sink = _ChunkSink()
    writer = pq.ParquetWriter(sink, schema, compression="zstd")
    try:
        batch: dict[str, list] = {c: [] for c in plan.columns}
        size = 0
        wrote = False
        for row in rows:
            for c in plan.columns:
                batch[c].append(row.get(c))
            size += 1
            if size >= row_group_size:
                writer.write_table(pa.table(batch, schema=schema), row_group_size=row_group_size)
                wrote = True
                batch = {c: [] for c in plan.columns}
                size = 0
                data = sink.take()
                if data:
                    yield data
        if size or not wrote:
            writer.write_table(pa.table(batch, schema=schema), row_group_size=row_group_size)
    finally:
        writer.close()
    data = sink.take()
    if data:
        yield data


FORMATS = ("csv", "jsonl", "parquet")
MIMETYPES = {"csv": "text/csv", "jsonl": "application/x-ndjson", "parquet": "application/vnd.apache.parquet"}
