"""conductivity, dc, stacks, trends: hand-checked numbers."""
import math

import numpy as np
import pytest

from ionbase.analysis import (AnalysisError, area_from_diameter, bruce_vincent, conductivity, electronic_conductivity,
                      ion_transport_number, linear_trend, log_linear_trend, subtract_series_layers)
from ionbase.analysis.errors import InsufficientDataError, InvalidInputError, NegativeResultError


def test_conductivity_hand_value_and_uncertainty():
    r = conductivity(100.0, 0.1, 0.5, resistance_stderr=2.0, thickness_stderr=0.001, area_stderr=0.01)
    assert r.sigma_S_per_cm == pytest.approx(2e-3, rel=1e-12)
    # relative errors 2 %, 1 %, 2 % -> sqrt(9) = 3 %
    assert r.stderr_S_per_cm == pytest.approx(6e-5, rel=1e-9)
    d = r.to_dict()
    assert isinstance(d["sigma_S_per_cm"], float) and d["cell_constant_per_cm"] == pytest.approx(0.2)


def test_area_from_diameter():
    a = area_from_diameter(1.0, 0.01)
    assert a.value == pytest.approx(0.7853981634, rel=1e-9)
    assert a.stderr == pytest.approx(0.0157079633, rel=1e-8)


@pytest.mark.parametrize("args", [(0, 0.1, 1), (-5, 0.1, 1), (100, 0, 1), (100, 0.1, float("nan"))])
def test_conductivity_rejects_bad_input(args):
    with pytest.raises(AnalysisError):
        conductivity(*args)
    with pytest.raises(ValueError):  # AnalysisError is a ValueError
        conductivity(*args)


def test_bruce_vincent_worked_example():
    # dV = 10 mV, I0 = 20 uA, Iss = 12 uA, R0 = 100 ohm, Rss = 120 ohm
    # t+ = 12e-6 (0.01 - 0.002) / (20e-6 (0.01 - 0.00144)) = 0.096 / 0.1712
    t = bruce_vincent(0.01, 20e-6, 12e-6, 100.0, 120.0, iss_stderr=0.1e-6)
    assert t.value == pytest.approx(0.096 / 0.1712, rel=1e-12)
    assert t.value == pytest.approx(0.5607477, abs=1e-7)
    # d t+/d Iss = (dV - I0 R0)/I0 * dV/(dV - Iss Rss)^2 = 400 * 0.01 / 0.00856^2
    assert t.stderr == pytest.approx(0.1e-6 * 400 * 0.01 / 0.00856**2, rel=1e-6)


def test_bruce_vincent_rejects_unphysical():
    with pytest.raises(InvalidInputError, match="I0\\*R0"):
        bruce_vincent(0.01, 200e-6, 12e-6, 100.0, 120.0)


def test_ion_transport_number():
    t = ion_transport_number(10e-6, 0.5e-6, i0_stderr=0.1e-6, iss_stderr=0.05e-6)
    assert t.value == pytest.approx(0.95)
    exp = math.hypot(0.5e-6 / 10e-6**2 * 0.1e-6, 0.05e-6 / 10e-6)
    assert t.stderr == pytest.approx(exp, rel=1e-9)
    with pytest.raises(InvalidInputError):
        ion_transport_number(1e-6, 2e-6)


def test_electronic_conductivity_from_slope():
    v = np.array([0.1, 0.2, 0.3, 0.4, 0.5])
    i = 2e-9 * v + 1e-12
    r = electronic_conductivity(v, i, 0.1, 0.5)
    assert r.conductance_S == pytest.approx(2e-9, rel=1e-9)
    assert r.sigma_e_S_per_cm == pytest.approx(4e-10, rel=1e-9)
    assert r.intercept_A == pytest.approx(1e-12, rel=1e-6)
    with pytest.raises(InsufficientDataError):
        electronic_conductivity([0.1, 0.1, 0.2], [1, 1, 2], 0.1, 0.5)


def test_subtract_series_layers():
    r = subtract_series_layers(1000.0, {"MOF_top": (150.0, 5.0), "MOF_bottom": (120.0, 5.0)}, total_stderr=10.0)
    assert r.resistance_ohm == pytest.approx(730.0)
    assert r.stderr_ohm == pytest.approx(math.sqrt(150.0))
    assert r.significant
    r2 = subtract_series_layers(500.0, [100.0, (50.0, 1.0)])
    assert r2.resistance_ohm == pytest.approx(350.0) and r2.stderr_ohm == pytest.approx(1.0)
    with pytest.raises(NegativeResultError, match="exceed"):
        subtract_series_layers(100.0, {"MOF": 150.0})


def test_linear_trend_textbook_example():
    # x = 1..5, y = 2,4,5,4,5: slope 0.6, intercept 2.2, r^2 = 0.6, t = 2.1213 on 3 dof -> p = 0.1240
    r = linear_trend([1, 2, 3, 4, 5], [2, 4, 5, 4, 5])
    assert (r.slope, r.intercept, r.r2, r.n) == (pytest.approx(0.6), pytest.approx(2.2), pytest.approx(0.6), 5)
    assert r.p_value == pytest.approx(0.1240, abs=5e-4)
    # s^2 = RSS/(n-2) = 2.4/3 = 0.8, Sxx = 10 -> se = sqrt(0.08)
    assert r.slope_stderr == pytest.approx(math.sqrt(0.08))


def test_log_linear_trend():
    x = np.array([0.0, 0.1, 0.2, 0.3, 0.4])
    r = log_linear_trend(x, 10 ** (-4 + 5 * x))
    assert r.slope == pytest.approx(5.0) and r.intercept == pytest.approx(-4.0) and r.r2 == pytest.approx(1.0)
    with pytest.raises(InvalidInputError):
        log_linear_trend(x, [1, 2, 0, 4, 5])
    with pytest.raises(InsufficientDataError):
        linear_trend([1, 2], [3, 4])
