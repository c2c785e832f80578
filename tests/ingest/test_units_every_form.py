"""Units in every input form, imported for real into the embedded store (issue 9, point 1).

The same quantity written as a YAML/JSON string or mapping, a CSV/XLSX header unit, a ``unit``
column, a ``units`` row or an inline ``"0.5 mS/cm"`` cell, in any compatible unit, is stored as the
same canonical number; a unit of the wrong dimension anywhere fails the whole batch, names file,
row and column, and writes nothing.
"""

from __future__ import annotations

import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from tests.ingest.unit_forms import FORMS, KINDS, WRONG, expected_location, express, write_form, write_samples

HYPO = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _clear(store) -> None:
    for name in store.db.list_collection_names():
        store.db[name].delete_many({})


def _counts(store) -> dict[str, int]:
    return {name: store.db[name].count_documents({}) for name in sorted(store.db.list_collection_names())}


def _canonical(kind: str, mantissa: int, exponent: int) -> tuple[Decimal, Decimal]:
    """A canonical value and an uncertainty a tenth of it, as exact decimals."""
    if kind == "temperature":
        value = Decimal(mantissa) / 100 + Decimal(50)  # 50 K .. 1050 K with two decimals
    else:
        value = Decimal(mantissa).scaleb(exponent)
    return value, (value / 10).normalize()


def _import_forms(store, folder: Path, kind: str, units: list[str], value: Decimal, unc: Decimal):
    paths = [write_samples(folder, FORMS)]
    for form, unit in zip(FORMS, units):
        paths.append(write_form(folder, form, form, express(kind, value, unc, unit)))
    return Importer(store, ImportOptions()).run(paths)


@given(kind=st.sampled_from(sorted(KINDS)), mantissa=st.integers(1, 99_999), exponent=st.integers(-9, -1),
       data=st.data())
@HYPO
def test_every_form_and_unit_stores_the_same_canonical_value(store, kind, mantissa, exponent, data):
    units = data.draw(st.lists(st.sampled_from(sorted(KINDS[kind][1])), min_size=len(FORMS), max_size=len(FORMS)))
    # inside the valid ranges (registry.VALID_RANGES): conductivity <= 1e3 S/cm, activation energy <= 5 eV
    value, unc = _canonical(kind, mantissa, min(exponent, -2) if kind == "conductivity" else -5)
    _clear(store)
    with tempfile.TemporaryDirectory() as tmp:
        report = _import_forms(store, Path(tmp), kind, units, value, unc)
    assert not report.errors
    docs = list(store.db.properties.find({"name": KINDS[kind][0]}))
    assert sorted(d["sample_label"] for d in docs) == sorted(FORMS)
    for d in docs:
        assert (d["value"], d["uncertainty"]) == (float(value), float(unc)), (d["sample_label"], d["entered"], units)
        assert d["entered"]  # what the user wrote is kept beside the canonical value


@given(kind=st.sampled_from(sorted(KINDS)), form=st.sampled_from(FORMS), data=st.data())
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_a_wrong_dimension_in_any_form_fails_the_batch_and_writes_nothing(store, kind, form, data):
    wrong = data.draw(st.sampled_from(WRONG[kind]))
    _check_poisoned_batch(store, kind, form, wrong)


@pytest.mark.parametrize("form", FORMS)
def test_each_form_names_file_row_and_column_of_a_wrong_unit(store, form):
    _check_poisoned_batch(store, "conductivity", form, "ohm")


def _check_poisoned_batch(store, kind: str, form: str, wrong: str) -> None:
    _clear(store)
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        Importer(store, ImportOptions()).run([write_samples(folder, FORMS)])
        before = _counts(store)
        canonical = sorted(KINDS[kind][1])[0]
        value, unc = _canonical(kind, 12_345, -6)
        paths = [write_form(folder, f, f, express(kind, value, unc, canonical)) for f in FORMS if f != form]
        bad = express(kind, value, unc, canonical)
        paths.append(write_form(folder, form, form, type(bad)(kind, wrong, bad.value, bad.uncertainty)))
        with pytest.raises(ImportFailed) as err:
            Importer(store, ImportOptions()).run(paths)
    assert _counts(store) == before
    issues = err.value.issues
    assert len(issues) == 1, [str(i) for i in issues]
    issue = issues[0]
    assert issue.file == paths[-1].name and wrong in issue.message, str(issue)
    row, column = expected_location(form, wrong)
    if column is not None:
        assert (issue.row, issue.column) == (row, column), str(issue)
        assert f"row {row}" in str(issue) and f"column '{column}'" in str(issue) and "table row" not in str(issue)
        assert ("sheet 'properties'" in str(issue)) == form.startswith("xlsx")
    else:  # a record file: the record and its field
        assert issue.field == "properties[0].value" and issue.record == "properties[0]", str(issue)
        if form.startswith("yaml"):
            assert issue.row is not None
