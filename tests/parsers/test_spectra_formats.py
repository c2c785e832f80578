"""Detection from content, decimal commas, loop splitting, generic CSV variants."""

import shutil

from pathlib import Path

import numpy as np
import pytest

from ionbase.ingest.parsers import (BioLogicMpt, DelimitedSpectra, ParseError, detect_format, parse_file,
                            read_spectra)

# Real instrument files, copied into tests/data/ with their licences (tests/data/eis/README.md).
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data"
EIS = FIXTURES / "eis" / "impedance_py"
DATA = REPO / "tests" / "data" / "instrument"

MPT = EIS / "exampleDataBioLogic.mpt"


# --------------------------------------------------------------------------- detection

@pytest.mark.parametrize("src,new_name,fmt", [
    ("exampleDataBioLogic.mpt", "renamed.txt", "biologic_mpt"),
    ("exampleDataBioLogic.mpr", "renamed.dat", "biologic_mpr"),
    ("exampleDataGamry.DTA", "renamed.txt", "gamry_dta"),
    ("exampleDataZPlot.z", "renamed.csv", "zplot"),
    ("exampleDataAutolab.txt", "renamed.z", "zview_csv"),
    ("exampleDataVersaStudio.par", "renamed.txt", "versastudio_par"),
    ("exampleDataCHInstruments.txt", "renamed.dat", "chi"),
    ("exampleDataParstat.txt", "renamed.csv", "parstat"),
    ("exampleData.csv", "renamed.mpt", "csv"),
])
def test_detection_uses_content_not_extension(tmp_path, src, new_name, fmt):
    dst = tmp_path / new_name
    shutil.copy(EIS / src, dst)
    assert detect_format(dst) == fmt
    if fmt == "biologic_mpr":
        pytest.importorskip("galvani")
    assert len(read_spectra(dst)[0]) == len(read_spectra(EIS / src)[0])


def test_detection_of_structures_and_cycling(tmp_path):
    shutil.copy(DATA / "Mg3AsN_partial.cif", tmp_path / "structure.txt")
    assert detect_format(tmp_path / "structure.txt") == "cif"
    shutil.copy(DATA / "synthetic_GCPL_3cycles.mpt", tmp_path / "gcpl.txt")
    assert detect_format(tmp_path / "gcpl.txt") == "biologic_mpt"
    assert parse_file(tmp_path / "gcpl.txt").kind == "cycling"
    assert detect_format(DATA / "cycling_summary.csv") == "cycling_csv"


def test_mpt_without_header_block_is_detected(tmp_path):
    lines = MPT.read_text(encoding="latin-1").splitlines(keepends=True)
    n = int(lines[1].split(":")[1])
    p = tmp_path / "noheader.txt"
    p.write_text("".join(lines[n - 1:]), encoding="latin-1")
    assert detect_format(p) == "biologic_mpt"
    s = read_spectra(p)[0]
    ref = read_spectra(MPT)[0]
    assert np.array_equal(s.z_imag_ohm, ref.z_imag_ohm)
    assert s.first_line == 2


# --------------------------------------------------------------------------- decimal comma

def test_decimal_comma_mpt_equals_decimal_point_original():
    ref = read_spectra(MPT)[0]
    de = read_spectra(DATA / "exampleDataBioLogic_decimal_comma.mpt")[0]
    assert len(de) == len(ref) == 43
    for name in ("frequency_hz", "z_real_ohm", "z_imag_ohm"):
        assert np.array_equal(getattr(de, name), getattr(ref, name))
    assert de.first_line == ref.first_line == 62


# --------------------------------------------------------------------------- loops

def _mpt_parts():
    text = MPT.read_text(encoding="latin-1")
    lines = text.splitlines()
    n = int(lines[1].split(":")[1])
    return lines[:n], [l for l in lines[n:] if l.strip()]


