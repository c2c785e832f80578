"""Every ParseError names file, line and field and says what was expected."""

import pickle
import shutil
import sys

from pathlib import Path

import pytest

from ionbase.ingest.parsers import (BioLogicMpr, GamryDTA, ParseError, detect_format, parse_file,
                            read_cif, read_cycling, read_spectra)

# Real instrument files, copied into tests/data/ with their licences (tests/data/eis/README.md).
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data"
EIS = FIXTURES / "eis" / "impedance_py"
DATA = REPO / "tests" / "data" / "instrument"


def test_str_format():
    e = ParseError("expected a number, got 'abc'", file="/x/y/exampleDataGamry.DTA", line=57,
                   field="Zreal")
    assert str(e) == "exampleDataGamry.DTA, line 57, field 'Zreal': expected a number, got 'abc'"
    assert isinstance(e, ValueError)
    e2 = pickle.loads(pickle.dumps(e))
    assert (e2.file, e2.line, e2.field, str(e2)) == (e.file, e.line, e.field, str(e))
    issue = e.as_issue()
    assert issue.row == 57 and issue.field == "Zreal"


def _copy_with(tmp_path, src, name, edit, encoding="latin-1"):
    lines = (EIS / src).read_text(encoding=encoding).splitlines(keepends=True)
    lines = edit(lines)
    p = tmp_path / name
    p.write_text("".join(lines), encoding=encoding)
    return p


def test_bad_number_gamry(tmp_path):
    def edit(lines):
        f = lines[456].split("\t")  # line 457
        f[4] = "abc"
        lines[456] = "\t".join(f)
        return lines
    p = _copy_with(tmp_path, "exampleDataGamry.DTA", "exampleDataGamry.DTA", edit)
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    e = ei.value
    assert (e.line, e.field) == (457, "Zreal")
    assert str(e) == "exampleDataGamry.DTA, line 457, field 'Zreal': expected a number, got 'abc'"


def test_bad_number_mpt(tmp_path):
    def edit(lines):
        f = lines[69].split("\t")
        f[2] = "n/a"
        lines[69] = "\t".join(f)
        return lines
    p = _copy_with(tmp_path, "exampleDataBioLogic.mpt", "bad.mpt", edit)
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert (ei.value.line, ei.value.field) == (70, "-Im(Z)/Ohm")
    assert "expected a number, got 'n/a'" in str(ei.value)


def test_bad_number_csv_first_row_is_not_skipped():
    from ionbase.ingest.parsers import DelimitedSpectra
    with pytest.raises(ParseError) as ei:
        DelimitedSpectra.from_str("freq,Zre,Zim\n1e3,abc,-1\n", filename="a.csv")
    assert (ei.value.file, ei.value.line, ei.value.field) == ("a.csv", 2, "Zre")
    with pytest.raises(ParseError) as ei:
        DelimitedSpectra.from_str("1e3,1,-1\n1e2,2,x7\n", filename="b.csv")
    assert (ei.value.line, ei.value.field) == (2, "column 3")


def test_missing_column_mpt(tmp_path):
    def edit(lines):
        lines[60] = lines[60].replace("Re(Z)/Ohm", "Re(Zx)")
        return lines
    p = _copy_with(tmp_path, "exampleDataBioLogic.mpt", "nocol.mpt", edit)
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert (ei.value.line, ei.value.field) == (61, "Re(Z)/Ohm")
    assert "missing" in ei.value.message


def test_missing_column_gamry(tmp_path):
    def edit(lines):
        lines[446] = lines[446].replace("Zimag", "Zimaginary?")
        return lines
    p = _copy_with(tmp_path, "exampleDataGamry.DTA", "nocol.DTA", edit)
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert (ei.value.line, ei.value.field) == (447, "Zimag")


def test_missing_column_csv_header():
    from ionbase.ingest.parsers import DelimitedSpectra
    with pytest.raises(ParseError) as ei:
        DelimitedSpectra.from_str("Frequency,Zre,Phase\n1,2,3\n", filename="c.csv")
    assert ei.value.line == 1 and "imaginary" in ei.value.field


