"""Vectorised Arrhenius fits of many series at once, slope breaks included (issue 15).

Same equations, break rules and results as :func:`analysis.arrhenius.fit_arrhenius` applied to
each series (tests/analysis/test_arrhenius_batch.py), without a Python loop per series or per
candidate split. The series are taken in blocks of BLOCK_SERIES consecutive series; within a block
they are grouped by length, and the series of one length n are gathered, CHUNK_POINTS points at a
time, into dense (n points x r series) arrays: every per-series sum is then a plain sum over the n
rows (no per-segment overhead, as np.add.reduceat has), and every candidate split k of every series
is scored from prefix sums over the first k rows (right-hand sums as the series total minus those),
one (n-5 x r) array per chunk. The best split of each series is then refitted with the same
two-pass centred sums as the full line, so the F test, BIC and every segment field come from exact
segment fits, not from the prefix-sum scores used to rank the candidates (which only screen out,
with a wide margin, the series whose best split cannot be significant). Any length works (a length
held by a single series is a group of one).

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

from ._common import DictMixin, as_float_array, rounding_rss
from .arrhenius import (BREAK_DELTA_BIC, BREAK_P_VALUE, DEFAULT_FORM, FORMS, KB_EV, MIN_TEMPERATURES_UNFLAGGED,
                        POOR_FIT_R2, T_25C_K, ArrheniusResult, ArrheniusSegment)
from .errors import InvalidInputError

__all__ = ["BatchArrheniusSegments", "BatchArrheniusResult", "fit_arrhenius_batch"]

#: how far below its prefix-sum score (in units of the series' Syy) a split's exact RSS is assumed
#: possibly to lie when screening out splits that cannot be significant; the scores' rounding error
#: is ~1e-15 Syy for well-spread temperatures, so this leaves room for badly conditioned series
SCREEN_MARGIN = 1e-6
#: points gathered per dense chunk (whole series of one length): its working arrays (256 KiB each)
#: stay in cache (measured at 100,000 series, both in one process: ~5 % faster than 2^14)
CHUNK_POINTS = 1 << 15
#: consecutive series fitted together: the points they gather and the fields they write lie close
#: together, and their per-series arrays (256 KiB) stay in cache at any batch size
BLOCK_SERIES = 1 << 15
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


def _finite_array(name: str, values) -> tuple[np.ndarray, float]:
    """as_float_array (1-D, all finite) and its smallest value, finiteness decided by one min and one
    max (NaN reaches both, and so does +-inf); only a failing array gets the element-wise check that
    names the value."""
    a = as_float_array(name, values, allow_nan=True)
    lo = a.min() if a.size else np.inf
    if a.size and not (np.isfinite(lo) and np.isfinite(a.max())):
        as_float_array(name, a)  # raises InvalidInputError naming the first non-finite value
    return a, lo


def _ragged(temperature_K, sigma_S_per_cm, lengths) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validated concatenated T, sigma (finite, > 0) and the points per series."""
    if lengths is None:
        T, S, lens = _padded_to_ragged(temperature_K, sigma_S_per_cm)
        lows = (T.min() if T.size else np.inf, S.min() if S.size else np.inf)
    else:
        (T, t_lo), (S, s_lo) = _finite_array("temperature_K", temperature_K), _finite_array("sigma_S_per_cm",
                                                                                            sigma_S_per_cm)
        lows = (t_lo, s_lo)
        lens = np.asarray(lengths)
        if lens.ndim != 1 or lens.dtype.kind not in "iu" or (lens.size and lens.min() < 0):
            raise InvalidInputError("lengths must be a 1-D array of non-negative integers")
        if T.shape != S.shape or int(lens.sum()) != T.size:
            raise InvalidInputError(f"temperature_K ({T.size}) and sigma_S_per_cm ({S.size}) must both hold "
                                    f"sum(lengths) = {int(lens.sum())} points")
    lens = lens.astype(np.intp)
    for name, a, what, lo in (("temperature_K", T, "> 0 K", lows[0]), ("sigma_S_per_cm", S, "> 0", lows[1])):
        if not lo > 0:  # finite here: the smallest value decides
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


