"""Quoted fields, decimal commas and thousands separators in instrument files (review of the
instrument parsers): a number is read with the decimal mark its file shows, a thousands separator
is refused naming file, line and column, never read as a decimal comma (``100,000`` as 100)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ionbase.ingest.parsers import (BioLogicMpt, CyclingCsv, DelimitedSpectra, GamryDTA,
                                    ParseError, read_cycling, read_spectra)
from ionbase.ingest.parsers.numbers import DecimalMark, mark_of

DATA = Path(__file__).resolve().parents[1] / "data"
INSTRUMENT = DATA / "instrument"
EIS = DATA / "eis" / "impedance_py"
CYC = "cycle,Q charge (mAh/g),Q discharge (mAh/g),CE (%)\n"
EIS_HEAD = "freq (Hz);Z' (Ohm);-Z'' (Ohm)\n"


@pytest.mark.parametrize("token,kind", [
    ("101.0", "."), ("5.5529e+06", "."), ("-.5", "."), ("150,2", ","), ("98,6", ","),
    ("0,500", ","), ("1,2345", ","), ("1,234E+03", ","), ("-0,25", ","), ("1,000", "either"),
    ("-15,780", "either"), ("100,000", "either"), ("1,234.5", "grouped"), ("1.234,5", "grouped"),
    ("1,234,567", "grouped"), ("100", None), ("1e5", None), ("abc", None), ("nan", None)])
def test_what_one_number_says_about_the_decimal_mark(token, kind):
    assert mark_of(token) == kind


def test_a_file_mark_decides_the_ambiguous_numbers():
    comma, point, blank = DecimalMark(), DecimalMark(), DecimalMark()
    comma.observe("0,5", file="f", line=1, field="a")
    point.observe("0.5", file="f", line=1, field="a")
    assert comma.to_float("1,000", file="f", line=2, field="a") == 1.0
    with pytest.raises(ParseError, match="thousands separators are not read; remove them"):
        point.to_float("1,000", file="f", line=2, field="a")
    with pytest.raises(ParseError, match="cannot tell whether '1,000' is 1.000"):
        blank.to_float("1,000", file="f", line=2, field="a")
    with pytest.raises(ParseError, match="same decimal mark") as err:
        comma.to_float("2.5", file="f", line=3, field="a")
    assert (err.value.file, err.value.line, err.value.field) == ("f", 3, "a")


# --------------------------------------------------------------------------- quoted fields (fix 1)

def test_quoted_decimal_commas_in_a_cycling_csv():
    """Was read as charge 150, discharge 2, CE 148 % (the quotes were ignored)."""
    c = read_cycling(INSTRUMENT / "cycling_quoted_decimal_comma.csv")
    assert c.cycle.tolist() == [1, 2, 3]
    assert c.charge_capacity.tolist() == [150.2, 149.0, 148.4]
    assert c.discharge_capacity.tolist() == [148.1, 147.5, 147.0]
    assert c.coulombic_efficiency.tolist() == [98.6, 99.0, 99.1]


def test_quoted_decimal_commas_in_an_impedance_csv():
    """Was read as Z' = 0, Z'' = -101 (the quoted "1000000,0" split into two fields)."""
    (s,) = read_spectra(INSTRUMENT / "impedance_quoted_decimal_comma.csv")
    assert s.frequency_hz.tolist() == [1e6, 1e5, 1e4, 1e3, 100.0, 10.0]
    assert s.z_real_ohm.tolist() == [101.5, 105.0, 150.0, 200.0, 230.0, 250.0]
    assert s.z_imag_ohm.tolist() == [-5.0, -20.0, -40.0, -30.0, -15.0, -20.0]


def test_a_quoted_thousands_separator_in_a_comma_file_is_refused():
    with pytest.raises(ParseError, match="thousands separators are not read") as err:
        CyclingCsv.from_str(CYC + '1,"1,500",148.1,98.6\n', filename="q.csv")
    assert (err.value.file, err.value.line, err.value.field) == ("q.csv", 2, "Q charge (mAh/g)")
    with pytest.raises(ParseError, match="cannot tell whether '1,500'") as err:
        CyclingCsv.from_str(CYC + '1,"1,500","1,480",99\n', filename="q.csv")
    assert (err.value.line, err.value.field) == (2, "Q charge (mAh/g)")


def test_unbalanced_quotes_are_refused_naming_the_line():
    with pytest.raises(ParseError, match="balanced double quotes") as err:
        CyclingCsv.from_str(CYC + '1,"150,2","148,1","98,6"\n2,"149,0","147,5","99\n',
                            filename="q.csv")
    assert err.value.line == 3
    head = "freq (Hz),Z' (Ohm),-Z'' (Ohm)\n" + '"1000,0","101,5","5,0"\n' * 5
    with pytest.raises(ParseError, match="balanced double quotes") as err:
        DelimitedSpectra.from_str(head + '"10,0","101,5","5,0\n', filename="q.csv")
    assert err.value.line == 7


# --------------------------------------------------------------------------- thousands (fix 2)

def test_thousands_separators_in_a_point_decimal_tsv_are_refused():
    """Was read as 100 Hz, 10 Hz, 1 Hz (100,000 / 10,000 / 1,000 taken as decimal commas)."""
    with pytest.raises(ParseError, match="thousands separators are not read; remove them") as err:
        read_spectra(INSTRUMENT / "impedance_thousands_separator.tsv")
    assert (err.value.line, err.value.field) == (2, "freq (Hz)")
    assert "'101.0' on line 2" in err.value.message


