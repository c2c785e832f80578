"""Arrhenius analysis of ionic conductivity.

Forms (kB = 8.617333262e-5 eV/K):
  "sigma"  : sigma   = sigma0 * exp(-Ea / (kB T))  -> ln(sigma)   = ln(sigma0) - (Ea/kB)(1/T)
  "sigmaT" : sigma*T = A      * exp(-Ea / (kB T))  -> ln(sigma T) = ln(A)      - (Ea/kB)(1/T)
Fitted by ordinary least squares of the log-linear form in 1/T (e.g. A. R. West,
Solid State Chemistry and its Applications, 2nd ed., ch. 8; Bachman et al., Chem. Rev.
116, 140 (2016)).

DEFAULT FORM: "sigma" (the simple form). The sigmaT form (the physically motivated
hopping form) gives an Ea larger by ~kB*T_mean (~0.03 eV at 350 K); always store which
form was used (ArrheniusResult.form).

Slope breaks (order-disorder transitions, e.g. NaCB11H12 / Na2B12H12 closo-borates,
Tang et al., Energy Environ. Sci. 8, 3637 (2015)): every split of the T-sorted data into
two contiguous segments with >= 3 points each is fitted with two independent lines.
The best split is accepted as a break only when it is clearly better than a single line:
F-test p < 1e-4 (2 extra coefficients; Bonferroni-corrected for the number of candidate
splits) AND dBIC = BIC_1 - BIC_2 > 10 ("very strong",
Kass & Raftery, JASA 90, 773 (1995)), counting the break location as a parameter. No break is
looked for when the single line already fits to rounding (an exact line, or a constant sigma whose
"residuals" are only the rounding of its mean), nor in fewer than 6 points.
When a break is detected: break_detected=True, break_T_K and `segments` (low-T first) are
set, and the single-line fields Ea_eV, Ea_stderr_eV, prefactor, prefactor_stderr and r2
are None (an averaged Ea across a transition is not physically meaningful).
sigma_25C_S_per_cm is then taken from the segment whose T range is nearest to 298.15 K.

Fit quality (:func:`quality_flags`): a fit is flagged "poor_fit" when R² < POOR_FIT_R2 (0.9; for
a conductivity series spanning an order of magnitude a real Arrhenius line has R² > 0.99, so 0.9
only lets clear scatter or curvature through unflagged), and "few_points" when it rests on fewer
than MIN_TEMPERATURES_UNFLAGGED (4) distinct temperatures (3 points leave one degree of freedom).
Flagged fits are still results: callers store them with their flags, never as if fine.

Many series at once: :func:`fit_arrhenius_batch` (module arrhenius_batch), the same fits and
break decisions vectorised.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import stats

from ._common import DictMixin, LineFit, as_float_array, linear_fit, rounding_rss, same_length
from .errors import InsufficientDataError, InvalidInputError

__all__ = ["KB_EV", "T_25C_K", "ArrheniusSegment", "ArrheniusResult", "fit_arrhenius",
           "BatchArrheniusResult", "BatchArrheniusSegments", "fit_arrhenius_batch", "DEFAULT_FORM", "quality_flags",
           "POOR_FIT_R2", "MIN_TEMPERATURES_UNFLAGGED"]

KB_EV = 8.617333262e-5  # eV/K (CODATA 2018, exact)
T_25C_K = 298.15
DEFAULT_FORM = "sigma"
FORMS = ("sigma", "sigmaT")
BREAK_P_VALUE = 1e-4
BREAK_DELTA_BIC = 10.0
POOR_FIT_R2 = 0.9
MIN_TEMPERATURES_UNFLAGGED = 4


@dataclass(frozen=True)
class ArrheniusSegment(DictMixin):
    Ea_eV: float
    Ea_stderr_eV: float
    prefactor: float
    prefactor_stderr: float
    r2: float
    n: int
    T_min_K: float
    T_max_K: float


@dataclass(frozen=True)
class ArrheniusResult(DictMixin):
    """Result of :func:`fit_arrhenius`. prefactor unit: S/cm ("sigma") or S K/cm ("sigmaT")."""

    form: str
    Ea_eV: Optional[float]
    Ea_stderr_eV: Optional[float]
    prefactor: Optional[float]
    prefactor_stderr: Optional[float]
    prefactor_unit: str
    r2: Optional[float]
    n: int
    T_min_K: float
    T_max_K: float
    sigma_25C_S_per_cm: float
    sigma_25C_stderr_S_per_cm: float
    extrapolated: bool
    break_detected: bool = False
    break_T_K: Optional[float] = None
    segments: tuple = ()
    break_p_value: Optional[float] = None
    break_delta_bic: Optional[float] = None


def _y(T: np.ndarray, sigma: np.ndarray, form: str) -> np.ndarray:
    return np.log(sigma) + (np.log(T) if form == "sigmaT" else 0.0)


def _segment(fit: LineFit, T: np.ndarray) -> ArrheniusSegment:
    pref = math.exp(fit.intercept)
    return ArrheniusSegment(-fit.slope * KB_EV, fit.slope_stderr * KB_EV, pref, pref * fit.intercept_stderr,
                            fit.r2, fit.n, float(T.min()), float(T.max()))


def _sigma_at(fit: LineFit, T0: float, form: str) -> tuple[float, float]:
    lny = fit.intercept + fit.slope / T0
    val = math.exp(lny) / (T0 if form == "sigmaT" else 1.0)
    return val, val * fit.predict_stderr(1.0 / T0)


def _bic(rss: float, n: int, k: int, floor: float) -> float:
    return n * math.log(max(rss, floor) / n) + k * math.log(n)


def _checked_series(temperature_K, sigma_S_per_cm, form: str) -> tuple[np.ndarray, np.ndarray, int]:
    """Validated float arrays (T > 0 K, sigma > 0, >= 3 distinct temperatures) and their length."""
    if form not in FORMS:
        raise InvalidInputError(f"form must be one of {FORMS}, got {form!r}")
    T = as_float_array("temperature_K", temperature_K)
    s = as_float_array("sigma_S_per_cm", sigma_S_per_cm)
    n = same_length(temperature_K=T, sigma_S_per_cm=s)
    if np.any(T <= 0):
        raise InvalidInputError(f"temperature_K must be > 0 K (index {int(np.flatnonzero(T <= 0)[0])}); "
                                "convert from degrees Celsius first")
    if np.any(s <= 0):
        raise InvalidInputError(f"sigma_S_per_cm must be > 0 (index {int(np.flatnonzero(s <= 0)[0])})")
    n_distinct = len(np.unique(T))
    if n_distinct < 3:
        raise InsufficientDataError(f"Arrhenius fit needs >= 3 distinct temperatures, got {n_distinct}")
    return T, s, n


def _best_split(T: np.ndarray, x: np.ndarray, y: np.ndarray):
    """The two-line split (k, lines) of lowest total RSS, and how many splits were candidates.

    A split never separates points measured at the same temperature, and each side keeps >= 3
    points and >= 2 distinct temperatures."""
    n = len(T)
    best = None
    n_splits = 0
    for k in range(3, n - 2):
        if T[k - 1] == T[k]:
            continue  # never split points measured at the same temperature
        if len(np.unique(T[:k])) < 2 or len(np.unique(T[k:])) < 2:
            continue
        n_splits += 1
        lo, hi = linear_fit(x[:k], y[:k]), linear_fit(x[k:], y[k:])
        rss2 = lo.rss + hi.rss
        if best is None or rss2 < best[0]:
            best = (rss2, k, lo, hi)
    return best, n_splits


def _break_temperature(T: np.ndarray, k: int, lo: LineFit, hi: LineFit) -> float:
    """Where the two lines cross in 1/T if that lies between the bracketing points, else the
    harmonic mean of the bracketing temperatures."""
    ta, tb = T[k - 1], T[k]
    tbk = 2.0 / (1.0 / ta + 1.0 / tb)
    if hi.slope != lo.slope:
        xi = (lo.intercept - hi.intercept) / (hi.slope - lo.slope)
        if xi > 0 and ta <= 1.0 / xi <= tb:
            tbk = 1.0 / xi
    return tbk


def _break_fit(T: np.ndarray, x: np.ndarray, y: np.ndarray, full: LineFit, form: str,
               unit: str) -> "ArrheniusResult | None":
    """The two-segment result when a break is significant (F test with Bonferroni correction over
    the candidate splits, p < BREAK_P_VALUE, and BIC gain > BREAK_DELTA_BIC); else None."""
    n = len(T)
    syy = float(np.sum((y - y.mean()) ** 2))
    floor = max(1e-24 * syy, 1e-300)
    if not (full.rss > max(floor, rounding_rss(n, abs(float(y.mean())) + math.sqrt(syy))) and n > 5):
        return None  # the single line fits to rounding (an exact line, or constant sigma): nothing to split
    best, n_splits = _best_split(T, x, y)
    if best is None:
        return None
    rss2, k, lo, hi = best
    dof = n - 4
    F = ((full.rss - rss2) / 2.0) / (max(rss2, floor) / dof)
    # Bonferroni: the best of n_splits candidate splits was selected
    p = min(1.0, float(stats.f.sf(F, 2, dof)) * n_splits)
    dbic = _bic(full.rss, n, 3, floor) - _bic(rss2, n, 6, floor)
    if not (p < BREAK_P_VALUE and dbic > BREAK_DELTA_BIC):
        return None
    tbk = _break_temperature(T, k, lo, hi)
    segs = (_segment(lo, T[:k]), _segment(hi, T[k:]))
    use = lo if T_25C_K <= tbk else hi
    s25, u25 = _sigma_at(use, T_25C_K, form)
    seg_T = T[:k] if use is lo else T[k:]
    return ArrheniusResult(form, None, None, None, None, unit, None, n, float(T[0]), float(T[-1]),
                           s25, u25, not (seg_T[0] <= T_25C_K <= seg_T[-1]), True, float(tbk),
                           segs, p, float(dbic))


def fit_arrhenius(temperature_K: np.ndarray, sigma_S_per_cm: np.ndarray, form: str = DEFAULT_FORM,
                  detect_break: bool = True) -> ArrheniusResult:
    """Fit sigma = sigma0 exp(-Ea/kB T) ("sigma", default) or sigma T = A exp(-Ea/kB T) ("sigmaT").

    OLS of ln(sigma) [or ln(sigma T)] vs 1/T; Ea = -slope*kB (eV), stderr from the slope's
    standard error; sigma(298.15 K) from the fitted line, extrapolated=True when 298.15 K is
    outside [T_min, T_max]. Needs >= 3 distinct temperatures. See module docstring for
    break detection and which fields are set when a break is found.
    """
    T, s, n = _checked_series(temperature_K, sigma_S_per_cm, form)
    order = np.argsort(T, kind="stable")
    T, s = T[order], s[order]
    x, y = 1.0 / T, _y(T, s, form)
    full = linear_fit(x, y)
    unit = "S/cm" if form == "sigma" else "S K/cm"
    extrap = not (T[0] <= T_25C_K <= T[-1])

    if detect_break and n >= 6:
        broken = _break_fit(T, x, y, full, form, unit)
        if broken is not None:
            return broken

    seg = _segment(full, T)
    s25, u25 = _sigma_at(full, T_25C_K, form)
    return ArrheniusResult(form, seg.Ea_eV, seg.Ea_stderr_eV, seg.prefactor, seg.prefactor_stderr, unit,
                           full.r2, n, float(T[0]), float(T[-1]), s25, u25, extrap)


def quality_flags(r2: float | None, n_temperatures: int) -> list[str]:
    """Why a single line fit should not be trusted as is: "poor_fit" (R² < POOR_FIT_R2) and/or
    "few_points" (fewer than MIN_TEMPERATURES_UNFLAGGED distinct temperatures). Empty when fine."""
    flags = []
    if r2 is None or not r2 >= POOR_FIT_R2:  # NaN R² (no variance to explain) is not a good fit either
        flags.append("poor_fit")
    if n_temperatures < MIN_TEMPERATURES_UNFLAGGED:
        flags.append("few_points")
    return flags


# the vectorised batch lives in its own module (it imports the constants and result classes above)
from .arrhenius_batch import BatchArrheniusResult, BatchArrheniusSegments, fit_arrhenius_batch  # noqa: E402
