"""Vectorised Arrhenius fits of many series at once, slope breaks included (issue 15).

Same equations, break rules and results as :func:`analysis.arrhenius.fit_arrhenius` applied to
each series (tests/analysis/test_arrhenius_batch.py), without a
Python loop per series or per candidate split: the series are concatenated (sorted by T within
each series), every per-series or per-segment sum is one ``np.add.reduceat`` over the
concatenated points, and every candidate split of every series is scored in one pass (its left
sums by one reduceat over [series start, split), its right sums as the series total minus those).
The best split of each series is then refitted with the same two-pass centred sums as the full
line, so the F test, BIC and every segment field come from exact segment fits, not from the
prefix-sum scores used to rank the candidates (which only screen out, with a wide margin, the
series whose best split cannot be significant). Large batches are fitted in chunks of whole series
(CHUNK_POINTS points), a loop over chunks only, so that the working arrays stay in cache.

Agreement with fit_arrhenius: break decisions identical, fields to ~1e-13 relative; the standard
errors of near-exact lines (residuals ~1e-5 of the spread in ln sigma, or a constant sigma) are
rounding noise in both and can differ by more (different summation order).

Input: either concatenated 1-D arrays with ``lengths`` (points per series; non-finite values are
refused, as :func:`fit_arrhenius` refuses them), or 2-D arrays (one series per row) padded with
NaN or masked, where a point whose T or sigma is NaN/masked is absent. A series with < 3 distinct
temperatures (where :func:`fit_arrhenius` raises InsufficientDataError) gives NaN fields and
``fitted`` False. Fields that :func:`fit_arrhenius` leaves None are NaN here.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

import numpy as np
from scipy import special

from ._common import DictMixin, as_float_array
from .arrhenius import (BREAK_DELTA_BIC, BREAK_P_VALUE, DEFAULT_FORM, FORMS, KB_EV, MIN_TEMPERATURES_UNFLAGGED,
                        POOR_FIT_R2, T_25C_K, ArrheniusResult, ArrheniusSegment, _rounding_rss)
from .errors import InvalidInputError

__all__ = ["BatchArrheniusSegments", "BatchArrheniusResult", "fit_arrhenius_batch"]

#: how far below its prefix-sum score (in units of the series' Syy) a split's exact RSS is assumed
#: possibly to lie when screening out splits that cannot be significant; the scores' rounding error
#: is ~1e-15 Syy for well-spread temperatures, so this leaves room for badly conditioned series
SCREEN_MARGIN = 1e-6
#: points fitted per pass (a chunk of whole series): its working arrays (128 KiB each) stay in cache
#: and are small enough for malloc to reuse; larger ones are fresh mappings whose page faults cost as
#: much again as the arithmetic (measured at 10,000 series: 0.5 µs per series at 2^14, 1.0 at 2^17)
CHUNK_POINTS = 1 << 14
_SEGMENT_FIELDS = ("Ea_eV", "Ea_stderr_eV", "prefactor", "prefactor_stderr", "r2", "n", "T_min_K", "T_max_K")


@dataclass(frozen=True)
class BatchArrheniusSegments(DictMixin):
    """One side (low-T or high-T) of the break of every series: NaN (n 0) where no break."""

    Ea_eV: np.ndarray
    Ea_stderr_eV: np.ndarray
    prefactor: np.ndarray
    prefactor_stderr: np.ndarray
    r2: np.ndarray
    n: np.ndarray
    T_min_K: np.ndarray
    T_max_K: np.ndarray

    @property
    def poor_fit(self) -> np.ndarray:
        """quality_flags' "poor_fit" for each segment (meaningful where the series broke)."""
        return ~(self.r2 >= POOR_FIT_R2)

    @property
    def few_points(self) -> np.ndarray:
        """quality_flags' "few_points" for each segment, on its point count (as the arrhenius job)."""
        return self.n < MIN_TEMPERATURES_UNFLAGGED


