"""The columnar export (spooled chunks, CSV and Parquet written column by column) gives the values,
CSV text and Parquet table of the row-by-row reference (tests/export/reference.py), on the seed
data and on a generated set with hostile text, conflicts, composites and unparsable formulas; a
CSV cell holding CR, LF, quotes, commas and a formula character reads back with csv.reader."""

from __future__ import annotations

import csv
import io

import pytest

from ionbase.service.export import build_rows, export_csv, export_parquet, plan_export, write_csv
from tests.export.reference import reference_csv, reference_export


def assert_same_export(store, query: dict) -> int:
    import pyarrow.parquet as pq

    columns, ref_rows = reference_export(store, query)
    ref = list(ref_rows)
    plan = plan_export(store, query)
    assert plan.columns == columns
    assert list(build_rows(store, query, plan)) == ref
    expected = reference_csv(columns, ref)
    assert "".join(export_csv(plan)) == expected
    sink = io.BytesIO()
    assert export_parquet(plan, sink, row_group_size=500) == len(ref)
    assert pq.read_table(io.BytesIO(sink.getvalue())).to_pylist() == ref
    text_plan = plan_export(store, query, for_csv=True)
    assert "".join(export_csv(text_plan)) == expected
    with pytest.raises(ValueError, match="CSV text"):
        list(build_rows(store, query, text_plan))
    return len(ref)


@pytest.mark.parametrize("query", [{}, {"name": "ionic_conductivity", "family": "nanocomposite"}])
def test_seed_export_equals_row_by_row(seeded_store, query):
    assert assert_same_export(seeded_store, query) > 0


def test_generated_export_equals_row_by_row(store):
    from bench.bench_export import HOSTILE, fill

    assert fill(store.db, 2000, 8) >= 2000  # 200 samples, a few with competing or hostile values
    assert assert_same_export(store, {}) > 1500
    rows = list(csv.DictReader(io.StringIO("".join(export_csv(plan_export(store, {}, for_csv=True))))))
    hostile = [r for r in rows if r["sample_label"].startswith("'=cmd")]
    assert hostile and all(r["sample_label"].startswith("'" + HOSTILE) for r in hostile)
    assert {r["family"] for r in hostile} == {"'-family"} and {r["series_name"] for r in hostile} == {"'@series,\"x\"\r"}


def test_csv_cell_with_cr_lf_quotes_commas_round_trips():
    value = "=SUM(A1),\"x\"\r\nline\rtwo"
    rows = [{"label": value, "note": "plain", "x": -1.5}, {"label": "\r=1", "note": "a\rb", "x": None}]
    text = "".join(write_csv(rows, ["label", "note", "x"]))
    assert list(csv.reader(io.StringIO(text))) == [
        ["label", "note", "x"], ["'" + value, "plain", "-1.5"], ["'\r=1", "a\rb", ""]]


def test_numpy_scalars_are_written_as_numbers():
    """A numpy float64/int64 in a row is written as csv.writer writes the Python number."""
    import numpy as np

    assert "".join(write_csv([{"a": np.float64(0.25), "b": np.int64(3), "c": 1.5}])) == "a,b,c\n0.25,3,1.5\n"


def test_the_spool_has_no_name_so_a_killed_export_leaves_nothing(seeded_store, tmp_path, monkeypatch):
    """The rows are spooled to an unnamed file: a directory listing during the export shows nothing,
    so a process killed mid-export cannot leave a spool behind; the plan still streams its rows twice."""
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    plan = plan_export(seeded_store, {})
    try:
        assert list(tmp_path.iterdir()) == []
        first, again = "".join(export_csv(plan)), "".join(export_csv(plan))
        assert first == again and first.count("\n") == plan.n_rows + 1
    finally:
        plan.close()
