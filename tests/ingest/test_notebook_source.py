"""A lab notebook is one source across its pages: files written on different pages link by sample label."""

from __future__ import annotations

import pytest
from openpyxl import Workbook

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.schemas.build import sample_id


def _run(store, paths):
    return Importer(store, ImportOptions()).run(paths)


def _notebook_files(tmp_path):
    """Samples on p. 34 (CSV), conductivities on p. 35 (CSV), a property on p. 36 (YAML), one on p. 37 (XLSX),
    the milling of S1 on p. 38 (CSV steps table, merged into the sample)."""
    (tmp_path / "samples.csv").write_text(
        "# notebook: LAB-NB-12 p. 34\nlabel,formula,family\nS1,Li6PS5Cl,sulfide\nS2,Li6PS5Cl,sulfide\n")
    (tmp_path / "sigma.csv").write_text(
        "# notebook: LAB-NB-12 p. 35\nsample,T (°C),sigma (mS/cm),carrier,method\n"
        "S1,25,2.1,ionic,EIS\nS2,25,1.7,ionic,EIS\n")
    (tmp_path / "ea.yaml").write_text(
        "source: {notebook: 'LAB-NB-12, page 36'}\n"
        "properties:\n  - {sample: S1, name: activation_energy, value: '0.33 eV'}\n")
    (tmp_path / "steps.csv").write_text(
        "# notebook: LAB-NB-12 p. 38\nsample,step,type,rpm,duration (h)\nS1,1,ball_milling,500,12\n")
    wb = Workbook()
    ws = wb.active
    ws.title = "source"
    ws.append(["notebook", "LAB-NB-12 p. 37"])
    props = wb.create_sheet("properties")
    props.append(["sample", "property", "value", "unit", "method"])
    props.append(["S2", "activation_energy", 0.36, "eV", "EIS"])
    wb.save(tmp_path / "ea2.xlsx")
    return [tmp_path / n for n in ("samples.csv", "steps.csv", "sigma.csv", "ea.yaml", "ea2.xlsx")]


def test_pages_of_one_notebook_link_and_keep_their_page(store, tmp_path):
    report = _run(store, _notebook_files(tmp_path))
    assert not report.errors
    db = store.db
    samples = {s["label"]: s for s in db.samples.find({})}
    assert set(samples) == {"S1", "S2"}
    for label, s in samples.items():
        assert s["source_key"] == "LAB-NB-12" and s["_id"] == sample_id("LAB-NB-12", label)
        assert s["source"] == {"notebook": "LAB-NB-12", "page": "34"}
    route = db.routes.find_one({"_id": samples["S1"]["route"]})
    assert [(st["type"], st["params"]["duration"]) for st in route["steps"]] == [("ball_milling", 12.0)]
    sigma = {(p["sample"], p["source"]["page"]): p["value"] for p in db.properties.find({"name": "ionic_conductivity"})}
    assert sigma == {(samples["S1"]["_id"], "35"): pytest.approx(2.1e-3), (samples["S2"]["_id"], "35"): pytest.approx(1.7e-3)}
    ea = {p["sample"]: (p["value"], p["source"]) for p in db.properties.find({"name": "activation_energy"})}
    assert ea == {samples["S1"]["_id"]: (pytest.approx(0.33), {"notebook": "LAB-NB-12", "page": "36"}),
                  samples["S2"]["_id"]: (pytest.approx(0.36), {"notebook": "LAB-NB-12", "page": "37"})}


def test_a_later_page_in_a_later_import_finds_the_stored_samples(store, tmp_path):
    files = _notebook_files(tmp_path)
    _run(store, files[:2])
    report = _run(store, files[2:])
    assert not report.errors and store.db.samples.count_documents({}) == 2
    pages = sorted(p["source"]["page"] for p in store.db.properties.find({}))
    assert pages == ["35", "35", "36", "37"]


def test_a_row_page_refines_the_file_page_and_a_contradiction_is_refused(store, tmp_path):
    files = _notebook_files(tmp_path)
    (tmp_path / "sigma.csv").write_text(
        "# notebook: LAB-NB-12 p. 35\nsample,T (°C),sigma (mS/cm),page\nS1,25,2.1,41\n")
    _run(store, [files[0], tmp_path / "sigma.csv"])
    assert store.db.properties.find_one({"name": "ionic_conductivity"})["source"]["page"] == "41"
    (tmp_path / "bad.yaml").write_text(
        "source: {notebook: 'LAB-NB-12 p. 36', page: 40}\n"
        "properties:\n  - {sample: S1, name: activation_energy, value: '0.33 eV'}\n")
    with pytest.raises(ImportFailed) as err:
        _run(store, [tmp_path / "bad.yaml"])
    issue = err.value.issues[0]
    assert issue.file == "bad.yaml" and "page 36" in issue.message and "'40'" in issue.message
    assert store.db.properties.count_documents({"name": "activation_energy"}) == 0
