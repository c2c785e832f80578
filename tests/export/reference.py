"""A row-by-row reference of the ML export, to check the columnar path against (tests and
``bench/bench_export.py --check``; not used by the application).

It is the export as it was before the columnar path: the selection read twice (columns, then rows),
structure features always from their own query, one dict per row completed with every column, and
one ``csv.writer.writerow`` per row with the per-cell ``_csv_value``. Rules (``cells``, ``features``,
``table._composition``, column order) are shared: what is checked is the
assembly of the rows and the writing, not the rules.
"""

from __future__ import annotations

import csv
import io
from itertools import groupby
from typing import Any, Iterator

from ionbase.service.export import cells as C
from ionbase.service.export import table as T
from ionbase.service.export.writers import _csv_value

_PROJECTION = T._ROW_PROJECTION


def sparse_rows(meta: dict, cells: C.SampleCells, temps: list[float | None]) -> Iterator[dict]:
    """The rows of one sample as dicts, without plan-dependent columns (composition, structure)
    and without empty cells (the export's row builder before the columnar path)."""
    base: dict[str, Any] = {
        "family": meta.get("family"), "doi": meta.get("doi"), "series_name": meta.get("series_name"),
        "material_id": meta.get("material_id"), "sample_id": meta.get("sample"),
        "sample_label": meta.get("sample_label"), "formula": meta.get("formula"),
        "reduced_formula": meta.get("reduced_formula"), "series_value": meta.get("series_value"),
    }
    for comp in meta.get("components") or []:
        base[T.component_column(f"{comp['basis']}:{comp['formula']}")] = comp["fraction"]
    base.update(T.F.synthesis_features(meta.get("synthesis")))
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


def _samples(store, mongo_filter: dict) -> Iterator[tuple[str, list[dict], C.SampleCells, list]]:
    cursor = store.properties.find(mongo_filter, _PROJECTION, sort=[("sample", 1)])
    for sample, group in groupby(cursor, key=lambda d: d.get("sample")):
        docs = list(group)
        cells = C.assign(docs)
        temps = cells.temperatures()
        if temps and isinstance(sample, str):
            yield sample, docs, cells, temps


def reference_export(store, mongo_filter: dict) -> tuple[list[str], Iterator[dict]]:
    """(columns, rows) of the export, computed row by row."""
    names: set[str] = set()
    elements: set[str] = set()
    keys: set[str] = set()
    samples: set[str] = set()
    for sample, docs, cells, _temps in _samples(store, mongo_filter):
        samples.add(sample)
        names.update(cells.fixed)
        for by_name in cells.by_t.values():
            names.update(by_name)
        for doc in docs:
            elements.update(e for e in doc.get("elements") or [] if isinstance(e, str))
            keys.update(k for k in doc.get("component_keys") or [] if isinstance(k, str))
    targets = sorted(names, key=T.F.property_order)
    els = sorted(elements, key=T.F.element_sort_key)
    types = T._column_types(targets, els, sorted(keys))
    columns = list(types)
    structure, _ = T._structure_cells(T._structure_docs(store, samples))
    plan = T.ExportPlan(columns=columns, types=types, targets=targets, elements=els)

    def rows() -> Iterator[dict]:
        for sample, docs, cells, temps in _samples(store, mongo_filter):
            for sparse in sparse_rows(docs[0], cells, temps):
                row = dict.fromkeys(columns)
                row.update(T._composition(sparse.get("reduced_formula"), plan))
                row.update(structure.get(sample, {}))
                row.update(sparse)
                yield row

    return columns, rows()


def reference_csv(columns: list[str], rows) -> str:
    """CSV text written one row at a time (``\\n`` line ends; cells holding a CR quoted)."""
    buf = io.StringIO()
    plain = csv.writer(buf, lineterminator="\n")
    plain.writerow([_csv_value(c) for c in columns])
    for row in rows:
        cells = [_csv_value(row.get(c)) for c in columns]
        if any(isinstance(v, str) and "\r" in v for v in cells):
            one = io.StringIO()
            csv.writer(one, lineterminator="\r\n").writerow(cells)
            buf.write(one.getvalue()[:-2] + "\n")
        else:
            plain.writerow(cells)
    return buf.getvalue()
