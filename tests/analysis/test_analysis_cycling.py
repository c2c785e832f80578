import numpy as np
import pytest

from ionbase.analysis import (capacity_retention, coulombic_efficiency, cycles_to_soh, cycles_until_overpotential, mean_ce,
                      nucleation_overvoltage, overpotential_trend)
from ionbase.analysis.errors import InsufficientDataError, InvalidInputError


def test_ce_and_retention():
    ce = coulombic_efficiency([100, 100, 100, 100], [95, 98, 99, 99.5])
    np.testing.assert_allclose(ce, [0.95, 0.98, 0.99, 0.995])
    m, sd, n = mean_ce(ce, 1)
    assert (m, n) == (pytest.approx((0.98 + 0.99 + 0.995) / 3), 3)
    np.testing.assert_allclose(capacity_retention([200, 190, 150], 0), [1, 0.95, 0.75])
    with pytest.raises(InvalidInputError):
        coulombic_efficiency([0, 1], [1, 1])


def test_cycles_to_80_percent():
    cap = [200, 190, 170, 165, 159, 150]
    r = cycles_to_soh(cap)
    assert r.reached and r.cycle == 5  # 159/200 = 0.795 < 0.8, 165/200 = 0.825
    r2 = cycles_to_soh(cap, cycle_numbers=[10, 20, 30, 40, 50, 60])
    assert r2.cycle == 50
    never = cycles_to_soh([200, 199, 198])
    assert never.cycle is None and not never.reached and never.last_retention == pytest.approx(0.99)
    # reference cycle 2 (index 1): 150/190 = 0.789 < 0.8 first at cycle 6; 159/190 = 0.837
    assert cycles_to_soh(cap, reference_index=1).cycle == 6


def test_overpotential_limits_and_trend():
    eta = [0.01, 0.012, 0.014, 0.05, 0.2]
    r = cycles_until_overpotential(eta, 0.1)
    assert r.exceeded and r.cycle == 5
    assert not cycles_until_overpotential(eta, 1.0).exceeded
    t = overpotential_trend([0.010, 0.012, 0.014, 0.016])
    assert t.slope_V_per_cycle == pytest.approx(0.002) and t.intercept_V == pytest.approx(0.008)


def test_nucleation_overvoltage():
    t = np.linspace(0, 200, 2001)
    v = np.where(t < 100, -(0.02 + 0.03 * np.exp(-((t - 3.0) / 1.0) ** 2)), 0.021)
    r = nucleation_overvoltage(t, v)
    assert r.nucleation_overvoltage_V == pytest.approx(0.03, abs=1e-6)
    assert r.peak_V == pytest.approx(-0.05, abs=1e-6) and r.plateau_V == pytest.approx(-0.02, abs=1e-9)
    assert r.peak_time_s == pytest.approx(3.0, abs=0.1)
    with pytest.raises(InsufficientDataError):
        nucleation_overvoltage([0, 1, 2], [-1, -1, -1])