@dataclass(frozen=True)
class BatchArrheniusResult(DictMixin):
    """Per-series arrays, one entry per series in input order; see :class:`ArrheniusResult`."""

    form: str
    prefactor_unit: str
    fitted: np.ndarray
    n: np.ndarray
    n_temperatures: np.ndarray
    T_min_K: np.ndarray
    T_max_K: np.ndarray
    Ea_eV: np.ndarray
    Ea_stderr_eV: np.ndarray
    prefactor: np.ndarray
    prefactor_stderr: np.ndarray
    r2: np.ndarray
    sigma_25C_S_per_cm: np.ndarray
    sigma_25C_stderr_S_per_cm: np.ndarray
    extrapolated: np.ndarray
    break_detected: np.ndarray
    break_T_K: np.ndarray
    break_p_value: np.ndarray
    break_delta_bic: np.ndarray
    low: BatchArrheniusSegments
    high: BatchArrheniusSegments

    @property
    def poor_fit(self) -> np.ndarray:
        """quality_flags' "poor_fit" of the single line (True for broken or unfitted series: no line)."""
        return ~(self.r2 >= POOR_FIT_R2)

    @property
    def few_points(self) -> np.ndarray:
        """quality_flags' "few_points": fewer than MIN_TEMPERATURES_UNFLAGGED distinct temperatures."""
        return self.n_temperatures < MIN_TEMPERATURES_UNFLAGGED

    def result(self, i: int) -> Optional[ArrheniusResult]:
        """Series i as the :class:`ArrheniusResult` fit_arrhenius gives (None where it would raise)."""
        if not self.fitted[i]:
            return None
        common = dict(form=self.form, prefactor_unit=self.prefactor_unit, n=int(self.n[i]),
                      T_min_K=float(self.T_min_K[i]), T_max_K=float(self.T_max_K[i]),
                      sigma_25C_S_per_cm=float(self.sigma_25C_S_per_cm[i]),
                      sigma_25C_stderr_S_per_cm=float(self.sigma_25C_stderr_S_per_cm[i]),
                      extrapolated=bool(self.extrapolated[i]))
        if not self.break_detected[i]:
            return ArrheniusResult(Ea_eV=float(self.Ea_eV[i]), Ea_stderr_eV=float(self.Ea_stderr_eV[i]),
                                   prefactor=float(self.prefactor[i]), prefactor_stderr=float(self.prefactor_stderr[i]),
                                   r2=float(self.r2[i]), **common)
        segs = tuple(ArrheniusSegment(**{f: (int if f == "n" else float)(getattr(side, f)[i]) for f in _SEGMENT_FIELDS})
                     for side in (self.low, self.high))
        return ArrheniusResult(Ea_eV=None, Ea_stderr_eV=None, prefactor=None, prefactor_stderr=None, r2=None,
                               break_detected=True, break_T_K=float(self.break_T_K[i]), segments=segs,
                               break_p_value=float(self.break_p_value[i]),
                               break_delta_bic=float(self.break_delta_bic[i]), **common)


# ----------------------------------------------------------------------------- input


def _padded_to_ragged(temperature_K, sigma_S_per_cm) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """2-D padded (NaN) or masked rows -> concatenated points and lengths; absent points dropped."""
    def filled(name, a):
        if np.ma.isMaskedArray(a):
            return np.ma.filled(np.ma.asarray(a, dtype=float), np.nan)
        return as_float_array(name, a, ndim=2, allow_nan=True)

    T, S = filled("temperature_K", temperature_K), filled("sigma_S_per_cm", sigma_S_per_cm)
    if T.ndim != 2 or T.shape != S.shape:
        raise InvalidInputError(f"temperature and sigma must be 2-D arrays of equal shape, got {T.shape} and {S.shape}")
    valid = np.isfinite(T) & np.isfinite(S)
    return T[valid], S[valid], valid.sum(axis=1)


