"""A comma in a number: a decimal comma is read, a possible thousands separator is refused (issue 9).

``1,500`` may mean 1.5 (decimal comma) or 1500 (thousands separator); storing either silently would
be a wrong number half of the time, so the batch fails naming file, row and column.
"""

from __future__ import annotations


import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.parsers.errors import ParseError
from ionbase.ingest.parsers.numbers import DecimalMark
from tests.ingest.workbook import table_writer

HEAD = "# notebook: NB-COMMA\n"


_write = table_writer(HEAD)


@pytest.mark.parametrize("text,expected", [("0,031", "0.031"), ("12,5", "12.5"), ("1,5", "1.5"), ("-0,250", "-0.250"),
                                           ("1,2345", "1.2345"), ("1.500", "1.500"), ("1,5e-3", "1.5e-3")])
def test_decimal_comma(text, expected):
    assert DecimalMark(what="table").read(text, file=None, line=None, field=None) == expected


@pytest.mark.parametrize("text", ["1,500", "12,000", "-250,000", "999,999"])
def test_possible_thousands_separator_is_refused(text):
    with pytest.raises(ParseError, match="cannot tell whether"):
        DecimalMark(what="table").read(text, file=None, line=None, field=None)


def _fails(store, paths) -> list[str]:
    before = {c: store.db[c].count_documents({}) for c in store.db.list_collection_names()}
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run(paths)
    assert {c: store.db[c].count_documents({}) for c in store.db.list_collection_names()} == before
    return [str(i) for i in err.value.issues]


def test_thousands_separator_in_a_steps_table_fails_the_batch(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,rpm,duration (h)\nS1,1,ball_milling,\"1,500\",2\n")
    issues = _fails(store, [samples, steps])
    assert len(issues) == 1 and "steps.csv, row 3" in issues[0] and "column 'rpm'" in issues[0]
    assert "cannot tell whether '1,500' is 1.500 (decimal comma) or 1500 (thousands separator)" in issues[0]


def test_thousands_separator_in_a_property_value_fails_the_batch(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\n")
    props = _write(tmp_path, "properties.csv",
                   "sample,property,value (µS/cm),temperature (°C)\nS1,ionic_conductivity,\"1,200\",25\n")
    issues = _fails(store, [samples, props])
    assert len(issues) == 1 and "properties.csv, row 3" in issues[0] and "value (µS/cm)" in issues[0]


def test_decimal_commas_are_read(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,rpm,duration (h)\nS1,1,ball_milling,500,\"2,5\"\n")
    props = _write(tmp_path, "properties.csv",
                   "sample,property,value (mS/cm),temperature (°C)\nS1,ionic_conductivity,\"0,031\",25\n")
    Importer(store, ImportOptions()).run([samples, steps, props])
    prop = store.db.properties.find_one({"name": "ionic_conductivity"})
    assert prop["value"] == pytest.approx(3.1e-5, rel=1e-12)
    assert prop["synthesis"]["milling_time_h"] == 2.5


def test_a_bare_temperature_is_refused(store, tmp_path):
    """A temperature without a unit could be °C or K (25 K or 298 K?): refused in tables and records."""
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\n")
    props = _write(tmp_path, "properties.csv",
                   "sample,property,value (mS/cm),temperature\nS1,ionic_conductivity,0.5,25\n")
    issues = _fails(store, [samples, props])
    assert len(issues) == 1 and "properties.csv, row 3" in issues[0] and "temperature needs a unit" in issues[0]
    record = tmp_path / "lab.yaml"
    record.write_text("source: {notebook: NB-COMMA}\nsamples: [{label: S1, material: Na3InCl6}]\n"
                      "properties: [{sample: S1, name: ionic_conductivity, value: 0.5 mS/cm, conditions: {temperature: 25}}]\n")
    issues = _fails(store, [record])
    assert len(issues) == 1 and "lab.yaml" in issues[0] and "temperature" in issues[0] and "needs a unit" in issues[0]
    record.write_text(record.read_text().replace("temperature: 25}", "temperature: 25 °C}"))
    Importer(store, ImportOptions()).run([record])
    assert store.db.properties.find_one({"name": "ionic_conductivity"})["temperature_k"] == 298.15


def test_steps_table_errors_name_the_steps_file_row_and_column(store, tmp_path):
    """A bad cell of a steps table is reported at the steps table, not at the sample it belongs to."""
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,temperature,duration (h)\n"
                                          "S1,1,ball_milling,,2\nS1,2,annealing,300,2\n")
    issues = _fails(store, [samples, steps])
    assert len(issues) == 1 and issues[0].startswith("steps.csv, row 4, field 'temperature'"), issues
    assert "needs a unit" in issues[0]


def test_skip_invalid_never_keeps_a_route_with_a_step_missing(store, tmp_path):
    """With --skip-invalid, a sample whose anneal row is bad gets no steps from that table (route
    unknown), never a route without its anneal (which would read 'never annealed')."""
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\nS2,Na3InCl6\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,temperature,duration (h)\n"
                                          "S1,1,ball_milling,,2\nS1,2,annealing,600,2\n"
                                          "S2,1,ball_milling,,2\nS2,2,annealing,300 °C,2\n")
    report = Importer(store, ImportOptions(skip_invalid=True, rejected_dir=tmp_path / "rejects")).run([samples, steps])
    assert [e.row for e in report.errors] == [4]
    by_label = {s["label"]: s for s in store.db.samples.find()}
    routes = {r["_id"]: r for r in store.db.routes.find()}
    s1 = routes.get(by_label["S1"].get("route"), {}).get("summary", {"n_steps": 0})
    assert s1["n_steps"] == 0 and "anneal_ceiling_c" not in s1 and "milled" not in s1
    s2 = routes[by_label["S2"]["route"]]["summary"]
    assert s2["anneal_ceiling_c"] == 300.0 and s2["milling_time_h"] == 2.0
