"""The spreadsheet template (CSV and XLSX) and instrument files linked by a manifest, imported for real."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.parsers import read_spectra

REPO = Path(__file__).resolve().parents[2]
TEMPLATES = REPO / "templates"
FIXTURES = REPO / "tests" / "data" / "eis" / "impedance_py"
TABLES = ["samples", "steps", "conductivity", "properties", "structures", "sites"]


def _run(store, paths, **kw):
    return Importer(store, ImportOptions(**kw)).run(paths)


def _check_template_data(store):
    db = store.db
    bm = db.samples.find_one({"label": "NIZC-0.5-BM"})
    a200 = db.samples.find_one({"label": "NIZC-0.5-BM-A200"})
    assert a200["parent"] == bm["_id"] and a200["source_key"] == "10.1000/example-lab-2026"
    route = db.routes.find_one({"_id": a200["route"]})
    assert [s["type"] for s in route["steps"]] == ["ball_milling", "annealing"]
    mill = route["steps"][0]["params"]
    assert (mill["rpm"], mill["duration"], mill["on_time"], mill["cycles"], mill["mill"]) == (500, 24.75, 15, 99, "Fritsch P7")
    assert route["steps"][1]["params"]["temperature"] == pytest.approx(473.15)
    sig = {p["temperature_c"]: p["value"] for p in db.properties.find({"name": "ionic_conductivity", "sample": bm["_id"]})}
    assert sig == {25.0: pytest.approx(3.1e-5), 40.0: pytest.approx(7.2e-5), 60.0: pytest.approx(1.8e-4)}
    ea = db.properties.find_one({"name": "activation_energy", "sample": bm["_id"]})
    assert ea["conditions"]["carrier"] == "ionic", "the carrier column of the properties table is a condition"
    assert (ea["value"], ea["uncertainty"], ea["source"]["figure"]) == (0.5, 0.02, "3b")
    mat = db.materials.find_one({"_id": bm["material"]})
    assert mat["series"] == {"name": "Na3-xIn1-xZrxCl6", "parameter": "x", "nominal": 0.5}
    st = db.structures.find_one({"sample": bm["_id"]})
    phase = st["phases"][0]
    assert phase["lattice"]["a"]["value"] == 6.402 and phase["lattice"]["a"]["uncertainty"] == pytest.approx(0.002)
    assert phase["lattice"]["beta"]["value"] == pytest.approx(91.42) and phase["space_group_number"] == 14
    assert phase["fit"] == {"Rw": 15.7} and st["source"]["table"] == "S3"
    assert sorted((s["label"], s["species"]["Na"], s["wyckoff"]) for s in phase["sites"]) == [("Na1", 0.62, "2b"), ("Na2", 0.95, "4e")]


def test_csv_template_tables_across_files(store):
    report = _run(store, [TEMPLATES / f"{t}.csv" for t in TABLES])
    assert report.counts["samples"]["new"] == 2 and not report.errors
    _check_template_data(store)
    again = _run(store, [TEMPLATES / f"{t}.csv" for t in TABLES])
    assert again.counts["total"]["new"] == 0 and again.counts["total"]["changed"] == 0


def test_xlsx_template_every_sheet(store):
    report = _run(store, [TEMPLATES / "ionbase-template.xlsx"])
    assert report.files[0].format == "xlsx" and report.counts["samples"]["new"] == 2
    _check_template_data(store)


def test_units_row_and_bad_cells(store, tmp_path):
    (tmp_path / "samples.csv").write_text("# notebook: NB-7 p.12\nlabel,formula\nS1,Na3InCl6\n")
    (tmp_path / "sigma.csv").write_text("# notebook: NB-7 p.12\nsample,T,sigma\nunits,K,mS/cm\nS1,298.15,0.05\nS1,310,abc\n")
    with pytest.raises(ImportFailed) as err:
        _run(store, [tmp_path / "samples.csv", tmp_path / "sigma.csv"])
    issue = [i for i in err.value.issues if i.file == "sigma.csv"][0]
    assert issue.row == 5 and issue.column == "sigma" and "abc" in issue.message
    assert str(issue) == "sigma.csv, row 5, column 'sigma': expected a number, got 'abc'"
    (tmp_path / "sigma.csv").write_text("# notebook: NB-7 p.12\nsample,T,sigma\nunits,K,mS/cm\nS1,298.15,0.05\n")
    _run(store, [tmp_path / "samples.csv", tmp_path / "sigma.csv"])
    assert store.db.properties.find_one({"name": "ionic_conductivity"})["value"] == pytest.approx(5e-5)


def test_manifest_links_real_instrument_files(store, tmp_path):
    for name in ("exampleDataBioLogic.mpt", "exampleDataGamry.DTA", "exampleDataZPlot.z", "exampleData.csv"):
        shutil.copy(FIXTURES / name, tmp_path / name)
    (tmp_path / "samples.csv").write_text("# notebook: NB-9\nlabel,formula,family\nP1,Na3InCl6,halide\n")
    (tmp_path / "manifest.csv").write_text(
        "# notebook: NB-9\n"
        "file,sample,kind,temperature (°C),thickness (µm),area (cm2),electrodes,label\n"
        "exampleDataBioLogic.mpt,P1,impedance_spectrum,25,500,0.785,Au|SE|Au,biologic\n"
        "exampleDataGamry.DTA,P1,impedance_spectrum,30,500,0.785,Au|SE|Au,gamry\n"
        "exampleDataZPlot.z,P1,impedance_spectrum,40,500,0.785,Au|SE|Au,zplot\n"
        "exampleData.csv,P1,impedance_spectrum,50,500,0.785,Au|SE|Au,csv\n"
    )
    report = _run(store, [tmp_path])  # a folder: instrument files are taken through the manifest
    assert not report.errors
    recs = {r["label"]: r for f in report.files for r in f.records if r["kind"] == "impedance_spectrum"}
    for label, name in (("biologic", "exampleDataBioLogic.mpt"), ("gamry", "exampleDataGamry.DTA"),
                        ("zplot", "exampleDataZPlot.z"), ("csv", "exampleData.csv")):
        spectra = read_spectra(FIXTURES / name)
        assert len(spectra) == 1
        m = store.db.measurements.find_one({"label": label})
        assert m["n_points"] == len(spectra[0].frequency_hz) == recs[label]["points"]
        chunk = store.db.measurement_arrays.find_one({"measurement": m["_id"], "chunk": 0})
        assert chunk["arrays"]["frequency"] == spectra[0].frequency_hz.tolist()
        assert chunk["arrays"]["z_imag"] == spectra[0].z_imag_ohm.tolist()
        assert m["file"]["name"] == name and len(m["file"]["sha256"]) == 64
        assert m["cell"]["thickness"]["value"] == 500.0
    batch = store.db.import_batches.find_one({"_id": report.batch_id})
    assert sorted(f["name"] for f in batch["files"]) == sorted(
        ["samples.csv", "manifest.csv", "exampleDataBioLogic.mpt", "exampleDataGamry.DTA", "exampleDataZPlot.z", "exampleData.csv"])


def test_unlinked_instrument_file_is_reported(store, tmp_path):
    shutil.copy(FIXTURES / "exampleDataGamry.DTA", tmp_path / "lonely.DTA")
    with pytest.raises(ImportFailed) as err:
        _run(store, [tmp_path])
    assert "not linked to a sample" in str(err.value)


INSTRUMENT = REPO / "tests" / "data" / "instrument"


def test_cycling_files_and_cif_through_records(store, settings, tmp_path):
    for name in ("synthetic_GCPL_3cycles.mpt", "cycling_summary.csv", "Mg3AsN_partial.cif"):
        shutil.copy(INSTRUMENT / name, tmp_path / name)
    (tmp_path / "lab.yaml").write_text(
        "source: {notebook: NB-CYC}\n"
        "samples:\n  - {label: C1, material: LiNi0.8Mn0.1Co0.1O2}\n  - {label: M1, material: Mg3AsN}\n"
        "measurements:\n"
        "  - {sample: C1, kind: galvanostatic_cycling, label: gcpl, file: synthetic_GCPL_3cycles.mpt, c_rate: '0.1 C'}\n"
        "  - {sample: C1, kind: galvanostatic_cycling, label: summary, file: cycling_summary.csv}\n"
        "structures:\n  - {sample: M1, method: xrd_rietveld, cif: Mg3AsN_partial.cif}\n"
    )
    _run(store, [tmp_path / "lab.yaml"])
    gcpl = store.db.measurements.find_one({"label": "gcpl"})
    cycles = gcpl["payload"]["cycles"]
    # 0.95 mA.h of discharge on 2.000 mg of active mass (the file's "Characteristic mass") = 475 mAh/g
    assert cycles[0]["discharge_capacity"]["value"] == pytest.approx(0.95 / 0.002)
    assert cycles[0]["discharge_capacity"]["entered"] == {"value": 0.95, "unit": "mA.h"}
    summary = store.db.measurements.find_one({"label": "summary"})["payload"]["cycles"]
    assert [c["discharge_capacity"]["value"] for c in summary] == [181.2, 182.9, 182.7, 182.4]
    phase = store.db.structures.find_one({})["phases"][0]
    assert phase["space_group_number"] == 221 and phase["lattice"]["a"]["value"] == 4.2307
    occ = {s["label"]: (s["species"], s["wyckoff"]) for s in phase["sites"]}
    assert occ["Mg1"] == ({"Mg": 0.97}, "3c") and occ["Li1"] == ({"Li": 0.03}, "3c"), "partial occupancies survive"
    # the cycling job turns the summary into retention and mean coulombic efficiency
    from ionbase.jobs.runner import run_jobs

    result = run_jobs(store, settings, job_names=["cycling"])
    assert result["jobs"]["cycling"]["computed"] == 2, result["errors"]
    ret = store.db.properties.find_one({"name": "capacity_retention", "measurement": None, "sample_label": "C1",
                                        "provenance.inputs": store.db.measurements.find_one({"label": "summary"})["_id"]})
    assert ret["value"] == pytest.approx(182.4 / 181.2 * 100) and ret["conditions"]["cycle_number"] == 4


def test_step_order_that_is_not_a_number_names_row_and_column(store, tmp_path):
    """A steps row whose 'step' cell is text is refused naming file, row and column (it used to
    escape as a bare ValueError), and nothing of the batch is written."""
    (tmp_path / "samples.csv").write_text("# notebook: NB-7 p.12\nlabel,formula\nS1,Na3InCl6\n")
    (tmp_path / "steps.csv").write_text("# notebook: NB-7 p.12\nsample,step,type,duration (h)\nS1,first,ball_milling,4\n")
    with pytest.raises(ImportFailed) as err:
        _run(store, [tmp_path / "samples.csv", tmp_path / "steps.csv"])
    issue = [i for i in err.value.issues if i.file == "steps.csv"][0]
    assert str(issue) == "steps.csv, row 3, column 'step': expected a number, got 'first'"
    assert store.db.samples.count_documents({}) == 0