def _rising(T: np.ndarray, lens: np.ndarray, starts: np.ndarray) -> bool:
    """Whether T rises strictly within every series (sorted, no repeats: one pass decides both)."""
    flat = T[1:] <= T[:-1]
    flat[starts[(lens > 0) & (starts > 0)] - 1] = False  # not within a series
    return not flat.any()


def _distinct(T: np.ndarray, lens: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, bool]:
    """Distinct temperatures per series (T sorted within each series), and whether any series
    has repeated temperatures."""
    tie = np.flatnonzero(T[1:] == T[:-1]) + 1  # points equal to the point before them
    series = np.searchsorted(starts + lens, tie, side="right")
    within = tie != starts[series]  # not the first point of its series
    repeats = np.bincount(series[within], minlength=lens.size)
    return lens - repeats, bool(within.any())


# ----------------------------------------------------------------------------- line fits


@dataclass
class _Lines:
    """OLS lines of contiguous segments (the fields of analysis._common.LineFit, as arrays), with
    ``noise``, the rounding_rss bound of their y values (R² and the break gate both use it)."""

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
    noise: np.ndarray

    def sigma_at(self, T0: float, form: str) -> tuple[np.ndarray, np.ndarray]:
        """sigma(T0) and its standard error from each line (fit_arrhenius' _sigma_at)."""
        val = np.exp(self.intercept + self.slope / T0) / (T0 if form == "sigmaT" else 1.0)
        s2 = self.rss / (self.n - 2)
        return val, val * np.sqrt(s2 * (1.0 / self.n + (1.0 / T0 - self.x_mean) ** 2 / self.sxx))

    def take(self, i) -> "_Lines":
        return _Lines(*(getattr(self, f)[i] for f in self.__dataclass_fields__))


def _lines(n: np.ndarray, xm, ym, sxx, sxy, syy, rss) -> _Lines:
    """The line fields from the centred sums, as analysis._common.linear_fit computes them."""
    nf = n.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = sxy / sxx
        noise = rounding_rss(nf, np.abs(ym) + np.sqrt(syy))
        r2 = np.where(syy > noise, 1.0 - rss / syy, 1.0)
        s2 = rss / (nf - 2)
        return _Lines(slope, ym - slope * xm, np.sqrt(s2 / sxx), np.sqrt(s2 * (1.0 / nf + xm * xm / sxx)),
                      r2, n, rss, syy, xm, sxx, sxy, ym, noise)


def _line_fits(x: np.ndarray, y: np.ndarray, lens: np.ndarray) -> _Lines:
    """Two-pass centred OLS of every contiguous segment (lengths ``lens`` >= 3, covering x and y),
    as analysis._common.linear_fit (used for the few exact refits of candidate breaks)."""
    starts = np.cumsum(lens) - lens
    n = lens.astype(float)
    xm, ym = np.add.reduceat(x, starts) / n, np.add.reduceat(y, starts) / n
    dx, dy = x - np.repeat(xm, lens), y - np.repeat(ym, lens)
    sxx, sxy, syy = np.add.reduceat(dx * dx, starts), np.add.reduceat(dx * dy, starts), np.add.reduceat(dy * dy, starts)
    with np.errstate(divide="ignore", invalid="ignore"):
        res = dy - np.repeat(sxy / sxx, lens) * dx
    return _lines(lens, xm, ym, sxx, sxy, syy, np.add.reduceat(res * res, starts))


def _xy(T: np.ndarray, S: np.ndarray, form: str) -> tuple[np.ndarray, np.ndarray]:
    y = np.log(S)
    if form == "sigmaT":
        y += np.log(T)
    return 1.0 / T, y


