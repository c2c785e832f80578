"""Acceptance: every real instrument file parses to exactly the points it holds, with the
file's numbers (sign convention: z_imag_ohm = Im(Z)).  The expected values come from small
independent readers written here, not from the parser code."""

import re

from pathlib import Path

import numpy as np
import pytest

from ionbase.ingest.parsers import detect_format, parse_file, read_spectra

# Real instrument files, copied into tests/data/ with their licences (tests/data/eis/README.md).
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data"
EIS = FIXTURES / "eis" / "impedance_py"
DATA = REPO / "tests" / "data" / "instrument"


def _floats(rows, cols):
    return [np.array([float(r[c]) for r in rows]) for c in cols]


def indep_csv():
    rows = [l.split(",") for l in (EIS / "exampleData.csv").read_text().splitlines() if l.strip()]
    f, re_, im = _floats(rows, (0, 1, 2))
    return f, re_, im


def indep_biologic_mpt():
    lines = (EIS / "exampleDataBioLogic.mpt").read_text(encoding="latin-1").splitlines()
    n = int(lines[1].split(":")[1])
    head = lines[n - 1].split("\t")
    assert head[:3] == ["freq/Hz", "Re(Z)/Ohm", "-Im(Z)/Ohm"]
    rows = [l.split("\t") for l in lines[n:] if l.strip()]
    f, re_, mim = _floats(rows, (0, 1, 2))
    return f, re_, -mim  # file stores -Im(Z)


def indep_gamry():
    lines = (EIS / "exampleDataGamry.DTA").read_text(encoding="latin-1").splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("ZCURVE"))
    assert lines[start + 1].split("\t")[3:6] == ["Freq", "Zreal", "Zimag"]
    rows = []
    for l in lines[start + 3:]:
        if not l.startswith("\t"):
            break
        rows.append(l.split("\t"))
    return _floats(rows, (3, 4, 5))  # Gamry stores Im(Z) as is


def indep_zplot():
    lines = (EIS / "exampleDataZPlot.z").read_text().splitlines()
    start = lines.index("End Comments")
    assert lines[start - 1].split("\t")[4:6] == ["Z'(a)", "Z''(b)"]
    rows = [l.split("\t") for l in lines[start + 1:] if l.strip()]
    return _floats(rows, (0, 4, 5))  # Z''(b) is Im(Z): negative on the capacitive arc


def indep_autolab():
    lines = (EIS / "exampleDataAutolab.txt").read_text(encoding="utf-8-sig").splitlines()
    start = next(i for i, l in enumerate(lines) if "Freq" in l)
    rows = [l.split(",") for l in lines[start + 1:] if l.strip()]
    return _floats(rows, (0, 4, 5))


def indep_parstat():
    lines = (EIS / "exampleDataParstat.txt").read_text().splitlines()
    assert lines[0].split("\t")[3:6] == ["Frequency (Hz)", "Zre (ohms)", "Zim (ohms)"]
    rows = [l.split("\t") for l in lines[1:] if l.strip() and float(l.split("\t")[3]) != 0]
    return _floats(rows, (3, 4, 5))


def indep_chi():
    lines = (EIS / "exampleDataCHInstruments.txt").read_text().splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith("Freq/Hz"))
    rows = [l.split(",") for l in lines[start + 1:] if l.strip()]
    return _floats(rows, (0, 1, 2))


def indep_powersuite():
    raw = (EIS / "exampleDataPowersuite.txt").read_bytes().decode()
    lines = [l for l in re.split(r"[\r\n]+", raw) if l.strip()]
    rows = [l.split("\t") for l in lines[1:]]
    return _floats(rows, (0, 1, 2))


def indep_versastudio():
    lines = (EIS / "exampleDataVersaStudio.par").read_text(encoding="utf-8").splitlines()
    a, b = lines.index("<Segment1>"), lines.index("</Segment1>")
    definition = next(l for l in lines[a:b] if l.startswith("Definition="))
    names = [n.strip() for n in definition[len("Definition="):].split(",")]
    i_f, i_r, i_i = names.index("Frequency(Hz)"), names.index("Z Real"), names.index("Z Imag")
    d = lines.index(definition)
    rows = [l.split(",") for l in lines[d + 1:b] if l.strip()]
    return _floats(rows, (i_f, i_r, i_i))


CASES = [
    ("exampleData.csv", "csv", indep_csv),
    ("exampleDataBioLogic.mpt", "biologic_mpt", indep_biologic_mpt),
    ("exampleDataGamry.DTA", "gamry_dta", indep_gamry),
    ("exampleDataZPlot.z", "zplot", indep_zplot),
    ("exampleDataAutolab.txt", "zview_csv", indep_autolab),
    ("exampleDataParstat.txt", "parstat", indep_parstat),
    ("exampleDataCHInstruments.txt", "chi", indep_chi),
    ("exampleDataPowersuite.txt", "csv", indep_powersuite),
    ("exampleDataVersaStudio.par", "versastudio_par", indep_versastudio),
]


