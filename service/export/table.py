"""The ML export table: one row per (sample, condition), streamed, and its CSV/JSONL/Parquet writers.

Row model
---------
* A *condition* is the measurement temperature rounded to 0.01 °C. Properties whose registry
  entry requires a temperature (conductivities, resistances) define the rows of a sample: one row
  per distinct rounded temperature. Every other property of the selection (activation energy,
  electrochemistry, ...) is temperature-independent and repeated on each row of its sample. A
  sample with no temperature-dependent values gives a single row with an empty temperature.
* Target columns are named ``<property>_<unit slug>`` in the canonical unit of the registry
  (``ionic_conductivity_S_per_cm``, ``activation_energy_eV``), in registry order. The six
  structure features have their own columns; lattice_b/c and the angles are not exported.
* When several values compete for one cell (a reported and a derived value, two phases, ...),
  the export takes, in this order: non-stale before stale, exact values before upper/lower
  bounds, reported before measured before derived, then the smallest document id. Stale derived
  values are never exported.
* Features: group labels for leakage-free splits, composition features from the reduced formula
  (pymatgen, cached per formula), the synthesis route summary, and structure features taken from
  the same sample's properties whatever the filter selected.

Column order is stable: groups, condition, targets, series value, composition (``frac_<El>``
by atomic number, then statistics), synthesis, structure.

Queries: three ``distinct`` calls (names, elements, sample ids) fix the columns before the first
row is written; one query for the structure features; one pass sorted by sample streams the rows.
All reads go through ``store.visible``. Only top-level fields are projected (the embedded store
returns dotted projections as flat keys).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import math
from dataclasses import dataclass, field
from typing import IO, Any, Iterable, Iterator

from service.export import features as F

log = logging.getLogger(__name__)

ORIGIN_RANK = {"reported": 0, "measured": 1, "derived": 2}
BOUNDS = ("upper_bound", "lower_bound")
TEMPERATURE_COLUMNS = ("temperature_C", "temperature_K")
#: a sample with more than this many ids is not looked up with $in (one scan by name instead)
MAX_IN_IDS = 2000

_ROW_PROJECTION = {
    "_id": 1, "sample": 1, "name": 1, "value": 1, "qualifier": 1, "origin": 1, "stale": 1,
    "temperature_c": 1, "family": 1, "doi": 1, "series_name": 1, "series_value": 1, "material_id": 1,
    "sample_label": 1, "reduced_formula": 1, "synthesis": 1, "components": 1,
}


@dataclass
class ExportPlan:
    """What the export will contain, known before the first row is streamed."""

    columns: list[str]
    types: dict[str, str]  # column -> "string" | "float" | "int" | "bool"
    targets: list[str]  # property names exported as target columns
    elements: list[str]  # elements with a frac_<El> column
    samples: set[str] = field(default_factory=set)


def plan_export(store, mongo_filter: dict) -> ExportPlan:
    """Which target properties, elements and samples the selection holds (three ``distinct``
    calls, answered by the server without shipping documents).

    No stale condition here: on the embedded store ``distinct`` with ``{"stale": {"$ne": True}}``
    drops documents that lack the field (``find`` does not). A name held only by stale values
    therefore gives an empty column; stale values themselves are skipped when rows are built.
    """
    query = store.visible(mongo_filter)
    coll = store.db.properties
    names = {n for n in coll.distinct("name", query) if isinstance(n, str)}
    elements = {e for e in coll.distinct("elements", query) if isinstance(e, str)}
    samples = {x for x in coll.distinct("sample", query) if isinstance(x, str)}
    component_keys = sorted(k for k in coll.distinct("component_keys", query) if isinstance(k, str))
    targets = sorted((nm for nm in names if nm in F.registry.PROPERTIES and nm not in F.STRUCTURE_FEATURES
                      and nm not in F.EXCLUDED_PROPERTIES),
                     key=F.property_order)
    els = sorted(elements, key=F.element_sort_key)
    types: dict[str, str] = {}
    for c in F.GROUP_COLUMNS:
        types[c] = "string"
    for c in TEMPERATURE_COLUMNS:
        types[c] = "float"
    for nm in targets:
        types[F.property_column(nm)] = "float"
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
        types[F.property_column(nm)] = "float"
    return ExportPlan(columns=list(types), types=types, targets=targets, elements=els, samples=samples)


def component_column(key: str) -> str:
    """``vol:SiO2`` -> ``vol_pct_SiO2`` (the fraction, in percent, of that component)."""
    basis, _, formula = key.partition(":")
    return f"{basis}_pct_{formula}"


def _priority(doc: dict) -> tuple:
    return (
        bool(doc.get("stale")),
        doc.get("qualifier") in BOUNDS,
        ORIGIN_RANK.get(doc.get("origin"), 3),
        str(doc.get("_id")),
    )


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _structure_features(store, samples: set[str]) -> dict[str, dict[str, float]]:
    """sample id -> {structure column: value}, best value per property (same rule as targets)."""
    query: dict[str, Any] = {"name": {"$in": list(F.STRUCTURE_FEATURES)}}
    if len(samples) <= MAX_IN_IDS:
        query["sample"] = {"$in": sorted(samples)}
    best: dict[tuple[str, str], dict] = {}
    proj = {"_id": 1, "sample": 1, "name": 1, "value": 1, "qualifier": 1, "origin": 1, "stale": 1}
    for doc in store.db.properties.find(store.visible(query), proj):
        if doc.get("sample") not in samples or doc.get("stale") or not _finite(doc.get("value")):
            continue
        key = (doc["sample"], doc["name"])
        if key not in best or _priority(doc) < _priority(best[key]):
            best[key] = doc
    out: dict[str, dict[str, float]] = {}
    for (sample, name), doc in best.items():
        out.setdefault(sample, {})[F.property_column(name)] = float(doc["value"])
    return out


def _rows_for_sample(docs: list[dict], plan: ExportPlan, structure: dict[str, float]) -> Iterator[dict]:
    """The rows of one sample from all its selected property documents."""
    targets = set(plan.targets)
    fixed: dict[str, dict] = {}  # temperature-independent: column -> best doc
    by_t: dict[float | None, dict[str, dict]] = {}
    meta = docs[0]
    for doc in docs:
        name = doc.get("name")
        if name not in targets or doc.get("stale") or not _finite(doc.get("value")):
            continue
        col = F.property_column(name)
        if F.is_temperature_dependent(name):
            t = doc.get("temperature_c")
            key = round(float(t), 2) if _finite(t) else None
            cells = by_t.setdefault(key, {})
        else:
            cells = fixed
        if col not in cells or _priority(doc) < _priority(cells[col]):
            cells[col] = doc
    if not by_t:
        if not fixed:
            return
        by_t = {None: {}}

    base: dict[str, Any] = {c: None for c in plan.columns}
    base.update({
        "family": meta.get("family"), "doi": meta.get("doi"), "series_name": meta.get("series_name"),
        "material_id": meta.get("material_id"), "sample_id": meta.get("sample"),
        "sample_label": meta.get("sample_label"), "reduced_formula": meta.get("reduced_formula"),
        "series_value": meta.get("series_value"),
    })
    formula = meta.get("reduced_formula")
    if formula:
        fracs, stats = F.composition_features(formula)
        for el in plan.elements:
            base[f"frac_{el}"] = 0.0
        for el, frac in fracs:
            col = f"frac_{el}"
            if col in base:
                base[col] = frac
        base.update(stats)
    for comp in meta.get("components") or []:
        col = component_column(f"{comp['basis']}:{comp['formula']}")
        if col in base:
            base[col] = comp["fraction"]
    base.update(F.synthesis_features(meta.get("synthesis")))
    base.update(structure)
    for col, doc in fixed.items():
        base[col] = float(doc["value"])

    for t in sorted(by_t, key=lambda v: (v is None, v if v is not None else 0.0)):
        row = dict(base)
        if t is not None:
            row["temperature_C"] = t
            row["temperature_K"] = round(t + 273.15, 2)
        for col, doc in by_t[t].items():
            row[col] = float(doc["value"])
        yield row


def build_rows(store, mongo_filter: dict, plan: ExportPlan | None = None, *, batch_size: int = 2000) -> Iterator[dict]:
    """Stream export rows, one per (sample, temperature), for the property documents matching
    ``mongo_filter`` (a Mongo query on the ``properties`` collection). Every row holds every
    column of ``plan`` (computed here when not given), in the plan's order."""
    plan = plan or plan_export(store, mongo_filter)
    if not plan.samples:
        return
    structure = _structure_features(store, plan.samples)
    cursor = (
        store.db.properties.find(store.visible(mongo_filter), _ROW_PROJECTION)
        .sort([("sample", 1)])
        .batch_size(batch_size)
    )
    current: str | None = None
    group: list[dict] = []
    for doc in cursor:
        sample = doc.get("sample")
        if sample not in plan.samples:  # plan and stream disagree (store gap): never emit unplanned rows
            log.warning("export: document %s of sample %s was not in the plan; skipped", doc.get("_id"), sample)
            continue
        if sample != current and group:
            yield from _rows_for_sample(group, plan, structure.get(current, {}))
            group = []
        current = sample
        group.append(doc)
    if group:
        yield from _rows_for_sample(group, plan, structure.get(current, {}))


# ----------------------------------------------------------------------------- writers


def _csv_value(v: Any) -> Any:
    if v is None:
        return ""
    if isinstance(v, bool):
        return "true" if v else "false"
    return v


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
    writer.writerow(columns)
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