def _segments(lines: _Lines, T_lo: np.ndarray, T_hi: np.ndarray) -> BatchArrheniusSegments:
    pref = np.exp(lines.intercept)
    return BatchArrheniusSegments(-lines.slope * KB_EV, lines.slope_stderr * KB_EV, pref, pref * lines.intercept_stderr,
                                  lines.r2, lines.n, T_lo, T_hi)


# ----------------------------------------------------------------------------- dense chunks


def _prefix_sums(v: np.ndarray, n_cand: int) -> np.ndarray:
    """Sums of the first k rows of v for k = 3 .. 2 + n_cand, in row order (one row added per k)."""
    out = np.empty((n_cand, v.shape[1]))
    np.add(v[0], v[1], out=out[0])
    out[0] += v[2]
    for j in range(1, n_cand):
        np.add(out[j - 1], v[j + 2], out=out[j])
    return out


def _split_scores(q: tuple[np.ndarray, ...], tot: tuple[np.ndarray, ...], n: int) -> np.ndarray:
    """Two-line RSS of every split k = 3 .. n-3 (rows) of every series (columns), from the
    per-series-centred dx, dy, dx², dx·dy (``q``) and the series' Sxx, Sxy, Syy (``tot``): left sums
    are prefix sums over the first k points, right = series total - left (the centred dx and dy total
    0), and the centred dy² of both sides together is Syy. Used only to rank the candidates (and to
    screen, with a margin, those that cannot be significant)."""
    sx, sy, sxx, sxy = (_prefix_sums(v, n - 5) for v in q)
    m_lo = np.arange(3.0, n - 2.0)[:, None]
    m_hi = n - m_lo
    cxx_lo, cxx_hi = sxx - sx * sx / m_lo, (tot[0] - sxx) - sx * sx / m_hi
    cxy_lo, cxy_hi = sxy - sx * sy / m_lo, (tot[1] - sxy) - sx * sy / m_hi
    return tot[2] - sy * sy * (1.0 / m_lo + 1.0 / m_hi) - cxy_lo * cxy_lo / cxx_lo - cxy_hi * cxy_hi / cxx_hi


def _admissible(T: np.ndarray) -> np.ndarray:
    """Which splits k = 3 .. n-3 (rows) of each series (columns, T sorted) fit_arrhenius' _best_split
    considers: never between equal temperatures, each side with >= 2 distinct temperatures."""
    n = T.shape[0]
    t_left, t_right = T[2:n - 3], T[3:n - 2]
    return (t_left != t_right) & (T[0] != t_left) & (t_right != T[n - 1])