@pytest.mark.parametrize("name,fmt,reader", CASES, ids=[c[0] for c in CASES])
def test_fixture_parses_exactly(name, fmt, reader):
    path = EIS / name
    assert detect_format(path) == fmt
    spectra = read_spectra(path)
    f, zr, zi = reader()
    assert len(f) > 10
    # one sweep per file; exactly the points the file holds
    assert len(spectra) == 1
    s = spectra[0]
    assert len(s) == len(f)
    assert sum(len(x) for x in spectra) == len(f)
    # the file's numbers, exactly (float(), no rounding), sign convention honoured
    assert np.array_equal(s.frequency_hz, f)
    assert np.array_equal(s.z_real_ohm, zr)
    assert np.array_equal(s.z_imag_ohm, zi)
    assert s.source_file == str(path)
    assert s.loop == 0
    assert s.first_line is not None and s.first_line > 0


def test_fixture_spot_rows_by_hand():
    """A few rows typed in from the files (catches a reader and parser sharing a bug)."""
    s = read_spectra(EIS / "exampleDataBioLogic.mpt")[0]
    assert s.frequency_hz[0] == 1.0003201e003 and s.z_real_ohm[0] == 6.5470886e001
    assert s.z_imag_ohm[0] == -3.8998979e-001  # file: -Im(Z)/Ohm = 3.8998979E-001
    assert s.first_line == 62
    g = read_spectra(EIS / "exampleDataGamry.DTA")[0]
    assert (g.frequency_hz[0], g.z_real_ohm[0], g.z_imag_ohm[0]) == (200015.6, 825.8584, -1367.239)
    assert g.first_line == 449
    assert (g.frequency_hz[-1], g.z_imag_ohm[-1]) == (0.0158898, -6635.557)
    z = read_spectra(EIS / "exampleDataZPlot.z")[0]
    assert (z.frequency_hz[0], z.z_real_ohm[0], z.z_imag_ohm[0]) == (3.0e5, 1.4777e02, -1.1335e01)
    a = read_spectra(EIS / "exampleDataAutolab.txt")[0]
    assert (a.frequency_hz[0], a.z_imag_ohm[0]) == (10000.0, 0.007191946305823)
    p = read_spectra(EIS / "exampleDataParstat.txt")[0]
    assert (p.frequency_hz[0], p.first_line) == (10000.0, 783)
    assert p.metadata["skipped_zero_frequency_rows"] == 781
    c = read_spectra(EIS / "exampleDataCHInstruments.txt")[0]
    assert (c.frequency_hz[0], c.z_real_ohm[0], c.z_imag_ohm[0]) == (9.961e4, 9.891e1, -2.748)
    v = read_spectra(EIS / "exampleDataVersaStudio.par")[0]
    assert (v.frequency_hz[0], v.z_real_ohm[0], v.z_imag_ohm[0]) == (100000.0, 55.31571, 4.575431)


def test_zplot_declared_count_mismatch_is_reported_not_hidden():
    # The real ZPlot example declares "Data Points: 56" but holds 21 rows.
    s = read_spectra(EIS / "exampleDataZPlot.z")[0]
    assert len(s) == 21
    assert "56" in s.metadata["warnings"][0]


def test_mpr_and_mpt_same_measurement():
    pytest.importorskip("galvani")
    mpt = read_spectra(EIS / "exampleDataBioLogic.mpt")
    mpr = read_spectra(EIS / "exampleDataBioLogic.mpr")
    assert detect_format(EIS / "exampleDataBioLogic.mpr") == "biologic_mpr"
    assert len(mpt) == len(mpr) == 1
    a, b = mpt[0], mpr[0]
    assert len(a) == len(b) == 43
    for name in ("frequency_hz", "z_real_ohm", "z_imag_ohm"):
        # .mpr stores float32: equal to ~7 significant digits
        np.testing.assert_allclose(getattr(b, name), getattr(a, name), rtol=1e-6, atol=0)
    assert b.first_line is None
    assert b.metadata["cycle_number"] == a.metadata["cycle_number"] == 1


def test_parse_file_on_every_fixture():
    for path in sorted(EIS.glob("exampleData*")):
        if path.suffix == ".mpr":
            pytest.importorskip("galvani")
        pf = parse_file(path)
        assert pf.kind == "impedance" and len(pf.records) == 1, path.name
