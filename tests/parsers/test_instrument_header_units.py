"""Units in the column headers of instrument files are applied, never ignored (review: an Autolab/ZView
export with ``Z'(kOhm)`` was stored as 0.01379 ohm instead of 13.79 ohm, ``Freq (kHz)`` as 10 kHz).

The fixtures ``tests/data/instrument/*_kHz*`` / ``*_kOhm*`` are the real impedance.py files
(``tests/data/eis/impedance_py``) with only the header units changed (see
``tests/data/instrument/README.md``), so the stored numbers must be the original ones times 1000.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.parsers import ParseError, detect_format, read_spectra

DATA = Path(__file__).resolve().parents[1] / "data"
EIS = DATA / "eis" / "impedance_py"
DERIVED = DATA / "instrument"

# derived file, original file, format, factor on frequency, factor on Z
VARIANTS = [
    ("exampleDataAutolab_kOhm.txt", "exampleDataAutolab.txt", "zview_csv", 1.0, 1e3),
    ("exampleDataAutolab_kHz.txt", "exampleDataAutolab.txt", "zview_csv", 1e3, 1.0),
    ("exampleDataZPlot_kHz_kOhm.z", "exampleDataZPlot.z", "zplot", 1e3, 1e3),
    ("exampleDataGamry_kHz_kOhm.DTA", "exampleDataGamry.DTA", "gamry_dta", 1e3, 1e3),
    ("exampleDataVersaStudio_kHz_kOhm.par", "exampleDataVersaStudio.par", "versastudio_par", 1e3, 1e3),
    ("exampleDataBioLogic_kHz_kOhm.mpt", "exampleDataBioLogic.mpt", "biologic_mpt", 1e3, 1e3),
]


def _arrays(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    specs = read_spectra(path)
    return tuple(np.concatenate([getattr(s, k) for s in specs])
                 for k in ("frequency_hz", "z_real_ohm", "z_imag_ohm"))


@pytest.mark.parametrize("derived,original,fmt,kf,kz", VARIANTS, ids=[v[0] for v in VARIANTS])
def test_header_units_are_converted(derived, original, fmt, kf, kz):
    assert detect_format(DERIVED / derived) == fmt
    f, zr, zi = _arrays(DERIVED / derived)
    f0, zr0, zi0 = _arrays(EIS / original)
    np.testing.assert_allclose(f, f0 * kf, rtol=1e-12)
    np.testing.assert_allclose(zr, zr0 * kz, rtol=1e-12)
    np.testing.assert_allclose(zi, zi0 * kz, rtol=1e-12)


def test_autolab_kohm_first_point_is_13_79_ohm():
    (s,) = read_spectra(DERIVED / "exampleDataAutolab_kOhm.txt")
    assert s.frequency_hz[0] == 10000.0
    assert s.z_real_ohm[0] == pytest.approx(13.785863964281, rel=1e-12)
    assert s.z_imag_ohm[0] == pytest.approx(7.191946305823, rel=1e-12)
    assert s.metadata["columns"]["factors"] == {"frequency": 1.0, "z_real": 1000.0, "z_imag": 1000.0}
    (k,) = read_spectra(DERIVED / "exampleDataAutolab_kHz.txt")
    assert k.frequency_hz[0] == 1e7 and k.z_real_ohm[0] == 0.013785863964281


# --------------------------------------------------------------------------- wrong dimension

def _derive(tmp_path: Path, original: str, old: bytes, new: bytes, name: str | None = None) -> Path:
    data = (EIS / original).read_bytes()
    assert data.count(old) == 1
    out = tmp_path / (name or original)
    out.write_bytes(data.replace(old, new))
    return out


# original, header bytes replaced, replacement, line of the header, field named in the error
WRONG_DIMENSION = [
    ("exampleDataAutolab.txt", b"Z'(a)", b"Z'(V)", 11, "Z'(V)"),
    ("exampleDataAutolab.txt", b"Freq (Hz)", b"Freq (s)", 11, "Freq (s)"),
    ("exampleDataZPlot.z", b"Z''(b)\t", b"Z''(A)\t", 122, "Z''(A)"),
    ("exampleDataGamry.DTA", b"\ts\tHz\tohm\tohm\t", b"\ts\tHz\tV\tohm\t", 448, "Zreal"),
    ("exampleDataGamry.DTA", b"\ts\tHz\tohm\tohm\t", b"\ts\ts\tohm\tohm\t", 448, "Freq"),
    ("exampleDataVersaStudio.par", b"Z Real,", b"Z Real(Ohm cm2),", 116, "Z Real(Ohm cm2)"),
    ("exampleDataBioLogic.mpt", b"\tRe(Z)/Ohm\t", b"\tRe(Z)/V\t", 61, "Re(Z)/V"),
]


@pytest.mark.parametrize("original,old,new,line,field", WRONG_DIMENSION,
                         ids=[f"{w[0]}:{w[4]}" for w in WRONG_DIMENSION])
def test_a_unit_of_another_dimension_is_refused(tmp_path, original, old, new, line, field):
    path = _derive(tmp_path, original, old, new)
    with pytest.raises(ParseError) as err:
        read_spectra(path)
    e = err.value
    assert (e.file, e.line, e.field) == (str(path), line, field), str(e)
    assert "not a unit of" in str(e)


def test_gamry_units_line_without_a_unit_is_refused(tmp_path):
    path = _derive(tmp_path, "exampleDataGamry.DTA", b"\ts\tHz\tohm\tohm\t", b"\ts\t\tohm\tohm\t")
    with pytest.raises(ParseError, match="expected a unit for column 'Freq'") as err:
        read_spectra(path)
    assert (err.value.line, err.value.field) == (448, "Freq")


# --------------------------------------------------------------------------- ZView CSV column order

def _autolab_with_columns(tmp_path: Path, header: str, order: list[int]) -> Path:
    """The real Autolab export with its columns rewritten in ``order`` under ``header``."""
    lines = (EIS / "exampleDataAutolab.txt").read_text(encoding="utf-8-sig").splitlines()
    rows = [",".join(line.split(",")[i] for i in order) for line in lines[11:] if line.strip()]
    path = tmp_path / "autolab_reordered.txt"
    path.write_text("\n".join(lines[:10] + [f'"{header}"'] + rows) + "\n", encoding="utf-8")
    return path


def test_zview_csv_finds_reordered_columns_by_name(tmp_path):
    path = _autolab_with_columns(tmp_path, "Freq (Hz),Zreal_ohm,Zimag_ohm,Time(Sec),Ampl,Bias,GD,Err,Range",
                                 [0, 4, 5, 3, 1, 2, 6, 7, 8])
    f, zr, zi = _arrays(path)
    f0, zr0, zi0 = _arrays(EIS / "exampleDataAutolab.txt")
    assert zr[0] == 0.013785863964281
    np.testing.assert_array_equal(f, f0)
    np.testing.assert_array_equal(zr, zr0)
    np.testing.assert_array_equal(zi, zi0)
    path = _autolab_with_columns(tmp_path, "Freq (Hz),Zreal_kohm,Zimag_kohm,Time(Sec),Ampl,Bias,GD,Err,Range",
                                 [0, 4, 5, 3, 1, 2, 6, 7, 8])
    np.testing.assert_allclose(_arrays(path)[1], zr0 * 1e3, rtol=1e-12)


def test_zview_csv_header_not_understood_is_refused(tmp_path):
    header = "Freq (Hz),Resistance,Reactance,Time(Sec),Ampl,Bias,GD,Err,Range"
    path = _autolab_with_columns(tmp_path, header, [0, 4, 5, 3, 1, 2, 6, 7, 8])
    with pytest.raises(ParseError) as err:
        read_spectra(path)
    e, msg = err.value, str(err.value)
    assert (e.file, e.line, e.field) == (str(path), 11, "Z' (real part)")
    assert "columns seen: " + ", ".join(repr(c) for c in header.split(",")) in msg
    assert "Accepted spellings" in msg and "z''" in msg


# --------------------------------------------------------------------------- ZPlot column line

def test_zplot_without_column_line_uses_the_documented_order(tmp_path):
    path = _derive(tmp_path, "exampleDataZPlot.z",
                   b"  Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange\n", b"")
    f, zr, zi = _arrays(path)
    f0, zr0, zi0 = _arrays(EIS / "exampleDataZPlot.z")
    np.testing.assert_array_equal(np.stack([f, zr, zi]), np.stack([f0, zr0, zi0]))
    assert read_spectra(path)[0].metadata["columns"]["z_real"] == "column 5"


def test_zplot_column_line_not_understood_is_refused(tmp_path):
    path = _derive(tmp_path, "exampleDataZPlot.z", b"Z'(a)\tZ''(b)", b"R\tX")
    with pytest.raises(ParseError, match="columns seen: 'Freq\\(Hz\\)', 'Ampl'") as err:
        read_spectra(path)
    assert (err.value.line, err.value.field) == (122, "Z' (real part)")


def test_zplot_space_separated_column_line_is_read_not_skipped(tmp_path):
    path = _derive(tmp_path, "exampleDataZPlot.z", b"Freq(Hz)\tAmpl\tBias\tTime(Sec)\tZ'(a)\tZ''(b)\tGD\tErr\tRange",
                   b"Freq(Hz) Ampl Bias Time(Sec) Z'(kOhm) Z''(kOhm) GD Err Range")
    np.testing.assert_allclose(_arrays(path)[1], _arrays(EIS / "exampleDataZPlot.z")[1] * 1e3, rtol=1e-12)


# --------------------------------------------------------------------------- through the importer

def _stored(store, label: str) -> dict[str, np.ndarray]:
    m = store.db.measurements.find_one({"label": label})
    assert m is not None, label
    arrays: dict[str, list] = {k: [] for k in ("frequency", "z_real", "z_imag")}
    for chunk in store.db.measurement_arrays.find({"measurement": m["_id"]}).sort("chunk", 1):
        for k in arrays:
            arrays[k] += chunk["arrays"][k]
    return {k: np.array(v) for k, v in arrays.items()}


def test_import_stores_converted_spectra_and_conductivity(store, settings, tmp_path):
    from ionbase.jobs.runner import run_jobs

    files = {"orig": EIS / "exampleDataZPlot.z", "k": DERIVED / "exampleDataZPlot_kHz_kOhm.z",
             "autolab": DERIVED / "exampleDataAutolab_kOhm.txt", "gamry": DERIVED / "exampleDataGamry_kHz_kOhm.DTA"}
    for key, src in files.items():
        (tmp_path / f"{key}{src.suffix}").write_bytes(src.read_bytes())
    doc = {
        "source": {"notebook": "NB-HDR-UNITS"},
        "materials": [{"key": "LLZO", "formula": "Li7La3Zr2O12", "family": "oxide"}],
        "samples": [{"label": key, "material": "LLZO"} for key in files],
        "measurements": [{
            "sample": key, "kind": "impedance_spectrum", "label": key, "temperature": "25 °C",
            "file": f"{key}{src.suffix}",
            "cell": {"electrodes": "Au|SE|Au", "blocking": "ion", "thickness": "1000 µm", "area": "0.785 cm**2"},
        } for key, src in files.items()],
    }
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    report = Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])
    assert not report.errors
    for key, src, original in (("k", files["k"], "exampleDataZPlot.z"),
                               ("autolab", files["autolab"], "exampleDataAutolab.txt"),
                               ("gamry", files["gamry"], "exampleDataGamry.DTA")):
        stored, (f0, zr0, zi0) = _stored(store, key), _arrays(EIS / original)
        kf = 1.0 if key == "autolab" else 1e3
        np.testing.assert_allclose(stored["frequency"], f0 * kf, rtol=1e-12)
        np.testing.assert_allclose(stored["z_real"], zr0 * 1e3, rtol=1e-12)
        np.testing.assert_allclose(stored["z_imag"], zi0 * 1e3, rtol=1e-12)
    assert _stored(store, "autolab")["z_real"][0] == pytest.approx(13.785863964281, rel=1e-12)
    # same spectrum 1000x the impedance (and frequency): the derived conductivity is 1000x lower
    assert run_jobs(store, settings, job_names=["eis"])["failed"] == 0
    sigma = {key: store.db.properties.find_one({"sample_label": key, "name": "ionic_conductivity",
                                                "origin": "derived"}) for key in ("orig", "k")}
    assert sigma["orig"] is not None and sigma["k"] is not None
    assert sigma["k"]["value"] == pytest.approx(sigma["orig"]["value"] / 1e3, rel=1e-3)