def test_multi_loop_mpt_split_on_cycle_column(tmp_path):
    head, rows = _mpt_parts()
    loop2 = []
    for r in rows:
        f = r.split("\t")
        f[10] = "2.000000000000000E+000"  # cycle number
        loop2.append("\t".join(f))
    loop3 = [r.replace("\t1.000000000000000E+000\t", "\t3.000000000000000E+000\t", 1)
             for r in rows[:10]]
    p = tmp_path / "three_loops.mpt"
    p.write_text("\n".join(head + rows + loop2 + loop3) + "\n", encoding="latin-1")
    spectra = read_spectra(p)
    assert [len(s) for s in spectra] == [43, 43, 10]
    assert [s.loop for s in spectra] == [0, 1, 2]
    assert [s.metadata["cycle_number"] for s in spectra] == [1, 2, 3]
    assert [s.first_line for s in spectra] == [62, 105, 148]
    assert np.array_equal(spectra[1].z_real_ohm, spectra[0].z_real_ohm)


def test_multi_sweep_split_when_frequency_jumps_back(tmp_path):
    head, rows = _mpt_parts()
    # same cycle number in both sweeps: split on the frequency returning to the start
    p = tmp_path / "two_sweeps.mpt"
    p.write_text("\n".join(head + rows + rows[:20]) + "\n", encoding="latin-1")
    spectra = read_spectra(p)
    assert [len(s) for s in spectra] == [43, 20]
    assert spectra[1].frequency_hz[0] == spectra[0].frequency_hz[0]


def test_multi_sweep_generic_csv():
    f = [1e5, 1e4, 1e3, 1e2, 10.0, 1.0]
    text = "".join(f"{x},{x / 1e3 + 1},{-x / 1e4}\n" for x in f + f[:4])
    spectra = DelimitedSpectra.from_str(text, filename="sweeps.csv").spectra
    assert [len(s) for s in spectra] == [6, 4]
    assert [s.first_line for s in spectra] == [1, 7]


# --------------------------------------------------------------------------- generic CSV

def test_csv_semicolon_decimal_comma_minus_im_header():
    text = ("Frequency (Hz);Z' (Ohm);-Z'' (Ohm)\n"
            "1000,5;12,25;0,5\n"
            "100;13,5;2,75\n"
            "10;20;-1,25\n")
    s = DelimitedSpectra.from_str(text, filename="x.csv").spectra[0]
    assert s.frequency_hz.tolist() == [1000.5, 100.0, 10.0]
    assert s.z_real_ohm.tolist() == [12.25, 13.5, 20.0]
    assert s.z_imag_ohm.tolist() == [-0.5, -2.75, 1.25]  # -Z'' stored -> negated
    assert s.metadata["columns"]["z_imag_negated"] is True
    assert s.first_line == 2


@pytest.mark.parametrize("header,neg", [
    ("freq\tZre\tZim", False), ("FREQUENCY\tRE(Z)\t-IM(Z)", True), ("f (Hz)\tZ'\tZ''", False),
    ("Freq/Hz\tZreal\tZimag", False), ("frequency\tz_re\t-zim", True),
])
def test_csv_header_names_case_insensitive(header, neg):
    text = header + "\n1\t2\t3\n0,5\t4\t-5\n"
    s = DelimitedSpectra.from_str(text).spectra[0]
    assert s.frequency_hz.tolist() == [1.0, 0.5]
    assert s.z_imag_ohm.tolist() == ([-3.0, 5.0] if neg else [3.0, -5.0])


def test_csv_columns_in_other_order_and_extra_columns():
    text = "Zim,Phase,Zre,Freq\n-3,10,2,1000\n-4,11,3,100\n"
    s = DelimitedSpectra.from_str(text).spectra[0]
    assert s.frequency_hz.tolist() == [1000.0, 100.0]
    assert s.z_real_ohm.tolist() == [2.0, 3.0]
    assert s.z_imag_ohm.tolist() == [-3.0, -4.0]


def test_csv_whitespace_headerless_and_preamble():
    text = "Sample: LLZO pellet\nT = 25 C\n\n1e5 10.5 -0.25\n1e4  11.0  -1.5\n"
    s = DelimitedSpectra.from_str(text).spectra[0]
    assert s.frequency_hz.tolist() == [1e5, 1e4]
    assert s.z_imag_ohm.tolist() == [-0.25, -1.5]
    assert s.first_line == 4
    assert s.metadata["Sample"] == "LLZO pellet"
