from pathlib import Path

import numpy as np
import openpyxl
import pytest

from ionbase.ingest.parsers import (BioLogicMpt, CyclingCsv, ParseError, parse_file, read_cycling)

# Real instrument files, copied into tests/data/ with their licences (tests/data/eis/README.md).
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data"
EIS = FIXTURES / "eis" / "impedance_py"
DATA = REPO / "tests" / "data" / "instrument"

GCPL = DATA / "synthetic_GCPL_3cycles.mpt"


def test_gcpl_mpt():
    c = read_cycling(GCPL)
    assert c.cycle.tolist() == [0, 1, 2]
    assert c.charge_capacity.tolist() == [1.0, 0.99, 0.985]
    assert c.discharge_capacity.tolist() == [0.95, 0.975, 0.978]
    np.testing.assert_allclose(c.coulombic_efficiency, [95.0, 0.975 / 0.99 * 100, 0.978 / 0.985 * 100])
    assert c.capacity_unit == "mA.h"
    assert len(c.time_s) == len(c.voltage_v) == len(c.current_a) == 42
    assert c.current_a[0] == pytest.approx(1e-4) and c.current_a[7] == pytest.approx(-1e-4)
    assert c.voltage_v.max() == 4.2
    assert c.metadata["technique"] == "Galvanostatic Cycling with Potential Limitation"
    assert "SYNTHETIC" in c.metadata["Comments"]


def test_gcpl_without_q_columns_integrates_current():
    text = GCPL.read_text(encoding="latin-1").replace("Q charge/mA.h", "Qc").replace(
        "Q discharge/mA.h", "Qd")
    c = BioLogicMpt.from_str(text, filename="gcpl.mpt").cycling
    np.testing.assert_allclose(c.charge_capacity, [1.0, 0.99, 0.985], rtol=1e-6)
    np.testing.assert_allclose(c.discharge_capacity, [0.95, 0.975, 0.978], rtol=1e-6)
    assert c.capacity_unit == "mA.h"


def test_gcpl_bad_number(tmp_path):
    lines = GCPL.read_text(encoding="latin-1").splitlines(keepends=True)
    n = int(lines[1].split(":")[1])
    f = lines[n + 3].split("\t")
    f[16] = "x"  # Q charge/mA.h
    lines[n + 3] = "\t".join(f)
    p = tmp_path / "g.mpt"
    p.write_text("".join(lines), encoding="latin-1")
    with pytest.raises(ParseError) as ei:
        read_cycling(p)
    assert (ei.value.line, ei.value.field) == (n + 4, "Q charge/mA.h")


def test_cycling_csv_file():
    c = read_cycling(DATA / "cycling_summary.csv")
    assert c.cycle.tolist() == [1, 2, 3, 4]
    assert c.capacity_unit == "mAh/g"
    assert c.charge_capacity.tolist() == [205.3, 186.0, 184.1, 183.5]
    assert c.coulombic_efficiency[:3].tolist() == [88.41, 98.33, 99.24]
    assert c.coulombic_efficiency[3] == pytest.approx(182.4 / 183.5 * 100)  # computed
    assert c.time_s is None


def test_cycling_csv_semicolon_decimal_comma_no_efficiency():
    text = "Zyklus;Cycle;Charge capacity [mAh];Discharge capacity [mAh]\nx;1;1,25;1,20\ny;2;1,22;1,21\n"
    c = CyclingCsv.from_str(text, filename="de.csv").cycling
    assert c.cycle.tolist() == [1, 2]
    assert c.charge_capacity.tolist() == [1.25, 1.22]
    assert c.capacity_unit == "mAh"
    np.testing.assert_allclose(c.coulombic_efficiency, [96.0, 1.21 / 1.22 * 100])


def test_cycling_csv_errors():
    with pytest.raises(ParseError) as ei:
        CyclingCsv.from_str("cycle,Q charge (mAh/g),Q discharge (mAh/g)\n1,2,abc\n",
                            filename="c.csv")
    assert (ei.value.line, ei.value.field) == (2, "Q discharge (mAh/g)")
    with pytest.raises(ParseError, match="same unit"):
        CyclingCsv.from_str("cycle,Q charge (mAh/g),Q discharge (mAh)\n1,2,3\n")
    with pytest.raises(ParseError, match="integer cycle"):
        CyclingCsv.from_str("cycle,Q charge (mAh/g),Q discharge (mAh/g)\n1.5,2,3\n")
    with pytest.raises(ParseError, match="cycle"):
        CyclingCsv.from_str("a,b,c\n1,2,3\n")


