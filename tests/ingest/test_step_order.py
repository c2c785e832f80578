"""A route's steps are in the order their step numbers give, however the tables split them.

Until 2026-12-02 these stored a route in the wrong order, without an error:

* a step numbered 0 was read as "no number" and sorted by its line, after step 1 (in a CSV and in a
  workbook alike), and a blank step cell did the same;
* steps of one sample given in two tables were joined in the order the files were named, whatever
  their numbers, and two tables that did not number them, or numbered two steps the same, were joined
  the same way.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from tests.ingest.workbook import table_writer, write_workbook

HEAD = "# notebook: NB-ORDER\n"
SAMPLES = "label,formula\nS1,Na3InCl6\nS2,Na3InCl6\n"


_write = table_writer(HEAD)


def _route(store, label: str) -> list[tuple[str, dict]]:
    smp = store.db.samples.find_one({"label": label})
    route = store.db.routes.find_one({"_id": smp["route"]})
    return [(s["type"], s["params"]) for s in route["steps"]]


def _failed(store, paths) -> list[str]:
    with pytest.raises(ImportFailed) as info:
        Importer(store, ImportOptions()).run(paths)
    assert store.db.samples.count_documents({}) == 0
    return [str(i) for i in info.value.issues]


def test_steps_in_two_tables_are_joined_by_their_numbers_not_the_file_order(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    anneal = _write(tmp_path, "a_anneal.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                              "S1,3,annealing,1,300\nS2,2,annealing,2,200\n")
    mill = _write(tmp_path, "b_mill.csv", "sample,step,type,duration (h)\nS1,1,ball_milling,2\nS1,2,ball_milling,4\n")
    Importer(store, ImportOptions()).run([samples, anneal, mill])
    assert [t for t, _p in _route(store, "S1")] == ["ball_milling", "ball_milling", "annealing"]
    assert [p["duration"] for _t, p in _route(store, "S1")] == [2.0, 4.0, 1.0]
    assert [t for t, _p in _route(store, "S2")] == ["annealing"]


def test_step_zero_comes_before_step_one_in_a_csv_and_in_a_workbook(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", "label,formula\nS1,Na3InCl6\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                          "S1,1,annealing,1,300\nS1,0,ball_milling,2,\n")
    Importer(store, ImportOptions()).run([samples, steps])
    assert [t for t, _p in _route(store, "S1")] == ["ball_milling", "annealing"]

    book = write_workbook(tmp_path / "book.xlsx", "NB-BOOK", {
        "samples": [["label", "formula"], ["W1", "Na3InCl6"]],
        "steps": [["sample", "step", "type", "duration (h)", "temperature (°C)"],
                  ["W1", 0, "ball_milling", 2, None], ["W1", 1, "annealing", 1, 300]]})
    Importer(store, ImportOptions()).run([book])
    assert [t for t, _p in _route(store, "W1")] == ["ball_milling", "annealing"]


def test_a_blank_step_number_is_refused_naming_its_row_and_column(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                          "S1,1,ball_milling,2,\nS1,,annealing,1,100\n")
    assert _failed(store, [samples, steps]) == [
        "steps.csv, row 4, column 'step': the 'step' cell is empty: a table that numbers its steps numbers every row"]


def test_split_steps_whose_order_is_unknown_are_refused(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    numbered = _write(tmp_path, "a.csv", "sample,step,type,duration (h)\nS1,1,ball_milling,2\n")
    unnumbered = _write(tmp_path, "b.csv", "sample,type,duration (h),temperature (°C)\nS1,annealing,1,300\n")
    (issue,) = _failed(store, [samples, numbered, unnumbered])
    assert issue.startswith("b.csv, row 3, field 'step': steps of sample 'S1' are given in more than one place")
    assert "this table does not number them" in issue
    (issue,) = _failed(store, [samples, unnumbered, numbered])
    assert issue.startswith("a.csv, row 3, field 'step'") and "those given before this table" in issue
    again = _write(tmp_path, "c.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                      "S1,5,annealing,1,300\nS1,1,annealing,1,300\n")
    (issue,) = _failed(store, [samples, numbered, again])  # the row of the number used twice
    assert issue.startswith("c.csv, row 4, field 'step': step 1 of sample 'S1' is numbered so in another table")
    record = tmp_path / "lab.yaml"
    record.write_text("source: {notebook: NB-ORDER}\nsamples:\n"
                      "  - {label: Y1, material: Na3InCl6, steps: [{type: ball_milling, duration: 2 h}]}\n")
    table = _write(tmp_path, "y.csv", "sample,step,type,duration (h)\nY1,2,annealing,1\n")
    (issue,) = _failed(store, [record, table])
    assert issue.startswith("y.csv, row 3, field 'step': steps of sample 'Y1' are given in more than one place")
    assert "with the sample's record, where steps have no numbers" in issue and "give all of its steps in one place" in issue


def test_with_skip_invalid_such_a_sample_keeps_no_steps_and_every_row_is_written_out(store, tmp_path):
    """The sample's route is unknown (not the steps of one table), its rows from both tables are in
    the rejected-rows files, and the other sample's route is whole."""
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    mill = _write(tmp_path, "a.csv", "sample,step,type,duration (h)\nS1,1,ball_milling,2\nS2,1,ball_milling,2\n")
    anneal = _write(tmp_path, "b.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                       "S2,2,annealing,1,300\nS1,1,annealing,1,300\n")
    rejects = tmp_path / "rejects"
    report = Importer(store, ImportOptions(skip_invalid=True, rejected_dir=rejects)).run([samples, mill, anneal])
    assert [(e.file, e.row, e.field) for e in report.errors] == [("b.csv", 4, "step")]
    per_file = {Path(f.path).name: [e["row"] for e in f.errors] for f in report.files}
    assert per_file["b.csv"] == [4] and per_file["a.csv"] == [], per_file  # (b.csv counted none until 2026-12-02)
    s1 = store.db.samples.find_one({"label": "S1"})
    assert s1["route_unknown"] is True and s1["summary"] == {}
    assert [t for t, _p in _route(store, "S2")] == ["ball_milling", "annealing"]
    written = {Path(f).name.split("-", 3)[-1]: Path(f).read_text(encoding="utf-8").splitlines()[-1]
               for f in report.rejected_files}
    assert written == {"a.csv": "S1,1,ball_milling,2", "b.csv": "S1,1,annealing,1,300"}, written
    assert report.errors_not_written == 0


def test_the_same_step_number_twice_in_one_table_is_refused(store, tmp_path):
    """S1's table numbers two anneals 2 (300 and 600 °C): which came first is unknown. Until 2026-12-03
    they were kept in row order, as across tables they are not (test above)."""
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                          "S1,1,ball_milling,2,\nS1,2,annealing,1,300\nS2,1,ball_milling,1,\n"
                                          "S1,2,annealing,1,600\nS2,2,annealing,1,200\n")
    assert _failed(store, [samples, steps]) == [
        "steps.csv, row 6, field 'step': step 2 of sample 'S1' is numbered so in row 4 too: the order of the two "
        "is unknown (number every step of a sample once)"]
    report = Importer(store, ImportOptions(skip_invalid=True, rejected_dir=tmp_path / "rejects")).run([samples, steps])
    assert [(e.row, e.field) for e in report.errors] == [(6, "step")]
    s1 = store.db.samples.find_one({"label": "S1"})
    assert s1["route_unknown"] is True and s1["steps_refused"] is True and s1["summary"] == {}
    assert [t for t, _p in _route(store, "S2")] == ["ball_milling", "annealing"]
    (written,) = report.rejected_files
    assert Path(written).read_text(encoding="utf-8").splitlines()[-3:] == [
        "S1,1,ball_milling,2,", "S1,2,annealing,1,300", "S1,2,annealing,1,600"]
