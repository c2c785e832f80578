"""Shared helpers: JSON-able frozen dataclasses and input validation."""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, fields
from typing import Any

import numpy as np

from .errors import InsufficientDataError, InvalidInputError



def uf(value: float, stderr: float):
    """uncertainties.ufloat without the std_dev==0 warning (exact inputs are normal here)."""
    from uncertainties import ufloat

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return ufloat(value, stderr)


def plain(value: Any) -> Any:
    """Convert numpy scalars/arrays, tuples and nested results to JSON-able Python.

    Non-finite floats become ``None`` (JSON has no NaN/inf).
    """
    if hasattr(value, "to_dict") and callable(value.to_dict):
        return value.to_dict()
    if isinstance(value, np.ndarray):
        return [plain(v) for v in value.tolist()]
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        v = float(value)
        return v if math.isfinite(v) else None
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    return value


class DictMixin:
    """``to_dict()`` for frozen dataclasses: plain JSON-able values."""

    def to_dict(self) -> dict[str, Any]:
        return {f.name: plain(getattr(self, f.name)) for f in fields(self)}  # type: ignore[arg-type]


@dataclass(frozen=True)
class Estimate(DictMixin):
    """A value with its one-standard-deviation uncertainty and unit."""

    value: float
    stderr: float
    unit: str


def as_float_array(name: str, values: Any, *, ndim: int = 1, allow_nan: bool = False) -> np.ndarray:
    """Return ``values`` as a float ndarray, raising InvalidInputError on bad input."""
    try:
        arr = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"{name}: cannot convert to an array of numbers ({exc})") from None
    if arr.ndim != ndim:
        raise InvalidInputError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    if not allow_nan and not np.all(np.isfinite(arr)):
        bad = int(np.flatnonzero(~np.isfinite(arr.ravel()))[0])
        raise InvalidInputError(f"{name}: non-finite value at index {bad}")
    return arr


def as_float(name: str, value: Any, *, positive: bool = False, nonnegative: bool = False) -> float:
    """Validate a scalar."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise InvalidInputError(f"{name}: {value!r} is not a number") from None
    if not math.isfinite(v):
        raise InvalidInputError(f"{name}: must be finite, got {v}")
    if positive and v <= 0:
        raise InvalidInputError(f"{name}: must be > 0, got {v}")
    if nonnegative and v < 0:
        raise InvalidInputError(f"{name}: must be >= 0, got {v}")
    return v


def same_length(**arrays: np.ndarray) -> int:
    lengths = {k: len(v) for k, v in arrays.items()}
    if len(set(lengths.values())) != 1:
        raise InvalidInputError(f"arrays must have equal length, got {lengths}")
    return next(iter(lengths.values()))


@dataclass(frozen=True)
class LineFit:
    """Ordinary least-squares line y = intercept + slope * x (internal helper)."""

    slope: float
    intercept: float
    slope_stderr: float
    intercept_stderr: float
    r2: float
    n: int
    rss: float
    x_mean: float
    sxx: float

    def predict_stderr(self, x0: float) -> float:
        """Standard error of the fitted mean at x0: s * sqrt(1/n + (x0 - xbar)^2 / Sxx)."""
        if self.n <= 2:
            return float("nan")
        s2 = self.rss / (self.n - 2)
        return math.sqrt(s2 * (1.0 / self.n + (x0 - self.x_mean) ** 2 / self.sxx))


def rounding_rss(n: float | np.ndarray, y_max_abs: float | np.ndarray) -> float | np.ndarray:
    """The sum of squares that rounding alone leaves in n values of magnitude <= y_max_abs (a few ulps
    each; callers pass |mean| + sqrt(Syy), which bounds every |y|). A residual sum below it means an
    exact line (no break is looked for, analysis/arrhenius.py); a spread Syy below it means y does
    not vary (the mean of >= 8 equal floats need not equal them), so R² is 1, not the ratio of two
    rounding errors (a constant sigma once got R² = 1e-16 and a poor_fit flag)."""
    return n * (16 * np.finfo(float).eps * y_max_abs) ** 2


def linear_fit(x: np.ndarray, y: np.ndarray) -> LineFit:
    """Closed-form OLS (two-pass, centred sums for numerical stability)."""
    n = len(x)
    if n < 2:
        raise InsufficientDataError(f"need at least 2 points for a line, got {n}")
    xm, ym = float(np.mean(x)), float(np.mean(y))
    dx, dy = x - xm, y - ym
    sxx = float(dx @ dx)
    if sxx <= 0:
        raise InsufficientDataError("all x values are identical; slope undefined")
    slope = float(dx @ dy) / sxx
    intercept = ym - slope * xm
    resid = dy - slope * dx
    rss = float(resid @ resid)
    syy = float(dy @ dy)
    r2 = 1.0 - rss / syy if syy > rounding_rss(n, abs(ym) + math.sqrt(syy)) else 1.0
    if n > 2:
        s2 = rss / (n - 2)
        se_slope = math.sqrt(s2 / sxx)
        se_int = math.sqrt(s2 * (1.0 / n + xm * xm / sxx))
    else:
        se_slope = se_int = float("nan")
    return LineFit(slope, intercept, se_slope, se_int, r2, n, rss, xm, sxx)
