"""Galvanostatic cycling metrics for full/half cells and symmetric cells.

* Coulombic efficiency per cycle: CE_n = Q_out,n / Q_in,n (charge extracted / charge
  inserted in the same cycle; for a cathode-first cell Q_out = discharge, Q_in = charge).
* Capacity retention: R_n = Q_n / Q_ref; state of health (SOH) = R_n.
* Cycles to 80 % SOH: first cycle with R_n < 0.8 (IEEE 1188 / USABC end-of-life convention).
* Mean CE over a cycle window.
* Symmetric cells: cycles until |overpotential| exceeds a cut-off; overpotential trend
  (OLS slope per cycle); nucleation overvoltage = |V| spike minus |V| plateau of the
  first plating step (A. Pei et al., Nano Lett. 17, 1132 (2017); K. N. Wood et al.,
  ACS Energy Lett. 3, 2160 (2018)).
Reference for CE / retention definitions: J. Xiao et al., Nat. Energy 5, 561 (2020).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np

from ._common import DictMixin, as_float, as_float_array, linear_fit, same_length
from .errors import InsufficientDataError, InvalidInputError

__all__ = ["coulombic_efficiency", "capacity_retention", "SOHResult", "cycles_to_soh", "mean_ce",
           "OverpotentialLimitResult", "cycles_until_overpotential", "OverpotentialTrend",
           "overpotential_trend", "NucleationResult", "nucleation_overvoltage"]


def _cycles(cycle_numbers, n: int) -> np.ndarray:
    if cycle_numbers is None:
        return np.arange(1, n + 1, dtype=float)
    c = as_float_array("cycle_numbers", cycle_numbers)
    if len(c) != n:
        raise InvalidInputError(f"cycle_numbers has {len(c)} entries, data has {n}")
    if np.any(np.diff(c) <= 0):
        raise InvalidInputError("cycle_numbers must be strictly increasing")
    return c


def coulombic_efficiency(capacity_in: np.ndarray, capacity_out: np.ndarray) -> np.ndarray:
    """CE_n = Q_out,n / Q_in,n per cycle (dimensionless; Xiao et al., Nat. Energy 2020)."""
    qi, qo = as_float_array("capacity_in", capacity_in), as_float_array("capacity_out", capacity_out)
    same_length(capacity_in=qi, capacity_out=qo)
    if np.any(qi <= 0) or np.any(qo < 0):
        raise InvalidInputError("capacities must be positive (capacity_in > 0, capacity_out >= 0)")
    return qo / qi


def capacity_retention(capacity: np.ndarray, reference_index: int = 0) -> np.ndarray:
    """Retention R_n = Q_n / Q_ref, Q_ref = capacity[reference_index] (0-based index)."""
    q = as_float_array("capacity", capacity)
    if not -len(q) <= reference_index < len(q):
        raise InvalidInputError(f"reference_index {reference_index} out of range for {len(q)} cycles")
    if q[reference_index] <= 0:
        raise InvalidInputError("reference capacity must be > 0")
    if np.any(q < 0):
        raise InvalidInputError("capacities must be >= 0")
    return q / q[reference_index]


@dataclass(frozen=True)
class SOHResult(DictMixin):
    """cycle: first cycle number with retention < threshold, or None when never reached
    (then reached=False and last_retention tells how far the cell got)."""

    cycle: Optional[float]
    reached: bool
    threshold: float
    reference_cycle: float
    last_retention: float


def cycles_to_soh(capacity: np.ndarray, threshold: float = 0.8, reference_index: int = 0,
                  cycle_numbers: Optional[np.ndarray] = None) -> SOHResult:
    """First cycle where Q_n / Q_ref < threshold (default 80 % SOH end-of-life criterion)."""
    thr = as_float("threshold", threshold, positive=True)
    ret = capacity_retention(capacity, reference_index)
    cyc = _cycles(cycle_numbers, len(ret))
    after = np.arange(len(ret)) > (reference_index % len(ret))
    hit = np.flatnonzero((ret < thr) & after)
    if hit.size == 0:
        return SOHResult(None, False, thr, float(cyc[reference_index]), float(ret[-1]))
    return SOHResult(float(cyc[hit[0]]), True, thr, float(cyc[reference_index]), float(ret[-1]))


def mean_ce(ce: np.ndarray, start: int = 0, stop: Optional[int] = None) -> tuple[float, float, int]:
    """Mean CE over ce[start:stop] (0-based slice); returns (mean, standard deviation, n)."""
    c = as_float_array("ce", ce)
    window = c[start:stop]
    if window.size == 0:
        raise InsufficientDataError(f"empty CE window [{start}:{stop}] for {len(c)} cycles")
    sd = float(np.std(window, ddof=1)) if window.size > 1 else float("nan")
    return float(np.mean(window)), sd, int(window.size)


@dataclass(frozen=True)
class OverpotentialLimitResult(DictMixin):
    cycle: Optional[float]
    exceeded: bool
    cutoff_V: float


def cycles_until_overpotential(overpotential_V: np.ndarray, cutoff_V: float,
                               cycle_numbers: Optional[np.ndarray] = None) -> OverpotentialLimitResult:
    """First cycle where |overpotential| > cutoff (symmetric-cell failure criterion); None if never."""
    eta = np.abs(as_float_array("overpotential_V", overpotential_V))
    cut = as_float("cutoff_V", cutoff_V, positive=True)
    cyc = _cycles(cycle_numbers, len(eta))
    hit = np.flatnonzero(eta > cut)
    return OverpotentialLimitResult(float(cyc[hit[0]]) if hit.size else None, bool(hit.size), cut)


@dataclass(frozen=True)
class OverpotentialTrend(DictMixin):
    slope_V_per_cycle: float
    slope_stderr: float
    intercept_V: float
    r2: float
    n: int


def overpotential_trend(overpotential_V: np.ndarray,
                        cycle_numbers: Optional[np.ndarray] = None) -> OverpotentialTrend:
    """OLS slope of |overpotential| vs cycle number (V per cycle)."""
    eta = np.abs(as_float_array("overpotential_V", overpotential_V))
    cyc = _cycles(cycle_numbers, len(eta))
    if len(eta) < 3:
        raise InsufficientDataError(f"overpotential trend needs >= 3 cycles, got {len(eta)}")
    fit = linear_fit(cyc, eta)
    return OverpotentialTrend(fit.slope, fit.slope_stderr, fit.intercept, fit.r2, fit.n)


@dataclass(frozen=True)
class NucleationResult(DictMixin):
    nucleation_overvoltage_V: float  # |V_peak| - |V_plateau|
    peak_V: float  # signed voltage at the spike
    plateau_V: float  # signed median plateau voltage
    peak_time_s: float
    step_end_time_s: float


def nucleation_overvoltage(time_s: np.ndarray, voltage_V: np.ndarray) -> NucleationResult:
    """Nucleation overvoltage of the first plating step: eta_n = |V|_peak - |V|_plateau.

    The first step runs from the start until the voltage first changes sign (or the end of
    the data). Its polarity is the sign of its median voltage. Peak = max |V| in the first
    half of the step; plateau = median |V| over the second half of the step
    (Pei et al., Nano Lett. 2017). Raises if the spike is not in the first half.
    """
    t, v = as_float_array("time_s", time_s), as_float_array("voltage_V", voltage_V)
    n = same_length(time_s=t, voltage_V=v)
    if n < 6:
        raise InsufficientDataError(f"need >= 6 points in the voltage-time curve, got {n}")
    if np.any(np.diff(t) <= 0):
        raise InvalidInputError("time_s must be strictly increasing")
    nz = v[v != 0]
    if nz.size == 0:
        raise InvalidInputError("voltage is identically zero")
    sign0 = np.sign(nz[0])
    flips = np.flatnonzero(np.sign(v) == -sign0)
    end = int(flips[0]) if flips.size else n
    step_v = v[:end] * sign0
    if end < 6:
        raise InsufficientDataError(f"first plating step has only {end} points")
    half = end // 2
    ipk = int(np.argmax(step_v[:half]))
    plateau = float(np.median(step_v[half:]))
    eta = float(step_v[ipk] - plateau)
    if eta < 0:
        raise InvalidInputError("no nucleation spike: early |V| is below the plateau")
    return NucleationResult(eta, float(step_v[ipk] * sign0), plateau * sign0, float(t[ipk]), float(t[end - 1]))
