"""``--skip-invalid`` writes every refused table row out, as written, to be fixed and imported again.

Until 2026-12-02 a table row refused as it was read (a cell that is no number, a unit of the wrong
dimension, a row with too many cells, a bad steps row) was reported but written nowhere: with no
refused record beside it the CLI said "written to None", and with one the rejected file held the
record but not the rows.
"""

from __future__ import annotations

import csv
from pathlib import Path

import yaml
from click.testing import CliRunner

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.service.cli import main
from tests.ingest.workbook import table_writer, write_workbook

HEAD = "# notebook: NB-REJ\n"
SAMPLES = "label,formula\nR1,Na3InCl6\nR2,Na3InCl6\n"
PROPERTIES = ("sample,property,value,unit,temperature (°C)\n"
              "R1,ionic_conductivity,0.5,mS/cm,25\n"
              "R1,ionic_conductivity,0.6,K,30\n"             # row 4: a temperature is no conductivity
              "R2,ionic_conductivity,0.7,mS/cm,25,extra\n"   # row 5: one cell too many
              "R2,ionic_conductivity,0.8,mS/cm,30\n")


_write = table_writer(HEAD)


def _import(store, paths, rejects: Path):
    return Importer(store, ImportOptions(skip_invalid=True, rejected_dir=rejects)).run(paths)


def _rows(path: str | Path) -> tuple[list[str], list[list[str]]]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    comments = [line for line in lines if line.startswith("#") and not line.startswith("# rejected from ")]
    return comments, list(csv.reader(line for line in lines if not line.startswith("#")))