def _ragged(temperature_K, sigma_S_per_cm, lengths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated concatenated T, sigma (finite, > 0) and the points per series."""
    if lengths is None:
        T, S, lens = _padded_to_ragged(temperature_K, sigma_S_per_cm)
    else:
        T = as_float_array("temperature_K", temperature_K)
        S = as_float_array("sigma_S_per_cm", sigma_S_per_cm)
        lens = np.asarray(lengths)
        if lens.ndim != 1 or lens.dtype.kind not in "iu" or (lens.size and lens.min() < 0):
            raise InvalidInputError("lengths must be a 1-D array of non-negative integers")
        if T.shape != S.shape or int(lens.sum()) != T.size:
            raise InvalidInputError(f"temperature_K ({T.size}) and sigma_S_per_cm ({S.size}) must both hold "
                                    f"sum(lengths) = {int(lens.sum())} points")
    lens = lens.astype(np.intp)
    for name, a, what in (("temperature_K", T, "> 0 K"), ("sigma_S_per_cm", S, "> 0")):
        if not np.all(a > 0):
            j = int(np.flatnonzero(~(a > 0))[0])
            i = int(np.searchsorted(np.cumsum(lens), j, side="right"))
            raise InvalidInputError(f"{name} must be {what} (series {i}, point {j - int(lens[:i].sum())})")
    return T, S, lens


def _sorted_within_series(T: np.ndarray, S: np.ndarray, lens: np.ndarray,
                          starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """T and S with each series sorted by T (stable, as fit_arrhenius): the inputs themselves when
    already sorted, else copies in which only the unsorted series were reordered."""
    down = T[1:] < T[:-1]
    down[starts[(lens > 0) & (starts > 0)] - 1] = False  # a series start is not a step down within a series
    if not down.any():
        return T, S
    T, S = T.copy(), S.copy()
    series = np.repeat(np.arange(lens.size), lens)
    idx = np.flatnonzero(np.isin(series, np.unique(series[1:][down])))
    order = idx[np.lexsort((T[idx], series[idx]))]
    T[idx], S[idx] = T[order], S[order]
    return T, S


def _distinct(T: np.ndarray, lens: np.ndarray) -> tuple[np.ndarray, bool]:
    """Distinct temperatures per series (T sorted within each series), and whether any series
    has repeated temperatures."""
    tie = np.flatnonzero(T[1:] == T[:-1]) + 1  # points equal to the point before them
    series = np.searchsorted(np.cumsum(lens), tie, side="right")
    within = tie != np.cumsum(lens)[series] - lens[series]  # not the first point of its series
    repeats = np.bincount(series[within], minlength=lens.size)
    return lens - repeats, bool(within.any())


# ----------------------------------------------------------------------------- line fits


@dataclass
class _Lines:
    """OLS lines of contiguous segments (the fields of analysis._common.LineFit, as arrays)."""

    slope: np.ndarray
    intercept: np.ndarray
    slope_stderr: np.ndarray
    intercept_stderr: np.ndarray
    r2: np.ndarray
    n: np.ndarray
    rss: np.ndarray
    syy: np.ndarray
    x_mean: np.ndarray
    sxx: np.ndarray
    sxy: np.ndarray
    y_mean: np.ndarray

    def sigma_at(self, T0: float, form: str) -> tuple[np.ndarray, np.ndarray]:
        """sigma(T0) and its standard error from each line (fit_arrhenius' _sigma_at)."""
        val = np.exp(self.intercept + self.slope / T0) / (T0 if form == "sigmaT" else 1.0)
        s2 = self.rss / (self.n - 2)
        return val, val * np.sqrt(s2 * (1.0 / self.n + (1.0 / T0 - self.x_mean) ** 2 / self.sxx))

    def take(self, i) -> "_Lines":
        return _Lines(*(getattr(self, f)[i] for f in self.__dataclass_fields__))


def _line_fits(x: np.ndarray, y: np.ndarray, lens: np.ndarray) -> tuple[_Lines, tuple[np.ndarray, ...]]:
    """Two-pass centred OLS of every contiguous segment (lengths ``lens`` >= 3, covering x and y),
    as analysis._common.linear_fit; also the per-point centred dx, dy, dx², dx·dy."""
    starts = np.cumsum(lens) - lens
    n = lens.astype(float)
    xm, ym = np.add.reduceat(x, starts) / n, np.add.reduceat(y, starts) / n
    # in place where possible: fresh point-sized arrays cost page faults at every call
    dx, dy = np.repeat(xm, lens), np.repeat(ym, lens)
    np.subtract(x, dx, out=dx)
    np.subtract(y, dy, out=dy)
    dxx, dxy, work = dx * dx, dx * dy, dy * dy
    sxx, sxy, syy = np.add.reduceat(dxx, starts), np.add.reduceat(dxy, starts), np.add.reduceat(work, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        res = np.repeat(slope, lens)
        np.multiply(res, dx, out=res)
        np.subtract(dy, res, out=res)
        rss = np.add.reduceat(np.multiply(res, res, out=work), starts)
        r2 = np.where(syy > 0, 1.0 - rss / syy, 1.0)
        s2 = rss / (n - 2)
        lines = _Lines(slope, ym - slope * xm, np.sqrt(s2 / sxx), np.sqrt(s2 * (1.0 / n + xm * xm / sxx)),
                       r2, lens, rss, syy, xm, sxx, sxy, ym)
    return lines, (dx, dy, dxx, dxy)



def _dense_line_fits(x: np.ndarray, y: np.ndarray) -> tuple[_Lines, tuple[np.ndarray, ...]]:
    """Two-pass centred OLS of every column of (n points x r series) arrays, as _line_fits (each sum
    adds the n rows in order: no per-series overhead); also the centred dx, dy, dx², dx·dy."""
    n = x.shape[0]
    xm, ym = x.sum(axis=0) / n, y.sum(axis=0) / n
    dx, dy = x - xm, y - ym
    dxx, dxy, work = dx * dx, dx * dy, dy * dy
    sxx, sxy, syy = dxx.sum(axis=0), dxy.sum(axis=0), work.sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        np.multiply(dx, slope, out=work)
        np.subtract(dy, work, out=work)
        rss = np.multiply(work, work, out=work).sum(axis=0)
        r2 = np.where(syy > 0, 1.0 - rss / syy, 1.0)
        s2 = rss / (n - 2.0)
        lines = _Lines(slope, ym - slope * xm, np.sqrt(s2 / sxx), np.sqrt(s2 * (1.0 / n + xm * xm / sxx)),
                       r2, np.full(x.shape[1], n, dtype=np.intp), rss, syy, xm, sxx, sxy, ym)
    return lines, (dx, dy, dxx, dxy)


def _segments(lines: _Lines, T_lo: np.ndarray, T_hi: np.ndarray) -> BatchArrheniusSegments:
    pref = np.exp(lines.intercept)
    return BatchArrheniusSegments(-lines.slope * KB_EV, lines.slope_stderr * KB_EV, pref, pref * lines.intercept_stderr,
                                  lines.r2, lines.n, T_lo, T_hi)


# ----------------------------------------------------------------------------- breaks


def _prefix_sums(v: np.ndarray, n_cand: int) -> np.ndarray:
    """Sums of the first k rows of v for k = 3 .. 2 + n_cand, in row order (one row added per k)."""
    out = np.empty((n_cand, v.shape[1]))
    np.add(v[0], v[1], out=out[0])
    out[0] += v[2]
    for j in range(1, n_cand):
        np.add(out[j - 1], v[j + 2], out=out[j])
    return out


def _split_scores(q: tuple[np.ndarray, ...], full: _Lines, n: int) -> np.ndarray:
    """Two-line RSS of every split k = 3 .. n-3 (rows) of every series (columns), from the
    per-series-centred dx, dy, dx², dx·dy (``q``): left sums are prefix sums over the first k points,
    right = series total - left (the centred dx and dy total 0), and the centred dy² of both sides
    together is the series' Syy. Used only to rank the candidates (and to screen, with a margin, those
    that cannot be significant)."""
    sx, sy, sxx, sxy = (_prefix_sums(v, n - 5) for v in q)
    m_lo = np.arange(3.0, n - 2.0)[:, None]
    m_hi = n - m_lo
    cxx_lo, cxx_hi = sxx - sx * sx / m_lo, (full.sxx - sxx) - sx * sx / m_hi
    cxy_lo, cxy_hi = sxy - sx * sy / m_lo, (full.sxy - sxy) - sx * sy / m_hi
    return full.syy - sy * sy * (1.0 / m_lo + 1.0 / m_hi) - cxy_lo * cxy_lo / cxx_lo - cxy_hi * cxy_hi / cxx_hi


def _admissible(T: np.ndarray) -> np.ndarray:
    """Which splits k = 3 .. n-3 (rows) of each series (columns, T sorted) fit_arrhenius' _best_split
    considers: never between equal temperatures, each side with >= 2 distinct temperatures."""
    n = T.shape[0]
    t_left, t_right = T[2:n - 3], T[3:n - 2]
    return (t_left != t_right) & (T[0] != t_left) & (t_right != T[n - 1])


@dataclass
class _Breaks:
    """The significant breaks: series (columns), split point k, both lines, p, dBIC."""

    series: np.ndarray
    k: np.ndarray
    lo: _Lines
    hi: _Lines
    p: np.ndarray
    dbic: np.ndarray


def _bic(rss: np.ndarray, n: np.ndarray, k: int, floor: np.ndarray) -> np.ndarray:
    return n * np.log(np.maximum(rss, floor) / n) + k * np.log(n)


def _significance(full: _Lines, floor: np.ndarray, bs: np.ndarray, rss2: np.ndarray, n_splits: np.ndarray,
                  exact: bool = True):
    """fit_arrhenius' F test (Bonferroni over the candidate splits) and dBIC of the splits of series
    ``bs``: p from the F distribution's survival function as fit_arrhenius, or (exact=False, for screening) from its
    closed form for 2 numerator degrees of freedom, (1 + 2F/dof)^(-dof/2)."""
    n, rss, fl = full.n[bs].astype(float), full.rss[bs], floor[bs]
    dof = n - 4
    F = ((rss - rss2) / 2.0) / (np.maximum(rss2, fl) / dof)
    # scipy.stats.f.sf is special.fdtrc (1 at F <= 0) behind ~20 µs of argument handling per call
    sf = special.fdtrc(2.0, dof, np.maximum(F, 0.0)) if exact else (1.0 + 2.0 * F / dof) ** (-dof / 2.0)
    p = np.minimum(1.0, sf * n_splits[bs])
    dbic = _bic(rss, n, 3, fl) - _bic(rss2, n, 6, fl)
    return p, dbic, (p < BREAK_P_VALUE) & (dbic > BREAK_DELTA_BIC)


def _best_splits(T: np.ndarray, q, full: _Lines, cols: np.ndarray, ties: bool):
    """The best split k of each series ``cols`` (first on equal scores, as fit_arrhenius), its score
    and the number of candidate splits; series without an admissible split are dropped."""
    n = T.shape[0]
    if cols.size < T.shape[1]:
        q, full = tuple(v[:, cols] for v in q), full.take(cols)
    with np.errstate(divide="ignore", invalid="ignore"):
        score = _split_scores(q, full, n)
    if ties:
        ok = _admissible(T[:, cols])
        score[~ok] = np.inf
        n_splits = ok.sum(axis=0)
    else:
        n_splits = np.full(cols.size, n - 5)
    best = score.argmin(axis=0)
    has = n_splits > 0
    return cols[has], best[has] + 3, score[best, np.arange(cols.size)][has], n_splits[has]


def _find_breaks(T: np.ndarray, x: np.ndarray, y: np.ndarray, full: _Lines, q, ties: bool) -> Optional[_Breaks]:
    """fit_arrhenius' _break_fit for every series (columns of n >= 6 points): best split, F test, dBIC.

    The candidates are ranked by their prefix-sum scores; a series whose best split fails the
    test even with its score lowered by SCREEN_MARGIN * Syy (far more than the scores' rounding
    error) cannot break. The rest are refitted with exact two-pass sums, and those refits decide."""
    n, r = T.shape
    floor = np.maximum(1e-24 * full.syy, 1e-300)
    gate = np.maximum(floor, _rounding_rss(full.n, np.abs(full.y_mean) + np.sqrt(full.syy)))
    cols, k, score, n_cand = _best_splits(T, q, full, np.flatnonzero(full.rss > gate), ties)
    if cols.size == 0:
        return None
    n_splits = np.zeros(r, dtype=np.intp)
    n_splits[cols] = n_cand
    low_bound = np.maximum(score - SCREEN_MARGIN * full.syy[cols], 0.0)
    maybe = _significance(full, floor, cols, low_bound, n_splits, exact=False)[2]
    cols, k = cols[maybe], k[maybe]
    # refit the chosen splits exactly: the points of those series, as segments [0, k), [k, n)
    seg = np.empty(2 * cols.size, dtype=np.intp)
    seg[0::2], seg[1::2] = k, n - k
    two, _ = _line_fits(x[:, cols].T.ravel(), y[:, cols].T.ravel(), seg)
    lo, hi = two.take(slice(0, None, 2)), two.take(slice(1, None, 2))
    p, dbic, sig = _significance(full, floor, cols, lo.rss + hi.rss, n_splits)
    return _Breaks(cols[sig], k[sig], lo.take(sig), hi.take(sig), p[sig], dbic[sig])


def _break_temperature(ta: np.ndarray, tb: np.ndarray, lo: _Lines, hi: _Lines) -> np.ndarray:
    """Where the lines cross in 1/T when that lies in [ta, tb], else the harmonic mean of ta, tb."""
    tbk = 2.0 / (1.0 / ta + 1.0 / tb)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = (lo.intercept - hi.intercept) / (hi.slope - lo.slope)
        cross = (hi.slope != lo.slope) & (xi > 0) & (ta <= 1.0 / xi) & (1.0 / xi <= tb)
    return np.where(cross, 1.0 / xi, tbk)


# ----------------------------------------------------------------------------- assembly


def _nan(m: int) -> np.ndarray:
    return np.full(m, np.nan)


def _empty_segments(rows: list, n: np.ndarray) -> BatchArrheniusSegments:
    return BatchArrheniusSegments(*rows[:5], n, *rows[5:7])


def _put_segments(dst: BatchArrheniusSegments, where: np.ndarray, src: BatchArrheniusSegments) -> None:
    for f in _SEGMENT_FIELDS:
        getattr(dst, f)[where] = getattr(src, f)


def _apply_breaks(out: dict, where: np.ndarray, br: _Breaks, T: np.ndarray, form: str) -> None:
    """Overwrite the single-line fields of the broken series (columns br.series of the (n x r) T,
    positions ``where`` in ``out``) as _break_fit does."""
    c = br.series
    t_first, t_last, ta, tb = T[0, c], T[-1, c], T[br.k - 1, c], T[br.k, c]
    tbk = _break_temperature(ta, tb, br.lo, br.hi)
    use_lo = T_25C_K <= tbk
    s25_lo, u25_lo = br.lo.sigma_at(T_25C_K, form)
    s25_hi, u25_hi = br.hi.sigma_at(T_25C_K, form)
    seg_lo, seg_hi = np.where(use_lo, t_first, tb), np.where(use_lo, ta, t_last)
    i = where[c]
    for f in ("Ea_eV", "Ea_stderr_eV", "prefactor", "prefactor_stderr", "r2"):
        out[f][i] = np.nan
    out["sigma_25C_S_per_cm"][i] = np.where(use_lo, s25_lo, s25_hi)
    out["sigma_25C_stderr_S_per_cm"][i] = np.where(use_lo, u25_lo, u25_hi)
    out["extrapolated"][i] = ~((seg_lo <= T_25C_K) & (T_25C_K <= seg_hi))
    out["break_detected"][i] = True
    out["break_T_K"][i], out["break_p_value"][i], out["break_delta_bic"][i] = tbk, br.p, br.dbic
    _put_segments(out["low"], i, _segments(br.lo, t_first, ta))
    _put_segments(out["high"], i, _segments(br.hi, tb, t_last))


def _fit_dense(out: dict, where: np.ndarray, T: np.ndarray, S: np.ndarray, form: str, detect_break: bool,
               ties: bool) -> None:
    """Every field of r series of n points each (columns of the (n x r) T, S; T sorted within each,
    >= 3 distinct temperatures), written into ``out`` at positions ``where``."""
    x = 1.0 / T
    y = np.log(S)
    if form == "sigmaT":
        y += np.log(T)
    full, q = _dense_line_fits(x, y)
    pref = np.exp(full.intercept)
    s25, u25 = full.sigma_at(T_25C_K, form)
    tmin, tmax = T[0], T[-1]
    for f, v in (("T_min_K", tmin), ("T_max_K", tmax), ("Ea_eV", -full.slope * KB_EV),
                 ("Ea_stderr_eV", full.slope_stderr * KB_EV), ("prefactor", pref),
                 ("prefactor_stderr", pref * full.intercept_stderr), ("r2", full.r2), ("sigma_25C_S_per_cm", s25),
                 ("sigma_25C_stderr_S_per_cm", u25), ("extrapolated", ~((tmin <= T_25C_K) & (T_25C_K <= tmax)))):
        out[f][where] = v
    if detect_break and T.shape[0] >= 6:
        br = _find_breaks(T, x, y, full, q, ties)
        if br is not None and br.series.size:
            _apply_breaks(out, where, br, T, form)


_FLOAT_FIELDS = ("T_min_K", "T_max_K", "Ea_eV", "Ea_stderr_eV", "prefactor", "prefactor_stderr", "r2",
                 "sigma_25C_S_per_cm", "sigma_25C_stderr_S_per_cm", "break_T_K", "break_p_value", "break_delta_bic")


def _blank(m: int) -> dict:
    """The fields of m unfitted series: NaN, False, n 0. The float fields are rows of one block: one
    large allocation (huge pages where the kernel gives them) page-faults far less than 26 arrays."""
    rows = list(np.full((len(_FLOAT_FIELDS) + 14, m), np.nan))
    ints = np.zeros((2, m), dtype=np.intp)
    flags = np.zeros((2, m), dtype=bool)
    out = dict(zip(_FLOAT_FIELDS, rows))
    out.update(extrapolated=flags[0], break_detected=flags[1], low=_empty_segments(rows[12:19], ints[0]),
               high=_empty_segments(rows[19:26], ints[1]))
    return out


def _fit_grouped(T: np.ndarray, S: np.ndarray, lens: np.ndarray, ok: np.ndarray, form: str, detect_break: bool,
                 ties: bool) -> dict:
    """Every field of the series ``ok`` (the others stay NaN / False / 0): the series grouped by length
    (stable), each group gathered in chunks of about CHUNK_POINTS points into dense (n x r) arrays
    whose every sum is a plain sum over rows; series are independent, so chunk edges change nothing."""
    out = _blank(lens.size)
    starts = np.cumsum(lens) - lens
    idx = np.flatnonzero(ok)
    idx = idx[np.argsort(lens[idx], kind="stable")]
    sl = lens[idx]
    edges = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True])
    for g0, g1 in zip(edges[:-1], edges[1:]):
        n = int(sl[g0])
        step = max(1, CHUNK_POINTS // n)
        for c0 in range(g0, g1, step):
            where = idx[c0:min(c0 + step, g1)]
            pts = starts[where] + np.arange(n)[:, None]
            _fit_dense(out, where, T[pts], S[pts], form, detect_break, ties)
    return out


def fit_arrhenius_batch(temperature_K, sigma_S_per_cm, form: str = DEFAULT_FORM, *,
                        lengths=None, detect_break: bool = True) -> BatchArrheniusResult:
    """:func:`fit_arrhenius` of many series at once, vectorised (see the module docstring).

    ``lengths`` given: 1-D concatenated temperature_K / sigma_S_per_cm with lengths[i] points for
    series i (any order within a series). Without it: 2-D arrays, one series per row, NaN-padded
    or masked. T <= 0 or sigma <= 0 raise InvalidInputError naming the series and point.
    """
    if form not in FORMS:
        raise InvalidInputError(f"form must be one of {FORMS}, got {form!r}")
    T, S, lens = _ragged(temperature_K, sigma_S_per_cm, lengths)
    starts = np.cumsum(lens) - lens
    T, S = _sorted_within_series(T, S, lens, starts)
    n_temps, ties = _distinct(T, lens)
    ok = n_temps >= 3
    fit = _fit_grouped(T, S, lens, ok, form, detect_break, ties)
    return BatchArrheniusResult(form=form, prefactor_unit="S/cm" if form == "sigma" else "S K/cm", fitted=ok,
                                n=lens, n_temperatures=n_temps, **fit)
