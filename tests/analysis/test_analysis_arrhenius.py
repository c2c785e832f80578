import math

import numpy as np
import pytest
from scipy.stats import linregress

from ionbase.analysis import fit_arrhenius, fit_arrhenius_batch
from ionbase.analysis.arrhenius import KB_EV
from ionbase.analysis.errors import InsufficientDataError, InvalidInputError


def _series(Ea, s0, T, noise=0.0, seed=0, form="sigma"):
    rng = np.random.default_rng(seed)
    y = s0 * np.exp(-Ea / (KB_EV * T))
    if form == "sigmaT":
        y = y / T
    return y * np.exp(noise * rng.standard_normal(len(T)))


def test_exact_recovery_and_sigma_25C():
    T = np.array([300.0, 320, 340, 360, 380])
    r = fit_arrhenius(T, _series(0.3, 100.0, T))
    assert r.form == "sigma" and r.Ea_eV == pytest.approx(0.3, rel=1e-10)
    assert r.prefactor == pytest.approx(100.0, rel=1e-9) and r.r2 == pytest.approx(1.0)
    assert r.sigma_25C_S_per_cm == pytest.approx(100 * math.exp(-0.3 / (KB_EV * 298.15)), rel=1e-9)
    assert r.extrapolated is True  # 298.15 < 300
    r2 = fit_arrhenius(np.r_[290.0, T], _series(0.3, 100.0, np.r_[290.0, T]))
    assert r2.extrapolated is False and not r2.break_detected


def test_sigmaT_form_differs_from_sigma_form():
    T = np.linspace(300, 400, 6)
    s = _series(0.4, 1e5, T, form="sigmaT")  # sigma*T = 1e5 exp(-0.4/kT)
    rt = fit_arrhenius(T, s, form="sigmaT")
    assert rt.Ea_eV == pytest.approx(0.4, rel=1e-10) and rt.prefactor == pytest.approx(1e5, rel=1e-8)
    assert rt.prefactor_unit == "S K/cm"
    rs = fit_arrhenius(T, s)  # simple form on sigmaT data: Ea lower by ~ kB*T_mean
    assert 0.4 - rs.Ea_eV == pytest.approx(KB_EV * 350, rel=0.05)


def test_stderr_matches_linregress():
    T = np.linspace(280, 420, 8)
    s = _series(0.5, 1e3, T, noise=0.05, seed=1)
    ref = linregress(1 / T, np.log(s))
    r = fit_arrhenius(T, s)
    assert r.Ea_eV == pytest.approx(-ref.slope * KB_EV, rel=1e-10)
    assert r.Ea_stderr_eV == pytest.approx(ref.stderr * KB_EV, rel=1e-10)
    assert r.r2 == pytest.approx(ref.rvalue**2, rel=1e-10)


def test_refuses_bad_input():
    with pytest.raises(InsufficientDataError, match="3 distinct"):
        fit_arrhenius([300, 300, 310, 310], [1e-3, 1.1e-3, 2e-3, 2e-3])
    with pytest.raises(InvalidInputError, match="> 0 K"):
        fit_arrhenius([-5, 50, 75], [1, 2, 3])
    with pytest.raises(InvalidInputError):
        fit_arrhenius([300, 310, 320], [1e-3, 0, 2e-3])
    with pytest.raises(InvalidInputError):
        fit_arrhenius([300, 310, 320], [1e-3, 2e-3, 3e-3], form="sigmaTT")