def test_a_thousands_separator_after_point_decimals_is_refused():
    """The reviewer's t2 file: 15,780 Ohm read as 15.78 beside 5.5529e+06 Hz."""
    rows = "7e+06\t160\t-913\n5.5529e+06\t226\t-1,127\n4.40496e+06\t315\t-1,389\n"
    with pytest.raises(ParseError, match="thousands separator") as err:
        DelimitedSpectra.from_str("freq (Hz)\tZ' (Ohm)\tZ'' (Ohm)\n" + rows, filename="t2.tsv")
    assert (err.value.line, err.value.field) == (3, "Z'' (Ohm)")


def test_a_three_digit_decimal_comma_is_read_where_the_file_shows_the_mark():
    """Decided per file: 1,500 on the first row is 1.5 because 1,48 (two decimals) follows."""
    c = CyclingCsv.from_str("cycle;Q charge (mAh/g);Q discharge (mAh/g)\n1;1,500;1,48\n",
                            filename="de.csv").cycling
    assert c.charge_capacity.tolist() == [1.5] and c.discharge_capacity.tolist() == [1.48]
    (s,) = DelimitedSpectra.from_str(EIS_HEAD + "1,000E+05;1,000;5,000\n1000;2,000;7,000\n"
                                     "100;3,000;4,000\n", filename="exp.csv").spectra
    assert s.frequency_hz.tolist() == [1e5, 1000.0, 100.0]
    assert s.z_real_ohm.tolist() == [1.0, 2.0, 3.0]


def test_ambiguous_commas_alone_are_refused():
    with pytest.raises(ParseError, match="cannot tell") as err:
        DelimitedSpectra.from_str(EIS_HEAD + "100000;1,000;5\n1000;2,000;7\n", filename="a.csv")
    assert (err.value.line, err.value.field) == (2, "Z' (Ohm)")


@pytest.mark.parametrize("row,bad", [("100000;1.234,5;5,0", "Z' (Ohm)"),
                                     ("100000;1,5;1.5", "-Z'' (Ohm)")])
def test_two_marks_in_one_file_are_refused(row, bad):
    with pytest.raises(ParseError) as err:
        DelimitedSpectra.from_str(EIS_HEAD + row + "\n1000;2,5;7,5\n", filename="m.csv")
    assert (err.value.line, err.value.field) == (2, bad)
    assert "thousands separator" in err.value.message


def test_biologic_point_file_with_a_thousands_separator_is_refused():
    lines = (EIS / "exampleDataBioLogic.mpt").read_text(encoding="latin-1").splitlines()
    n = int(lines[1].split(":")[1])
    fields = lines[n + 4].split("\t")
    fields[1] = "15,780"  # Re(Z)/Ohm, was read as 15.78
    lines[n + 4] = "\t".join(fields)
    with pytest.raises(ParseError, match="thousands separators are not read") as err:
        BioLogicMpt.from_str("\n".join(lines) + "\n", filename="b.mpt")
    assert (err.value.line, err.value.field) == (n + 5, "Re(Z)/Ohm")


def test_biologic_decimal_comma_file_still_reads_the_same_numbers():
    point = read_spectra(EIS / "exampleDataBioLogic.mpt")[0]
    comma = read_spectra(INSTRUMENT / "exampleDataBioLogic_decimal_comma.mpt")[0]
    np.testing.assert_array_equal(comma.z_real_ohm, point.z_real_ohm)
    np.testing.assert_array_equal(comma.z_imag_ohm, point.z_imag_ohm)


def test_gamry_point_file_with_a_thousands_separator_is_refused():
    lines = (EIS / "exampleDataGamry.DTA").read_text(encoding="latin-1").splitlines()
    k = next(i for i, line in enumerate(lines) if line.startswith("ZCURVE")) + 5
    fields = lines[k].split("\t")
    fields[4] = "1,234"  # Zreal
    lines[k] = "\t".join(fields)
    with pytest.raises(ParseError, match="thousands separators are not read") as err:
        GamryDTA.from_str("\n".join(lines) + "\n", filename="g.DTA")
    assert (err.value.line, err.value.field) == (k + 1, "Zreal")


# --------------------------------------------------------------------------- sign (fix 3)

def test_minus_zim_header_over_negative_values_is_refused():
    """Was stored as an inductive spectrum (Z'' = +913 ... +3498 Ohm)."""
    with pytest.raises(ParseError, match="says it holds -Z''") as err:
        read_spectra(INSTRUMENT / "impedance_minus_zim_holds_zim.csv")
    assert (err.value.line, err.value.field) == (1, "-Z'' (Ohm)")
    text = (INSTRUMENT / "impedance_minus_zim_holds_zim.csv").read_text().replace("-Z''", "Z''", 1)
    (s,) = DelimitedSpectra.from_str(text, filename="ok.csv").spectra
    assert s.z_imag_ohm[0] == -913.2901


def test_minus_zre_header_over_positive_values_names_the_header_line():
    text = "freq,-Zre,Zim\n" + "".join(f"{10 ** k},{100 + k},-{5 + k}\n" for k in range(6))
    with pytest.raises(ParseError, match="says it holds -Z'") as err:
        DelimitedSpectra.from_str(text, filename="r.csv")
    assert (err.value.line, err.value.field) == (1, "-Zre")