def _workbook(path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "notes"
    ws["A1"] = "SYNTHETIC workbook for Ionbase parser tests"
    for title, base in (("cell A", 200.0), ("cell B", 150.0)):
        ws = wb.create_sheet(title)
        ws.append([f"{title}: Li | LPSCl | NCM"])
        ws.append([])
        ws.append(["Cycle", "Q charge (mAh/g)", "Q discharge (mAh/g)", "CE (%)"])
        for k in range(1, 4):
            ws.append([k, base - k, base - k - 1.5, None if k == 3 else 99.0])
    wb.save(path)


def test_cycling_xlsx_every_sheet(tmp_path):
    p = tmp_path / "cycling.xlsx"
    _workbook(p)
    pf = parse_file(p)
    assert pf.format == "xlsx" and pf.kind == "cycling"
    assert [r.metadata["sheet"] for r in pf.records] == ["cell A", "cell B"]
    b = read_cycling(p, sheet="cell B")
    assert b.cycle.tolist() == [1, 2, 3]
    assert b.charge_capacity.tolist() == [149.0, 148.0, 147.0]
    assert b.capacity_unit == "mAh/g"
    assert b.coulombic_efficiency[:2].tolist() == [99.0, 99.0]
    assert b.coulombic_efficiency[2] == pytest.approx(145.5 / 147.0 * 100)
    assert b.metadata["header_line"] == 3
    with pytest.raises(ParseError, match="several sheets"):
        read_cycling(p)


def test_cycling_xlsx_bad_cell(tmp_path):
    p = tmp_path / "bad.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "data"
    ws.append(["cycle", "charge capacity (mAh)", "discharge capacity (mAh)"])
    ws.append([1, 1.0, 0.9])
    ws.append([2, "n/a", 0.9])
    wb.save(p)
    with pytest.raises(ParseError) as ei:
        read_cycling(p)
    assert (ei.value.line, ei.value.field) == (3, "charge capacity (mAh)")
    assert "sheet 'data'" in ei.value.message


_CAP = "cycle,Q charge (mAh/g),Q discharge (mAh/g)"


def test_cycling_csv_efficiency_fraction_is_converted_to_percent(tmp_path):
    """A coulombic efficiency given as a fraction ('(-)' or '(1)') is stored in percent; a '%'
    column (also written 'CE %') is kept as it is (it used to store 0.9 as 0.9 %)."""
    p = tmp_path / "fraction.csv"
    p.write_text(_CAP + ",Coulombic efficiency (-)\n1,200,180,0.900\n2,190,178,0.937\n"
                 "3,185,175,\n")
    c = read_cycling(p)
    assert c.coulombic_efficiency[:2].tolist() == [90.0, 93.7]
    assert c.coulombic_efficiency[2] == pytest.approx(175 / 185 * 100)  # computed, already in %
    assert c.metadata["coulombic_efficiency_unit"] == "-"
    one = CyclingCsv.from_str(_CAP + ",CE / 1\n1,200,180,0.9\n", filename="one.csv").cycling
    assert one.coulombic_efficiency.tolist() == [90.0]
    pct = CyclingCsv.from_str(_CAP + ",CE %\n1,200,180,90.0\n", filename="pct.csv").cycling
    assert pct.coulombic_efficiency.tolist() == [90.0]


@pytest.mark.parametrize("header, message", [
    ("Coulombic efficiency", "expected a unit in the coulombic efficiency header"),
    ("CE (mAh/g)", "expected coulombic efficiency in % or as a fraction"),
])
def test_cycling_csv_efficiency_without_or_with_wrong_unit_is_refused(tmp_path, header, message):
    """0.95 under a header without a unit could be a fraction or a percent: refused, naming the
    file, the header row and the column; so is a unit that is not a ratio."""
    p = tmp_path / "ce.csv"
    p.write_text("# cell 7\n" + _CAP + f",{header}\n1,200,180,0.95\n")
    with pytest.raises(ParseError, match=message) as ei:
        read_cycling(p)
    assert (Path(ei.value.file).name, ei.value.line, ei.value.field) == ("ce.csv", 2, header)


def test_cycling_xlsx_efficiency_fraction(tmp_path):
    p = tmp_path / "frac.xlsx"
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "run 1"
    ws.append(["Cycle", "Q charge (mAh/g)", "Q discharge (mAh/g)", "Coulombic efficiency (-)"])
    ws.append([1, 200.0, 190.0, 0.95])
    ws.append([2, 200.0, 196.0, 0.98])
    ws2 = wb.create_sheet("run 2")
    ws2.append(["Cycle", "Q charge (mAh/g)", "Q discharge (mAh/g)", "CE"])
    ws2.append([1, 200.0, 190.0, 0.95])
    wb.save(p)
    with pytest.raises(ParseError, match="sheet 'run 2': expected a unit") as ei:
        parse_file(p)
    assert (ei.value.line, ei.value.field) == (1, "CE")
    del wb["run 2"]
    wb.save(p)
    assert read_cycling(p).coulombic_efficiency.tolist() == [95.0, 98.0]


@pytest.mark.parametrize("header, message, field", [
    ("cycle,Q charge (mAh/g),Q discharge", "expected a unit in the discharge capacity header",
     "Q discharge"),
    ("cycle,Q charge,Q discharge (mAh/g)", "expected a unit in the charge capacity header",
     "Q charge"),
    ("cycle,Q charge (V),Q discharge (V)", "expected a capacity unit", "Q charge (V)"),
])
def test_cycling_csv_capacity_unit_required(header, message, field):
    """A capacity column without a unit is refused, never given the other column's unit."""
    with pytest.raises(ParseError, match=message) as ei:
        CyclingCsv.from_str(header + "\n1,2,3\n", filename="q.csv")
    assert (ei.value.line, ei.value.field) == (1, field)