def test_break_detected_for_order_disorder_transition():
    # NaCB11H12-like: low-T phase Ea 0.6 eV, superionic above ~375 K with Ea 0.25 eV and a jump
    T = np.arange(250.0, 430.0, 10.0)
    lo = _series(0.60, 1e6, T, noise=0.03, seed=2)
    hi = _series(0.25, 1e2, T, noise=0.03, seed=3)
    s = np.where(T < 375, lo, hi)
    r = fit_arrhenius(T, s)
    assert r.break_detected
    assert 370 <= r.break_T_K <= 380
    assert r.Ea_eV is None and r.Ea_stderr_eV is None and r.prefactor is None and r.r2 is None
    low, high = r.segments
    assert low.Ea_eV == pytest.approx(0.60, abs=0.03) and high.Ea_eV == pytest.approx(0.25, abs=0.03)
    assert low.T_max_K == 370 and high.T_min_K == 380
    # sigma(25 C) from the low-T segment, interpolated (298.15 K is inside 250-370 K)
    assert r.sigma_25C_S_per_cm == pytest.approx(1e6 * math.exp(-0.6 / (KB_EV * 298.15)), rel=0.05)
    assert r.extrapolated is False
    assert fit_arrhenius(T, s, detect_break=False).Ea_eV is not None


def test_no_false_breaks_on_straight_noisy_lines():
    T = np.linspace(260, 420, 12)
    hits = sum(fit_arrhenius(T, _series(0.45, 1e4, T, noise=0.05, seed=k)).break_detected for k in range(200))
    assert hits == 0


def test_batch_matches_linregress_with_padding_and_masks():
    rng = np.random.default_rng(7)
    m, k = 300, 10
    T = np.full((m, k), np.nan)
    S = np.full((m, k), np.nan)
    lens = rng.integers(5, 11, m)
    for i, n in enumerate(lens):
        t = np.sort(rng.uniform(250, 450, n))
        T[i, :n], S[i, :n] = t, _series(rng.uniform(0.2, 0.8), 10 ** rng.uniform(0, 4), t, 0.05, seed=i)
    b = fit_arrhenius_batch(T, S)
    for i in range(0, m, 17):
        n = lens[i]
        ref = linregress(1 / T[i, :n], np.log(S[i, :n]))
        assert b.n[i] == n
        assert b.Ea_eV[i] == pytest.approx(-ref.slope * KB_EV, rel=1e-9)
        assert b.Ea_stderr_eV[i] == pytest.approx(ref.stderr * KB_EV, rel=1e-7)
        assert b.r2[i] == pytest.approx(ref.rvalue**2, rel=1e-9)
    bm = fit_arrhenius_batch(np.ma.masked_invalid(T), np.ma.masked_invalid(S))
    np.testing.assert_allclose(bm.Ea_eV, b.Ea_eV)
    one = fit_arrhenius(T[5, :lens[5]], S[5, :lens[5]], detect_break=False)
    assert b.Ea_eV[5] == pytest.approx(one.Ea_eV, rel=1e-9) and b.prefactor[5] == pytest.approx(one.prefactor, rel=1e-8)


def test_batch_insufficient_rows_are_nan_and_bad_values_raise():
    T = np.array([[300, 310, 320, np.nan], [300, 300, 310, np.nan]])
    S = np.array([[1e-3, 2e-3, 3e-3, np.nan], [1e-3, 1e-3, 2e-3, np.nan]])
    b = fit_arrhenius_batch(T, S)
    assert np.isfinite(b.Ea_eV[0]) and np.isnan(b.Ea_eV[1])
    with pytest.raises(InvalidInputError, match="series 0"):
        fit_arrhenius_batch(np.array([[300.0, -1, 320]]), np.array([[1.0, 2, 3]]))


def test_quality_flags_thresholds():
    from ionbase.analysis.arrhenius import MIN_TEMPERATURES_UNFLAGGED, POOR_FIT_R2, quality_flags

    assert (POOR_FIT_R2, MIN_TEMPERATURES_UNFLAGGED) == (0.9, 4)
    assert quality_flags(0.999, 5) == []
    assert quality_flags(0.9, 4) == []
    assert quality_flags(0.899, 4) == ["poor_fit"]
    assert quality_flags(0.24, 3) == ["poor_fit", "few_points"]
    assert quality_flags(0.99, 3) == ["few_points"]
    assert quality_flags(float("nan"), 5) == ["poor_fit"] and quality_flags(None, 5) == ["poor_fit"]
