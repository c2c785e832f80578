"""A made-up instrument format added as one module (plugins/ionbase_z.py), registered at run
time, and imported through ``ionbase import`` into the embedded store.

Nothing else in the code base names the format: detection order, the suffixes collected from
folders and the kind sets come from the class's own declarations.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from ionbase.ingest.parsers import ParseError, detect_format, parse_file, registry
from ionbase.ingest.parsers._base import TextInstrumentFile
from ionbase.service.cli import main

PLUGINS = Path(__file__).resolve().parent / "plugins"
REPO = Path(__file__).resolve().parents[2]
FIXTURES = [p for d in ("eis", "instrument") for p in sorted((REPO / "tests" / "data" / d).rglob("*"))
            if p.is_file() and p.suffix.lower() in registry.suffixes()]

# R0 + (R1 || C1): 100 ohm in series with 1000 ohm || 1 nF, 1 MHz .. 1 Hz, 5 points per decade
R0, R1, C1 = 100.0, 1000.0, 1e-9
FREQ = np.logspace(6, 0, 31)
Z = R0 + R1 / (1 + 2j * np.pi * FREQ * R1 * C1)


@pytest.fixture()
def ibz(monkeypatch):
    """The plugin class, registered for this test only."""
    monkeypatch.syspath_prepend(str(PLUGINS))
    import ionbase_z

    registry.register(ionbase_z.IonbaseZ)
    yield ionbase_z.IonbaseZ
    registry.unregister(ionbase_z.IonbaseZ.format)


def _write_lab(folder: Path) -> None:
    rows = "\n".join(f"{float(f)!r} {complex(z)!r}" for f, z in zip(FREQ, Z))
    (folder / "cell.ibz").write_text(f"IONBASE-Z v1\n# temperature_K: 333.15\nf Z\n{rows}\n")
    (folder / "lab.yaml").write_text(
        "source: {notebook: NB-IBZ p.1}\n"
        "samples:\n  - {label: Z1, material: Na3InCl6}\n"
        "measurements:\n"
        "  - {sample: Z1, kind: impedance_spectrum, label: ibz, file: cell.ibz,\n"
        "     cell: {electrodes: Au|SE|Au, thickness: 500 µm, area: 0.785 cm**2}}\n")


def _env(settings) -> dict:
    return {"IONBASE_MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name}


def _check_stored(store) -> None:
    m = store.db.measurements.find_one({"label": "ibz"})
    assert m is not None and m["file"]["format"] == "ionbase_z" and m["file"]["name"] == "cell.ibz"
    assert m["n_points"] == len(FREQ)
    assert m["temperature"]["value"] == pytest.approx(333.15), "temperature read from the file"
    chunk = store.db.measurement_arrays.find_one({"measurement": m["_id"], "chunk": 0})
    assert chunk["arrays"]["frequency"] == FREQ.tolist()
    assert chunk["arrays"]["z_real"] == Z.real.tolist()
    assert chunk["arrays"]["z_imag"] == Z.imag.tolist()
    assert min(chunk["arrays"]["z_imag"]) < 0, "Im(Z) of a capacitive arc kept negative"


def test_made_up_format_is_imported_through_ionbase_import(ibz, store, settings, tmp_path):
    _write_lab(tmp_path)
    assert detect_format(tmp_path / "cell.ibz") == "ionbase_z"
    assert ".ibz" in registry.suffixes() and "ionbase_z" in registry.formats_of_kind("impedance")
    # a folder: cell.ibz is collected because the class declares the suffix
    res = CliRunner().invoke(main, ["import", str(tmp_path), "--no-analyze", "--quiet"],
                             env=_env(settings))
    assert res.exit_code == 0, res.output
    _check_stored(store)


def test_without_registration_the_file_is_refused_and_nothing_written(store, settings, tmp_path):
    assert "ionbase_z" not in registry.format_names()
    _write_lab(tmp_path)
    res = CliRunner().invoke(main, ["import", str(tmp_path / "lab.yaml"), "--no-analyze", "--quiet"],
                             env=_env(settings))
    assert res.exit_code != 0
    assert "cell.ibz, line 1: unrecognised format" in res.output
    assert store.db.measurements.count_documents({}) == 0 and store.db.samples.count_documents({}) == 0


def test_entry_point_plugin_in_a_fresh_process(store, settings, tmp_path):
    """`python -m ionbase import` loads the class from the `ionbase.parsers` entry-point group."""
    site = tmp_path / "site"
    dist = site / "ionbase_z_plugin-1.0.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: ionbase-z-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[ionbase.parsers]\nionbase_z = ionbase_z:IonbaseZ\n")
    lab = tmp_path / "lab"
    lab.mkdir()
    _write_lab(lab)
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "IONBASE_MONGODB_URI": settings.mongodb_uri,
           "IONBASE_DB_NAME": settings.db_name, "IONBASE_DATA_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join([str(site), str(PLUGINS)])}
    out = subprocess.run([sys.executable, "-m", "ionbase", "import", str(lab), "--no-analyze", "--quiet"],
                         cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    _check_stored(store)


def test_registering_a_format_changes_no_existing_detection(ibz):
    registry.unregister(ibz.format)
    before = {p.name: _detected(p) for p in FIXTURES}
    registry.register(ibz)
    after = {p.name: _detected(p) for p in FIXTURES}
    assert len(before) >= 15 and before == after


def _detected(path: Path) -> str:
    try:
        return detect_format(path)
    except ParseError as exc:
        return f"error: {exc.message[:40]}"


def test_registry_refuses_ambiguous_declarations(ibz):
    class Clash(TextInstrumentFile):
        format = "clash"
        kinds = ("impedance",)
        priority = ibz.priority

    with pytest.raises(ValueError, match="priority 750 is already used by 'ionbase_z'"):
        registry.register(Clash)

    class SameName(TextInstrumentFile):
        format = "csv"
        kinds = ("impedance",)
        priority = 1

    with pytest.raises(ValueError, match="format 'csv' is already registered by DelimitedSpectra"):
        registry.register(SameName)

    class NoKinds(TextInstrumentFile):
        format = "nokinds"
        priority = 2

    with pytest.raises(ValueError, match="declares no 'kinds'"):
        registry.register(NoKinds)
    assert {"clash", "nokinds"}.isdisjoint(registry.format_names())


def test_plugin_errors_name_file_line_and_field(ibz, tmp_path):
    bad = tmp_path / "bad.ibz"
    bad.write_text("IONBASE-Z v1\nf Z\n1000 (100-5j)\n100 (abc-7j)\n")
    with pytest.raises(ParseError) as err:
        parse_file(bad)
    assert str(err.value) == ("bad.ibz, line 4, field 'Z': expected a complex impedance such as "
                              "(100-5j), got '(abc-7j)'")
