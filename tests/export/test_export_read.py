"""The export's paged read (service/export/read.py): pages of whole samples give the documents of
one sorted query, each once, whatever the page sizes (a sample cut by a page, a sample larger than
a page); documents whose sample is not a string (they give no rows) are left out; the export read
in small pages equals the row-by-row reference."""

from __future__ import annotations

from itertools import groupby

import pytest

from ionbase.service.export import read as R
from tests.export.test_export_columnar import assert_same_export

ODD = [  # documents whose sample is not a string: never exported
    {"_id": "odd-int", "sample": 5}, {"_id": "odd-none", "sample": None}, {"_id": "odd-missing"},
]


def _fill(store, n_docs: int) -> None:
    from bench.bench_export import fill

    fill(store.db, n_docs, 8)
    store.db.properties.insert_many([{**d, "name": "ionic_conductivity", "unit": "S/cm", "value": 1e-3,
                                      "temperature_c": 25.0, "origin": "reported", "batch_id": "bench"} for d in ODD])


def _groups(docs) -> list[tuple[str, list[str]]]:
    return [(s, sorted(d["_id"] for d in g)) for s, g in groupby(docs, key=lambda d: d.get("sample"))]


@pytest.mark.parametrize("sizes", [(3,), (7,), (4, 11, 50), (10_000,)])
def test_pages_give_the_sorted_selection_once(store, sizes):
    _fill(store, 400)
    single = [d for d in store.properties.find({}, sort=[("sample", 1)]) if isinstance(d.get("sample"), str)]
    paged = [d for page in R._pages(store, {}, None, sizes) for d in page]
    assert len(paged) == len(single) == len({d["_id"] for d in paged})
    assert _groups(paged) == _groups(single)


def test_export_read_in_small_pages_equals_row_by_row(store, monkeypatch):
    _fill(store, 600)
    assert store.evaluates_in_python()  # the embedded server: an empty filter is read in pages
    monkeypatch.setattr(R, "PAGE_SIZES", (3, 7, 20))
    assert assert_same_export(store, {}) > 400


def test_a_failing_read_is_raised_in_the_caller():
    def pages():
        yield [{"sample": "a"}]
        raise RuntimeError("server went away")

    reader = R.read_ahead(pages(), 2)
    assert next(reader) == [{"sample": "a"}]
    with pytest.raises(RuntimeError, match="went away"):
        next(reader)