def test_refused_rows_of_a_streamed_table_are_written_as_read_and_import_again_once_fixed(store, tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    samples = _write(lab, "samples.csv", SAMPLES)
    props = _write(lab, "conductivities.csv", PROPERTIES)
    report = _import(store, [samples, props], tmp_path / "rejects")
    assert sorted(e.row for e in report.errors) == [4, 5]
    assert store.db.properties.count_documents({}) == 2
    assert report.errors_not_written == 0
    (written,) = report.rejected_files
    assert Path(written).name.endswith("-conductivities.csv")
    comments, rows = _rows(written)
    assert comments == ["# notebook: NB-REJ"]
    assert Path(written).read_text(encoding="utf-8").startswith(f"# rejected from conductivities.csv: {props}\n")
    assert rows == [["sample", "property", "value", "unit", "temperature (°C)"],
                    ["R1", "ionic_conductivity", "0.6", "K", "30"],
                    ["R2", "ionic_conductivity", "0.7", "mS/cm", "25", "extra"]]
    # fixed by hand, the file imports the two rows that were missing
    fixed = Path(written).read_text(encoding="utf-8").replace(",K,", ",mS/cm,").replace(",extra", "")
    Path(written).write_text(fixed, encoding="utf-8")
    again = Importer(store, ImportOptions()).run([samples, Path(written)])
    assert again.counts["properties"]["new"] == 2 and not again.errors
    values = sorted(d["value"] for d in store.db.properties.find({"name": "ionic_conductivity"}))
    assert values == [0.0005, 0.0006, 0.0007, 0.0008]  # S/cm


def test_a_bad_steps_row_writes_every_steps_row_of_its_sample(store, tmp_path):
    """The sample's other steps are left out too (a route without its anneal would read 'never annealed'),
    so all of them are written, and a units row with them. Until 2026-12-02 a steps row refused as its
    cells were read (here a kelvin temperature in a °C column) kept the sample's other steps: R1 was
    stored as milled and never annealed."""
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    steps = _write(tmp_path, "steps.csv", "sample,step,type,temperature,duration\nunits,,,°C,h\n"
                                          "R1,1,ball_milling,,2\nR2,1,ball_milling,,2\n"
                                          "R1,2,annealing,600 K,2\nR2,2,annealing,300,2\n")
    report = _import(store, [samples, steps], tmp_path / "rejects")
    assert [(e.row, e.field) for e in report.errors] == [(6, "temperature")]
    by_label = {s["label"]: s for s in store.db.samples.find()}
    routes = {r["_id"]: r for r in store.db.routes.find()}
    r1 = routes.get(by_label["R1"].get("route"), {}).get("summary", {"n_steps": 0})
    assert r1["n_steps"] == 0 and "milled" not in r1  # its ball milling is not kept without its anneal
    assert routes[by_label["R2"]["route"]]["summary"]["anneal_ceiling_c"] == 300.0
    (written,) = report.rejected_files
    _comments, rows = _rows(written)
    assert rows == [["sample", "step", "type", "temperature", "duration"], ["units", "", "", "°C", "h"],
                    ["R1", "1", "ball_milling", "", "2"], ["R1", "2", "annealing", "600 K", "2"]]


def test_records_and_workbook_rows_go_to_their_own_files_and_whole_file_errors_are_counted(store, tmp_path):
    lab = tmp_path / "lab"
    lab.mkdir()
    write_workbook(lab / "lab.xlsx", "NB-REJ", {
        "samples": [["label", "formula"], ["R1", "Na3InCl6"]],
        "properties": [["sample", "property", "value", "unit", "temperature (°C)"],
                       ["R1", "ionic_conductivity", 0.5, "mS/cm", 25],
                       ["R1", "ionic_conductivity", "abc", "mS/cm", 30]]})  # row 3: no number
    (lab / "notes.yaml").write_text("source: {notebook: NB-REJ}\nproperties:\n"
                                    "  - {sample: R9, name: ionic_conductivity, value: 1 mS/cm, conditions: {temperature: 25 °C}}\n")
    (lab / "stray.mpr").write_bytes(b"not linked by any record")  # an error about a whole file
    report = _import(store, [lab], tmp_path / "rejects")
    assert len(report.errors) == 3
    names = sorted(Path(f).name for f in report.rejected_files)
    assert len(names) == 2 and names[0].endswith("-lab-properties.csv") and names[1].endswith(".yaml"), names
    sheet_error = next(e for e in report.errors if e.file == "lab.xlsx")
    assert (sheet_error.row, sheet_error.sheet) == (3, "properties") and "(sheet 'properties')" in str(sheet_error)
    csv_file = next(f for f in report.rejected_files if f.endswith(".csv"))
    assert _rows(csv_file) == (["# notebook: NB-REJ"], [["sample", "property", "value", "unit", "temperature (°C)"],
                                                        ["R1", "ionic_conductivity", "abc", "mS/cm", "30"]])
    yaml_file = next(f for f in report.rejected_files if f.endswith(".yaml"))
    (doc,) = yaml.safe_load_all(Path(yaml_file).read_text())
    assert doc["properties"][0]["sample"] == "R9"
    assert report.errors_not_written == 1
    assert store.db.properties.count_documents({}) == 1


def test_cli_names_the_files_and_never_says_none(settings, tmp_path):
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    props = _write(tmp_path, "conductivities.csv", PROPERTIES)
    env = {"IONBASE_MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name}
    result = CliRunner().invoke(main, ["import", str(samples), str(props), "--skip-invalid", "--no-analyze", "--quiet",
                                       "--rejected-dir", str(tmp_path / "rejects")], env=env)
    assert result.exit_code == 0, result.output
    assert "None" not in result.output
    line = next(x for x in result.output.splitlines() if x.startswith("2 error(s)"))
    assert line.startswith("2 error(s); the rejected records and table rows are written to ")
    assert line.endswith("-conductivities.csv") and str(tmp_path / "rejects") in line


def test_tables_of_one_name_and_imports_of_one_second_never_overwrite_each_other(store, tmp_path, monkeypatch):
    import datetime as dt

    import ionbase.ingest.importer as importer

    monkeypatch.setattr(importer, "_now", lambda: dt.datetime(2026, 12, 2, 13, 0, 0))  # every import in one second
    paths = [_write(tmp_path, "samples.csv", SAMPLES)]
    for folder, bad in (("a", "0.6,K"), ("b", "0.9,eV")):
        (tmp_path / folder).mkdir()
        paths.append(_write(tmp_path / folder, "cond.csv", "sample,property,value,unit,temperature (°C)\n"
                                                           f"R1,ionic_conductivity,{bad},30\n"))
    rejects = tmp_path / "rejects"
    first = _import(store, paths, rejects)
    second = _import(store, paths, rejects)
    written = first.rejected_files + second.rejected_files
    assert len(written) == len(set(written)) == 4 and sorted(p.name for p in rejects.iterdir()) == sorted(
        Path(f).name for f in written)
    bad_rows = sorted(_rows(f)[1][1][2:4] == ["0.6", "K"] for f in written)
    assert bad_rows == [False, False, True, True]  # each import wrote a's row and b's row, none lost
    assert first.errors_not_written == second.errors_not_written == 0


def test_a_dry_run_writes_no_rejected_file(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    props = _write(tmp_path, "conductivities.csv", PROPERTIES)
    report = Importer(store, ImportOptions(skip_invalid=True, dry_run=True, rejected_dir=tmp_path / "rejects")).run(
        [samples, props])
    assert len(report.errors) == 2 and report.rejected_files == [] and not (tmp_path / "rejects").exists()


def test_a_rejected_dir_that_cannot_be_made_refuses_the_import_before_it_starts(store, tmp_path):
    from ionbase.ingest.errors import ImportFailed

    samples = _write(tmp_path, "samples.csv", SAMPLES)
    (tmp_path / "afile").write_text("a file, not a folder")
    try:
        _import(store, [samples], tmp_path / "afile" / "sub")
    except ImportFailed as exc:
        (issue,) = exc.issues
        assert issue.field == "--rejected-dir" and "Not a directory" in issue.message, str(issue)
    else:
        raise AssertionError("the import ran")
    assert store.db.import_batches.count_documents({}) == 0 and store.db.samples.count_documents({}) == 0


def test_errors_with_nothing_to_copy_are_counted_and_a_table_cut_short_says_so(store, tmp_path):
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h)\nGHOST,1,ball_milling,2\n")
    table = tmp_path / "conductivities.csv"
    table.write_bytes((HEAD + "sample,property,value,unit,temperature (°C)\nR1,ionic_conductivity,0.5,mS/cm,25\n"
                       "R1,ionic_conductivity,x,mS/cm,30\n").encode() + b"R2,ionic_conductivity,0.7,mS/cm,\xff\n"
                      + b"R2,ionic_conductivity,0.8,mS/cm,30\n")
    report = _import(store, [samples, steps, table], tmp_path / "rejects")
    text = sorted(str(e) for e in report.errors)
    assert len(text) == 3, text
    assert any("GHOST" in t and t.startswith("steps.csv, row 3") for t in text), text
    cut = next(t for t in text if "not UTF-8" in t)
    assert cut.startswith("conductivities.csv, row 5") and "the rows after it in this table were not read" in cut
    (written,) = report.rejected_files
    assert _rows(written)[1][1:] == [["R1", "ionic_conductivity", "x", "mS/cm", "30"]]
    assert report.errors_not_written == 2  # the steps of a sample no table defines, and the unreadable line


def test_a_bad_steps_row_drops_the_samples_steps_given_in_other_files_too(store, tmp_path):
    """Steps of one sample split over two tables: the bad anneal in one must not leave the milling of
    the other as a route that reads "never annealed" (it did until 2026-12-02)."""
    samples = _write(tmp_path, "samples.csv", SAMPLES)
    mill = _write(tmp_path, "steps_mill.csv", "sample,step,type,duration (h)\nR1,1,ball_milling,2\nR2,1,ball_milling,2\n")
    anneal = _write(tmp_path, "steps_anneal.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                                  "R1,2,annealing,2,600 K\nR2,2,annealing,2,300\n")
    report = _import(store, [samples, mill, anneal], tmp_path / "rejects")
    assert [(e.file, e.row) for e in report.errors] == [("steps_anneal.csv", 3)]
    by_label = {s["label"]: s for s in store.db.samples.find()}
    routes = {r["_id"]: r for r in store.db.routes.find()}
    r1 = routes.get(by_label["R1"].get("route"), {}).get("summary", {"n_steps": 0})
    assert r1["n_steps"] == 0 and "milled" not in r1
    r2 = routes[by_label["R2"]["route"]]["summary"]
    assert r2["n_steps"] == 2 and r2["anneal_ceiling_c"] == 300.0
    rows = {Path(f).name.split("-", 3)[-1]: _rows(f)[1][1:] for f in report.rejected_files}
    assert rows == {"steps_mill.csv": [["R1", "1", "ball_milling", "2"]],
                    "steps_anneal.csv": [["R1", "2", "annealing", "2", "600 K"]]}, rows
    assert report.errors_not_written == 0


def test_a_child_whose_steps_were_refused_does_not_take_its_parents_route(store, tmp_path):
    """The template's annealed child with a bad anneal row: its route is unknown, never its parent's
    milling alone (which read "never annealed"; review, 2026-12-02)."""
    samples = _write(tmp_path, "samples.csv", "label,formula,parent\nP1,Na3InCl6,\nC1,Na3InCl6,P1\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                          "P1,1,ball_milling,2,\nC1,1,annealing,1,hot\n")
    report = _import(store, [samples, steps], tmp_path / "rejects")
    assert [(e.row, e.field) for e in report.errors] == [(4, "temperature")]
    by_label = {s["label"]: s for s in store.db.samples.find()}
    routes = {r["_id"]: r for r in store.db.routes.find()}
    assert by_label["C1"]["parent"] == by_label["P1"]["_id"]
    c1 = routes[by_label["C1"]["route"]]["summary"]
    assert c1["n_steps"] == 0 and "milled" not in c1 and "annealed" not in c1, c1
    assert routes[by_label["P1"]["route"]]["summary"]["milled"] is True


def test_children_of_a_sample_whose_steps_were_refused_have_an_unknown_route_too(store, settings, tmp_path):
    """P1's anneal row is refused: C1 (milled 2 h, child of P1) and G1 (a child of C1 imported later,
    its parent found in the store) read "never annealed" from their own steps until 2026-12-02."""
    samples = _write(tmp_path, "samples.csv", "label,formula,parent\nP1,Na3InCl6,\nC1,Na3InCl6,P1\nOK,Na3InCl6,\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h),temperature (°C)\n"
                                          "P1,1,annealing,1,hot\nC1,1,ball_milling,2,\nOK,1,ball_milling,2,\n")
    report = _import(store, [samples, steps], tmp_path / "rejects")
    assert [(e.row, e.field) for e in report.errors] == [(3, "temperature")]
    later = _write(tmp_path, "later.csv", "label,formula,parent\nG1,Na3InCl6,C1\n")
    later_steps = _write(tmp_path, "later_steps.csv", "sample,step,type,duration (h)\nG1,1,ball_milling,1\n")
    assert not _import(store, [later, later_steps], tmp_path / "rejects").errors
    by_label = {s["label"]: s for s in store.db.samples.find()}
    for label in ("P1", "C1", "G1"):
        assert by_label[label].get("route_unknown") is True, label
        assert by_label[label]["summary"] == {}, label
    assert [s["type"] for s in by_label["C1"]["own_steps"]] == ["ball_milling"]  # as entered, kept
    assert "route_unknown" not in by_label["OK"] and by_label["OK"]["summary"]["anneal_ceiling_c"] == 25.0
    from ionbase.service.app import create_app

    client = create_app(settings, store=store).test_client()
    page = client.get(f"/samples/{by_label['G1']['_id']}").get_data(as_text=True)
    assert "Synthesis route unknown" in page and "No synthesis route recorded" not in page
    api = client.get(f"/api/v1/samples/{by_label['G1']['_id']}").get_json()
    assert api["route_unknown"] is True
    # an unknown route is neither "not annealed" nor "not milled" nor "0 steps" (it matched all three)
    for text in ('annealed="false"', 'milled="false"', "n_steps=0", "n_steps<2", "max_anneal_c<=300"):
        got = client.get("/api/v1/samples", query_string={"filter": text}).get_json()
        assert {s["label"] for s in got["data"]} <= {"OK"}, (text, got["data"])
    got = client.get("/api/v1/samples", query_string={"filter": 'annealed="false"'}).get_json()
    assert [s["label"] for s in got["data"]] == ["OK"]


def test_a_bad_steps_row_refuses_steps_of_the_sample_given_under_a_per_row_doi(store, tmp_path):
    """A workbook whose samples carry their own doi, its anneal row for S1 bad, and a CSV of that doi
    with S1's milling: the CSV's steps were kept (the refusal was keyed on the workbook's own source),
    and S1 read milled, never annealed, until 2026-12-02."""
    book = write_workbook(tmp_path / "book.xlsx", "NB-BOOK", {
        "samples": [["label", "formula", "doi"], ["S1", "Na3InCl6", "10.1000/per-row"]],
        "steps": [["sample", "step", "type", "duration (h)", "temperature (°C)"], ["S1", 2, "annealing", 1, "600 K"]]})
    mill = tmp_path / "mill.csv"
    mill.write_text("# doi: 10.1000/per-row\nsample,step,type,duration (h)\nS1,1,ball_milling,2\n", encoding="utf-8")
    report = _import(store, [book, mill], tmp_path / "rejects")
    assert [(e.file, e.sheet, e.row) for e in report.errors] == [("book.xlsx", "steps", 2)]
    s1 = store.db.samples.find_one({"label": "S1"})
    assert s1["source_key"] == "10.1000/per-row" and s1.get("route_unknown") is True
    assert s1["summary"] == {}
    rows = {Path(f).name.split("-", 3)[-1]: _rows(f)[1][1:] for f in report.rejected_files}
    assert rows == {"book-steps.csv": [["S1", "2", "annealing", "1", "600 K"]],
                    "mill.csv": [["S1", "1", "ball_milling", "2"]]}, rows


def test_a_sample_whose_only_steps_row_is_refused_passes_its_unknown_route_on(store, tmp_path):
    """With no other steps row left in its table, the refusal was not recorded on the sample (the join
    ran only while the table had steps), so its child, with steps in another file, read "never annealed"."""
    samples = _write(tmp_path, "samples.csv", "label,formula,parent\nP1,Na3InCl6,\nC1,Na3InCl6,P1\n")
    steps = _write(tmp_path, "steps.csv", "sample,step,type,duration (h),temperature (°C)\nP1,1,annealing,1,600 K\n")
    child = _write(tmp_path, "child_steps.csv", "sample,step,type,duration (h)\nC1,1,ball_milling,2\n")
    report = _import(store, [samples, steps, child], tmp_path / "rejects")
    assert [(e.file, e.row) for e in report.errors] == [("steps.csv", 3)]
    by_label = {s["label"]: s for s in store.db.samples.find()}
    assert by_label["P1"].get("route_unknown") is True and by_label["C1"].get("route_unknown") is True
    assert by_label["C1"]["summary"] == {}


def test_a_steps_table_with_a_doi_column_is_refused_and_its_rows_refusal_reaches_that_dois_sample(store, tmp_path):
    """A steps table whose rows carry their own doi: the column was dropped without a word, so a refused
    row's sample was looked up under the file's notebook, and F1 (and its child F2) of that doi kept
    the milling of another table: "milled, never annealed" (review, 2026-12-02). A doi column in a steps
    table is now refused on every row, under the row's own doi."""
    samples = tmp_path / "samples.csv"
    samples.write_text("# doi: 10.9999/nbf-test\nlabel,formula,parent\nF1,Na3InCl6,\nF2,Na3InCl6,F1\n", encoding="utf-8")
    bad = _write(tmp_path, "steps_bad.csv", "sample,doi,step,type,duration (h),temperature (°C)\n"
                                            "F1,10.9999/nbf-test,2,annealing,5,600\n")
    good = tmp_path / "steps_good.csv"
    good.write_text("# doi: 10.9999/nbf-test\nsample,step,type,duration (h)\nF1,1,ball_milling,2\nF2,1,ball_milling,1\n",
                    encoding="utf-8")
    report = _import(store, [samples, bad, good], tmp_path / "rejects")
    assert [(e.file, e.row, e.field) for e in report.errors] == [("steps_bad.csv", 3, "doi")], [str(e) for e in report.errors]
    assert "is not read in a steps table" in report.errors[0].message
    by_label = {s["label"]: s for s in store.db.samples.find()}
    for label in ("F1", "F2"):
        assert by_label[label].get("route_unknown") is True and by_label[label]["summary"] == {}, label
    rows = {Path(f).name.split("-", 3)[-1]: _rows(f)[1][1:] for f in report.rejected_files}
    assert rows == {"steps_bad.csv": [["F1", "10.9999/nbf-test", "2", "annealing", "5", "600"]],
                    "steps_good.csv": [["F1", "1", "ball_milling", "2"]]}, rows
