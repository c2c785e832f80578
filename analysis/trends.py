"""Property-vs-parameter trends across samples.

Linear:      y = intercept + slope * x
Log-linear:  log10(y) = intercept + slope * x      (y > 0)
Ordinary least squares with slope standard error and two-sided p-value of the
t-test for slope = 0 (scipy.stats.linregress; e.g. Montgomery & Runger,
Applied Statistics and Probability for Engineers, ch. 11).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._common import DictMixin, as_float_array, same_length
from .errors import InsufficientDataError, InvalidInputError

__all__ = ["TrendResult", "linear_trend", "log_linear_trend"]


@dataclass(frozen=True)
class TrendResult(DictMixin):
    kind: str  # "linear" or "log10"
    slope: float
    intercept: float
    r2: float
    slope_stderr: float
    intercept_stderr: float
    p_value: float
    n: int


def _fit(x, y, kind: str) -> TrendResult:
    n = same_length(x=x, y=y)
    if n < 3:
        raise InsufficientDataError(f"trend fit needs at least 3 points, got {n}")
    if np.ptp(x) == 0:
        raise InsufficientDataError("all x values are identical; slope undefined")
    r = stats.linregress(x, y)
    return TrendResult(kind, float(r.slope), float(r.intercept), float(r.rvalue**2), float(r.stderr),
                       float(r.intercept_stderr), float(r.pvalue), n)


def linear_trend(x: np.ndarray, y: np.ndarray) -> TrendResult:
    """OLS fit y = a + b x; returns slope, intercept, r2, stderr, p-value (H0: b = 0), n."""
    return _fit(as_float_array("x", x), as_float_array("y", y), "linear")


def log_linear_trend(x: np.ndarray, y: np.ndarray) -> TrendResult:
    """OLS fit log10(y) = a + b x (e.g. log conductivity vs dopant fraction); y must be > 0."""
    xa, ya = as_float_array("x", x), as_float_array("y", y)
    if np.any(ya <= 0):
        raise InvalidInputError(f"y must be > 0 for a log-linear fit (index {int(np.flatnonzero(ya <= 0)[0])})")
    return _fit(xa, np.log10(ya), "log10")
