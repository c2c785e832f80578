import json
import math

import pytest
from click.testing import CliRunner

from ionbase.analysis.arrhenius import KB_EV
from ionbase.service.commands.analysis_cmds import arrhenius, eis


def _csv(tmp_path, text, name="a.csv"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def test_arrhenius_json_celsius_and_mS(tmp_path):
    # sigma = 1e3 S/cm exp(-0.4 eV / kT), written in mS/cm with T in degC
    rows = ["T (°C),sigma (mS/cm)"]
    for tc in (25, 50, 75, 100):
        rows.append(f"{tc},{1e3 * math.exp(-0.4 / (KB_EV * (tc + 273.15))) * 1e3!r}")
    r = CliRunner().invoke(arrhenius, [_csv(tmp_path, "\n".join(rows)), "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert list(d) == ["Ea_eV", "Ea_stderr_eV", "prefactor", "r2", "n", "sigma_25C_S_per_cm", "extrapolated"]
    assert d["Ea_eV"] == pytest.approx(0.4, rel=1e-9) and d["prefactor"] == pytest.approx(1e3, rel=1e-8)
    assert d["sigma_25C_S_per_cm"] == pytest.approx(1e3 * math.exp(-0.4 / (KB_EV * 298.15)), rel=1e-9)
    assert d["n"] == 4 and d["extrapolated"] is False


def test_arrhenius_kelvin_sigmaT_table(tmp_path):
    text = "T (K),sigma (S/cm)\n300,1e-4\n350,1e-3\n400,5e-3\n"
    r = CliRunner().invoke(arrhenius, [_csv(tmp_path, text), "--form", "sigmaT"])
    assert r.exit_code == 0 and "Ea =" in r.output


@pytest.mark.parametrize("text,msg", [
    ("T (K),sigma (S/cm)\n300,1e-4\n350,abc\n400,5e-3\n", "row 3, column 'sigma (S/cm)': 'abc' is not a number"),
    ("T (K),sigma (S/cm)\n300,1e-4\n350\n", "row 3, column 'sigma (S/cm)': missing value"),
    ("T,sigma\n300,1e-4\n", "row 1"),
    ("T (m),sigma (S/cm)\n300,1e-4\n", "row 1, column 'T (m)'"),
    ("T (°C),sigma (S/cm)\n-300,1e-4\n", "row 2, column 'T (°C)'"),
])
def test_arrhenius_errors_name_file_row_column(tmp_path, text, msg):
    path = _csv(tmp_path, text)
    r = CliRunner().invoke(arrhenius, [path, "--json"])
    assert r.exit_code != 0
    assert path in r.output and msg in r.output


def test_eis_fit_json_and_table(example_csv):
    r = CliRunner().invoke(eis, ["fit", str(example_csv), "--circuit", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3", "--json"])
    assert r.exit_code == 0, r.output
    d = json.loads(r.output)
    assert {"circuit", "parameters", "residual", "kk"} <= set(d)
    assert set(d["parameters"]["R1"]) == {"value", "stderr", "unit"}
    r2 = CliRunner().invoke(eis, ["fit", str(example_csv), "--circuit", "R0-p(R1,CPE1"])
    assert r2.exit_code != 0 and "position" in r2.output