def test_truncated_mpt_mid_row(tmp_path):
    data = (EIS / "exampleDataBioLogic.mpt").read_bytes()
    p = tmp_path / "trunc.mpt"
    p.write_bytes(data[: data.rfind(b"\n") + 40])  # last row cut after a few fields
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert ei.value.line == 104 and "truncated" in ei.value.message


def test_truncated_mpt_inside_header(tmp_path):
    data = (EIS / "exampleDataBioLogic.mpt").read_bytes()
    p = tmp_path / "trunc.mpt"
    p.write_bytes(b"\n".join(data.split(b"\n")[:30]))
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert ei.value.line == 30 and "header" in ei.value.message


def test_truncated_gamry(tmp_path):
    def edit(lines):
        return lines[:470] + [lines[470][:25]]
    p = _copy_with(tmp_path, "exampleDataGamry.DTA", "t.DTA", edit)
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert ei.value.line == 471 and "truncated" in ei.value.message
    p2 = _copy_with(tmp_path, "exampleDataGamry.DTA", "t2.DTA", lambda l: l[:447])
    with pytest.raises(ParseError, match="truncated"):
        read_spectra(p2)


def test_truncated_mpr(tmp_path):
    pytest.importorskip("galvani")
    p = tmp_path / "t.mpr"
    p.write_bytes((EIS / "exampleDataBioLogic.mpr").read_bytes()[:3000])
    with pytest.raises(ParseError) as ei:
        read_spectra(p)
    assert ei.value.file == str(p)


def test_empty_file(tmp_path):
    p = tmp_path / "empty.mpt"
    p.write_bytes(b"")
    with pytest.raises(ParseError, match="empty") as ei:
        read_spectra(p)
    assert ei.value.file == str(p)
    with pytest.raises(ParseError, match="empty"):
        detect_format(p)
    with pytest.raises(ParseError, match="empty"):
        GamryDTA.from_str("  \n", filename="e.DTA")


def test_missing_file(tmp_path):
    with pytest.raises(ParseError, match="cannot read"):
        read_spectra(tmp_path / "nope.mpt")


def test_wrong_format(tmp_path):
    with pytest.raises(ParseError, match="expected an impedance file, found cif"):
        read_spectra(DATA / "Mg3AsN_partial.cif")
    with pytest.raises(ParseError, match="expected a CIF"):
        read_cif(EIS / "exampleDataBioLogic.mpt")
    with pytest.raises(ParseError, match="expected a cycling file"):
        read_cycling(EIS / "exampleDataGamry.DTA")
    with pytest.raises(ParseError, match="expected an impedance file, found biologic_mpt"):
        read_spectra(DATA / "synthetic_GCPL_3cycles.mpt")
    prose = tmp_path / "notes.txt"
    prose.write_text("Meeting notes\nThe pellet cracked on 3 March.\n")
    with pytest.raises(ParseError, match="unrecognised format") as ei:
        parse_file(prose)
    assert ei.value.line == 1
    blob = tmp_path / "x.mpt"
    blob.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(ParseError, match="binary"):
        read_spectra(blob)
    with pytest.raises(ParseError, match="EXPLAIN"):
        GamryDTA.from_file(EIS / "exampleDataZPlot.z")
    with pytest.raises(ParseError, match="BIO-LOGIC"):
        BioLogicMpr.from_file(EIS / "exampleDataBioLogic.mpt")


def test_size_limit(tmp_path):
    with pytest.raises(ParseError, match="larger than the limit"):
        read_spectra(EIS / "exampleDataGamry.DTA", max_bytes=1000)
    with pytest.raises(ParseError, match="larger than the limit"):
        GamryDTA.from_str("EXPLAIN\n" * 100, max_bytes=50)
    assert read_spectra(EIS / "exampleDataGamry.DTA", max_bytes=10**6)


def test_mpr_without_galvani_says_which_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "galvani", None)
    monkeypatch.setitem(sys.modules, "galvani.BioLogic", None)
    with pytest.raises(ParseError, match=r"ionbase\[biologic\]") as ei:
        read_spectra(EIS / "exampleDataBioLogic.mpr")
    assert ei.value.file.endswith("exampleDataBioLogic.mpr")