def _first_min(score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """score.argmin(axis=0) (the first minimum; the first NaN where there is one) and the minima: a
    minimum and a where across the columns, which argmin along axis 0 does not vectorise."""
    mn = score.min(axis=0)
    rows = score.shape[0]
    if rows == 1:
        return np.zeros(score.shape[1], dtype=np.intp), mn
    best = np.where(score == mn, np.arange(rows)[:, None], rows).min(axis=0)
    nan = np.isnan(mn)
    if nan.any():
        best[nan] = score[:, nan].argmin(axis=0)
    return best, mn


def _dense_chunk(T: np.ndarray, S: np.ndarray, form: str, splits: bool, ties: bool) -> np.ndarray:
    """Sums of r series of n points each (columns of the (n x r) T, S; T sorted within each series):
    rows xm, ym, Sxx, Sxy, Syy, RSS (two-pass, centred, as linear_fit) and, with ``splits`` (n >= 6),
    the best split k (first on equal scores, as fit_arrhenius), its score and the number of admissible
    splits; then each series' lowest and highest T (its first and last row, already gathered). Every
    sum adds the n rows in order: plain vector operations, no per-series overhead."""
    n, r = T.shape
    res = np.zeros((11, r))
    res[9], res[10] = T[0], T[n - 1]
    x, y = _xy(T, S, form)
    xm, ym, sxx, sxy, syy, rss = res[:6]
    np.divide(x.sum(axis=0), n, out=xm)
    np.divide(y.sum(axis=0), n, out=ym)
    dx, dy = np.subtract(x, xm, out=x), np.subtract(y, ym, out=y)
    dxx, dxy, work = dx * dx, dx * dy, dy * dy
    dxx.sum(axis=0, out=sxx)
    dxy.sum(axis=0, out=sxy)
    work.sum(axis=0, out=syy)
    with np.errstate(divide="ignore", invalid="ignore"):
        np.multiply(dx, sxy / sxx, out=work)
        np.subtract(dy, work, out=work)
        np.multiply(work, work, out=work).sum(axis=0, out=rss)
        if not splits:
            return res
        score = _split_scores((dx, dy, dxx, dxy), (sxx, sxy, syy), n)
    if ties:
        ok = _admissible(T)
        score[~ok] = np.inf
        res[8] = ok.sum(axis=0)
    else:
        res[8] = n - 5
    best, res[7] = _first_min(score)
    res[6] = best + 3
    return res


def _grouped_sums(T: np.ndarray, S: np.ndarray, starts: np.ndarray, lens: np.ndarray, idx: np.ndarray, form: str,
                  detect_break: bool, ties: bool) -> np.ndarray:
    """_dense_chunk's rows for the series ``idx`` (sorted by length), in that order: each length's
    series gathered in chunks of about CHUNK_POINTS points into dense (n x r) arrays (series are
    independent, so chunk edges change nothing)."""
    sums = np.zeros((11, idx.size))
    sl = lens[idx]
    edges = np.flatnonzero(np.r_[True, sl[1:] != sl[:-1], True]) if sl.size else []
    for g0, g1 in zip(edges[:-1], edges[1:]):
        n = int(sl[g0])
        step = max(1, CHUNK_POINTS // n)
        for c0 in range(g0, g1, step):
            c1 = min(c0 + step, g1)
            pts = starts[idx[c0:c1]] + np.arange(n)[:, None]
            if c1 - c0 == 1:  # numpy sums a single column pairwise, not row by row: fit it twice
                pts = np.repeat(pts, 2, axis=1)
            sums[:, c0:c1] = _dense_chunk(T.take(pts), S.take(pts), form, detect_break and n >= 6, ties)[:, :c1 - c0]
    return sums


# ----------------------------------------------------------------------------- breaks


@dataclass
class _Breaks:
    """The significant breaks: series, split point k, both lines, p, dBIC."""

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


def _find_breaks(T, S, starts, idx: np.ndarray, full: _Lines, sums: np.ndarray, form: str) -> _Breaks:
    """fit_arrhenius' _break_fit for the series ``idx`` (full: their single lines; sums: their best
    splits from _dense_chunk): F test and dBIC.

    A series whose best split fails the test even with its prefix-sum score lowered by
    SCREEN_MARGIN * Syy (far more than the scores' rounding error) cannot break; the rest are
    refitted with exact two-pass sums, and those refits decide. No break is looked for where the
    single line fits to rounding."""
    floor = np.maximum(1e-24 * full.syy, 1e-300)
    n_splits = np.where(full.rss > np.maximum(floor, full.noise), sums[8], 0.0)
    cand = np.flatnonzero(n_splits > 0)
    low_bound = np.maximum(sums[7, cand] - SCREEN_MARGIN * full.syy[cand], 0.0)
    # dBIC = n ln(RSS_1 / RSS_2) - 3 ln n (RSSs floored) > 10 first, without a logarithm per series
    n = np.arange(1.0, full.n.max(initial=1) + 1)
    need = (np.exp((BREAK_DELTA_BIC + 3 * np.log(n)) / n) * (1 - 1e-9))[full.n[cand] - 1]
    fl = floor[cand]
    keep = np.maximum(full.rss[cand], fl) > np.maximum(low_bound, fl) * need
    cand, low_bound = cand[keep], low_bound[keep]
    cand = cand[_significance(full, floor, cand, low_bound, n_splits, exact=False)[2]]
    # refit the chosen splits exactly: the points of those series, as segments [0, k), [k, n)
    k, n = sums[6, cand].astype(np.intp), full.n[cand]
    seg = np.empty(2 * cand.size, dtype=np.intp)
    seg[0::2], seg[1::2] = k, n - k
    pts = np.repeat(starts[idx[cand]] - (np.cumsum(n) - n), n) + np.arange(int(n.sum()))
    two = _line_fits(*_xy(T[pts], S[pts], form), seg)
    lo, hi = two.take(slice(0, None, 2)), two.take(slice(1, None, 2))
    p, dbic, sig = _significance(full, floor, cand, lo.rss + hi.rss, n_splits)
    return _Breaks(idx[cand[sig]], k[sig], lo.take(sig), hi.take(sig), p[sig], dbic[sig])


def _break_temperature(ta: np.ndarray, tb: np.ndarray, lo: _Lines, hi: _Lines) -> np.ndarray:
    """Where the lines cross in 1/T when that lies in [ta, tb], else the harmonic mean of ta, tb."""
    tbk = 2.0 / (1.0 / ta + 1.0 / tb)
    with np.errstate(divide="ignore", invalid="ignore"):
        xi = (lo.intercept - hi.intercept) / (hi.slope - lo.slope)
        cross = (hi.slope != lo.slope) & (xi > 0) & (ta <= 1.0 / xi) & (1.0 / xi <= tb)
    return np.where(cross, 1.0 / xi, tbk)


# ----------------------------------------------------------------------------- assembly


def _empty_segments(rows: list, n: np.ndarray) -> BatchArrheniusSegments:
    return BatchArrheniusSegments(*rows[:5], n, *rows[5:7])


def _put_segments(dst: BatchArrheniusSegments, where: np.ndarray, src: BatchArrheniusSegments) -> None:
    for f in _SEGMENT_FIELDS:
        getattr(dst, f)[where] = getattr(src, f)


def _apply_breaks(out: dict, br: _Breaks, T: np.ndarray, starts: np.ndarray, lens: np.ndarray, form: str) -> None:
    """Overwrite the single-line fields of the broken series as _break_fit does."""
    i = br.series
    s, a = starts[i], starts[i] + br.k
    t_first, t_last, ta, tb = T[s], T[s + lens[i] - 1], T[a - 1], T[a]
    tbk = _break_temperature(ta, tb, br.lo, br.hi)
    use_lo = T_25C_K <= tbk
    s25_lo, u25_lo = br.lo.sigma_at(T_25C_K, form)
    s25_hi, u25_hi = br.hi.sigma_at(T_25C_K, form)
    seg_lo, seg_hi = np.where(use_lo, t_first, tb), np.where(use_lo, ta, t_last)
    for f in ("Ea_eV", "Ea_stderr_eV", "prefactor", "prefactor_stderr", "r2"):
        out[f][i] = np.nan
    out["sigma_25C_S_per_cm"][i] = np.where(use_lo, s25_lo, s25_hi)
    out["sigma_25C_stderr_S_per_cm"][i] = np.where(use_lo, u25_lo, u25_hi)
    out["extrapolated"][i] = ~((seg_lo <= T_25C_K) & (T_25C_K <= seg_hi))
    out["break_detected"][i] = True
    out["break_T_K"][i], out["break_p_value"][i], out["break_delta_bic"][i] = tbk, br.p, br.dbic
    _put_segments(out["low"], i, _segments(br.lo, t_first, ta))
    _put_segments(out["high"], i, _segments(br.hi, tb, t_last))


_FLOAT_FIELDS = ("T_min_K", "T_max_K", "Ea_eV", "Ea_stderr_eV", "prefactor", "prefactor_stderr", "r2",
                 "sigma_25C_S_per_cm", "sigma_25C_stderr_S_per_cm", "break_T_K", "break_p_value", "break_delta_bic")


#: the float fields _fit_block writes for every fitted series: the first rows of _blank's allocation
_LINE_ROWS = _FLOAT_FIELDS.index("break_T_K")


def _blank(m: int, all_fitted: bool) -> dict:
    """The fields of m unfitted series: NaN, False, n 0 (the float fields are rows of one allocation).
    When every series is fitted, the rows _fit_block writes for each of them are left unfilled."""
    rows = np.empty((len(_FLOAT_FIELDS) + 14, m))
    rows[_LINE_ROWS if all_fitted else 0:] = np.nan
    rows = list(rows)
    ints = np.zeros((2, m), dtype=np.intp)
    flags = np.zeros((2, m), dtype=bool)
    out = dict(zip(_FLOAT_FIELDS, rows))
    out.update(extrapolated=flags[0], break_detected=flags[1], low=_empty_segments(rows[12:19], ints[0]),
               high=_empty_segments(rows[19:26], ints[1]))
    return out


def _fit_block(out: dict, T: np.ndarray, S: np.ndarray, starts: np.ndarray, lens: np.ndarray, idx: np.ndarray,
               form: str, detect_break: bool, ties: bool) -> None:
    """Every field of the series ``idx`` (sorted by length; T sorted within each), written into
    ``out``: their sums (_grouped_sums), then the line fields and the break tests of all of them."""
    if idx.size == 0:
        return
    sums = _grouped_sums(T, S, starts, lens, idx, form, detect_break, ties)
    full = _lines(lens[idx], *sums[:6])
    pref = np.exp(full.intercept)
    s25, u25 = full.sigma_at(T_25C_K, form)
    tmin, tmax = sums[9], sums[10]
    for f, v in (("T_min_K", tmin), ("T_max_K", tmax), ("Ea_eV", -full.slope * KB_EV),
                 ("Ea_stderr_eV", full.slope_stderr * KB_EV), ("prefactor", pref),
                 ("prefactor_stderr", pref * full.intercept_stderr), ("r2", full.r2), ("sigma_25C_S_per_cm", s25),
                 ("sigma_25C_stderr_S_per_cm", u25), ("extrapolated", ~((tmin <= T_25C_K) & (T_25C_K <= tmax)))):
        out[f][idx] = v
    if detect_break:
        br = _find_breaks(T, S, starts, idx, full, sums, form)
        if br.series.size:
            _apply_breaks(out, br, T, starts, lens, form)


def _fit_grouped(T: np.ndarray, S: np.ndarray, lens: np.ndarray, ok: np.ndarray, form: str, detect_break: bool,
                 ties: bool) -> dict:
    """Every field of the series ``ok`` (T sorted within each; the others stay NaN / False / 0), in
    blocks of BLOCK_SERIES consecutive series (_fit_block): the points a block gathers and the
    fields it writes lie close together, and its per-series arrays stay in cache however large the
    batch. Within a block the series are sorted by length (stable; a radix sort on 16-bit lengths)."""
    out = _blank(lens.size, bool(ok.all()))
    starts = np.cumsum(lens) - lens
    small = lens.size and lens.max() < 1 << 16
    for b0 in range(0, lens.size, BLOCK_SERIES):
        idx = b0 + np.flatnonzero(ok[b0:b0 + BLOCK_SERIES])
        key = lens[idx].astype(np.uint16) if small else lens[idx]
        _fit_block(out, T, S, starts, lens, idx[np.argsort(key, kind="stable")], form, detect_break, ties)
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
    if _rising(T, lens, starts):
        n_temps, ties = lens.copy(), False
    else:
        T, S = _sorted_within_series(T, S, lens, starts)
        n_temps, ties = _distinct(T, lens, starts)
    ok = n_temps >= 3
    fit = _fit_grouped(T, S, lens, ok, form, detect_break, ties)
    return BatchArrheniusResult(form=form, prefactor_unit="S/cm" if form == "sigma" else "S K/cm", fitted=ok,
                                n=lens, n_temperatures=n_temps, **fit)
