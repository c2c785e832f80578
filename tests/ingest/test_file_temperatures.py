"""A spectrum's temperature when its instrument file recorded one (reviewer's imp5): the file's
per-loop reading and the record's stated temperature must agree, else the record is refused naming
the file, the loops and the field; without a record temperature each loop keeps its own.

The multi-loop file is built from the real ``exampleDataBioLogic.mpt`` (impedance.py, MIT; 42 points,
one loop): its header, its column line with a ``Temperature/°C`` column appended, and its data rows
written three times with ``cycle number`` 1, 2, 3 and a temperature column reading about 60, 80 and
100 °C (+-0.05 °C of drift inside each loop), as an EC-Lab temperature-series export writes them.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

REAL = Path(__file__).parents[1] / "data" / "eis" / "impedance_py" / "exampleDataBioLogic.mpt"
CYCLE_COLUMN = 10  # 'cycle number' in the real file's column line


def temperature_series_mpt(path: Path, loops_c: list[float]) -> Path:
    """The real single-loop EC-Lab export as ``len(loops_c)`` loops, loop k at about ``loops_c[k]`` °C."""
    lines = REAL.read_text(encoding="latin-1").splitlines()
    n_header = int(lines[1].split(":")[1])
    header, rows = lines[: n_header - 1], [r for r in lines[n_header:] if r.strip()]
    out = header + [lines[n_header - 1].rstrip("\t") + "\tTemperature/°C"]
    for k, t_c in enumerate(loops_c):
        for j, row in enumerate(rows):
            fields = row.rstrip("\t").split("\t")
            fields[CYCLE_COLUMN] = f"{k + 1:.15E}"
            out.append("\t".join(fields + [f"{t_c + (0.05 if j % 2 else -0.05):.2f}"]))
    path.write_bytes(("\n".join(out) + "\n").encode("latin-1"))
    return path


def lab_file(path: Path, mpt: str, temperature: str | None) -> Path:
    meas = {"sample": "T-S", "kind": "impedance_spectrum", "file": mpt,
            "cell": {"thickness": "1000 µm", "area": "0.785 cm**2", "electrodes": "Au|SE|Au", "blocking": "ion"}}
    if temperature is not None:
        meas["temperature"] = temperature
    path.write_text(yaml.safe_dump({
        "ionbase_format": 1, "source": {"notebook": "TEMP-NB-1 p. 1"},
        "materials": [{"key": "LPSC", "formula": "Li6PS5Cl", "family": "sulfide"}],
        "samples": [{"label": "T-S", "material": "LPSC"}], "measurements": [meas]}, allow_unicode=True, sort_keys=False))
    return path


def test_record_temperature_that_the_loops_contradict_is_refused(store, tmp_path):
    """Three loops at 60/80/100 °C and a record saying 25 °C: refused, nothing written (before: three
    conductivities all stored at 25 °C)."""
    temperature_series_mpt(tmp_path / "tseries.mpt", [60.0, 80.0, 100.0])
    lab = lab_file(tmp_path / "lab.yaml", "tseries.mpt", "25 °C")
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run([lab])
    (issue,) = err.value.issues
    assert issue.file == "lab.yaml" and issue.field == "measurements[0].temperature"
    text = str(issue)
    assert "tseries.mpt" in text and "'Temperature/°C'" in text and "25.00 °C" in text
    for loop, t_c in ((0, "60.00"), (1, "80.00"), (2, "100.00")):
        assert f"loop {loop} reads {t_c} °C" in text
    assert store.db.measurements.count_documents({}) == 0


def test_one_loop_off_by_more_than_the_tolerance_is_refused(store, tmp_path):
    """A record temperature agreeing with two loops but not the third still names that loop."""
    temperature_series_mpt(tmp_path / "t.mpt", [25.0, 25.5, 28.0])
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run([lab_file(tmp_path / "lab.yaml", "t.mpt", "25 °C")])
    text = str(err.value.issues[0])
    assert "loop 2 reads 28.00 °C (3.00 K off, 2.05 K allowed)" in text and "loop 0" not in text and "loop 1" not in text


def test_loops_without_a_record_temperature_keep_their_own(store, settings, tmp_path):
    """No record temperature: each spectrum, and the conductivity the eis job derives from it, is at
    its own loop's temperature; the file's reading is kept in ``file.temperature_k``."""
    temperature_series_mpt(tmp_path / "tseries.mpt", [60.0, 80.0, 100.0])
    Importer(store, ImportOptions()).run([lab_file(tmp_path / "lab.yaml", "tseries.mpt", None)])
    ms = sorted(store.db.measurements.find({}), key=lambda m: m["file"]["loop"])
    assert [m["temperature"]["value"] for m in ms] == pytest.approx([333.15, 353.15, 373.15], abs=0.01)
    assert [m["file"]["temperature_k"] for m in ms] == pytest.approx([333.15, 353.15, 373.15], abs=0.01)
    assert ms[0]["temperature"]["entered"] == {"file": "tseries.mpt", "column": "Temperature/°C"}
    result = run_jobs(store, settings, job_names=["eis"])
    assert result["failed"] == 0, result["errors"]
    temps = sorted(p["temperature_k"] for p in store.db.properties.find({"name": "ionic_conductivity", "provenance.job": "eis"}))
    assert temps == pytest.approx([333.15, 353.15, 373.15], abs=0.01)


def test_agreeing_record_temperature_is_kept_with_the_file_reading_beside_it(store, tmp_path):
    """One loop at 25.4 °C and a record saying 25 °C agree (0.4 K < 2 K): the record's value is stored,
    the file's mean beside it."""
    temperature_series_mpt(tmp_path / "one.mpt", [25.4])
    Importer(store, ImportOptions()).run([lab_file(tmp_path / "lab.yaml", "one.mpt", "25 °C")])
    (m,) = store.db.measurements.find({})
    assert m["temperature"]["value"] == pytest.approx(298.15)
    assert m["file"]["temperature_k"] == pytest.approx(298.55, abs=0.01)
