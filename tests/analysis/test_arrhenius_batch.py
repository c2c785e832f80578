"""fit_arrhenius_batch equals fit_arrhenius series by series (issue 15): every field, break decisions
and both segments included, to 1e-12 relative, on random series of every kind fit_arrhenius meets."""
import math

import numpy as np
import pytest

from ionbase.analysis.arrhenius import KB_EV, fit_arrhenius, fit_arrhenius_batch, quality_flags
from ionbase.analysis.errors import InsufficientDataError, InvalidInputError

REL = 1e-12


def _line(rng, T, noise):
    ea, s0 = rng.uniform(0.15, 0.9), 10 ** rng.uniform(-1, 5)
    return np.log(s0) - ea / (KB_EV * T) + noise * rng.standard_normal(T.size)


def _draw(rng, kind: str):
    """One series of the given kind: (T, sigma) in measurement order (unsorted)."""
    n = int(rng.integers(3, 5)) if kind == "short" else int(rng.integers(5, 15))
    T = rng.uniform(240, 460, n)
    if kind == "ties":
        T = np.round(T / 40) * 40  # repeated temperatures
    if kind == "two":
        T = rng.choice([300.0, 350.0], n)  # < 3 distinct temperatures: fit_arrhenius refuses
    y = _line(rng, T, rng.uniform(0.01, 0.1))
    if kind == "break":  # a kink near the median temperature: low-T Ea higher, both noisy
        tb = np.median(T)
        y = np.where(T < tb, y, y[np.argmin(abs(T - tb))] - rng.uniform(0.1, 0.3) * (1 / T - 1 / tb) / KB_EV
                     + rng.uniform(0.01, 0.03) * rng.standard_normal(n))
    if kind == "constant":
        y = np.full(n, rng.uniform(-9, 0))
    return T, np.exp(y)


def _close(a, b, path):
    if isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for k in a:
            _close(a[k], b[k], f"{path}.{k}")
    elif isinstance(a, list):
        assert len(a) == len(b), path
        for j, (u, v) in enumerate(zip(a, b)):
            _close(u, v, f"{path}[{j}]")
    elif isinstance(a, float) and not isinstance(b, bool):
        assert abs(a - b) <= REL * max(abs(a), abs(b)), (path, a, b)
    else:
        assert a == b, (path, a, b)


def _rounding_noise_only(want: dict, got: dict) -> None:
    """Constant sigma ("sigma" form): Ea and the standard errors are 0 but for rounding (the mean
    of equal values is not always that value), differently in each; Ea and the errors must be that
    small, then these fields are dropped from the comparison. R² is 1 in both (y does not vary: the
    line explains all there is), not rounding over rounding. No break is looked for in such noise."""
    assert not want["break_detected"] and not got["break_detected"]
    for d in (want, got):
        assert abs(d.pop("Ea_eV")) < 1e-12 and d.pop("Ea_stderr_eV") < 1e-12
        assert d.pop("r2") == 1.0 and "poor_fit" not in quality_flags(1.0, 12)
        assert d.pop("prefactor_stderr") < 1e-9 * d["prefactor"]
        assert d.pop("sigma_25C_stderr_S_per_cm") < 1e-9 * d["sigma_25C_S_per_cm"]


def _flags(b, i):
    return [f for f, on in (("poor_fit", b.poor_fit[i]), ("few_points", b.few_points[i])) if on]


@pytest.mark.parametrize("form", ["sigma", "sigmaT"])
def test_batch_equals_per_series_fit(form):
    rng = np.random.default_rng(15 if form == "sigma" else 16)
    kinds = ["noisy"] * 80 + ["break"] * 60 + ["short"] * 30 + ["ties"] * 40 + ["two"] * 5 + ["constant"] * 10
    series = [_draw(rng, k) for k in kinds]
    b = fit_arrhenius_batch(np.concatenate([t for t, _ in series]), np.concatenate([s for _, s in series]), form,
                            lengths=[t.size for t, _ in series])
    seen = {"break": 0, "line": 0, "refused": 0}
    for i, (T, s) in enumerate(series):
        try:
            ref = fit_arrhenius(T, s, form)
        except InsufficientDataError:
            assert b.result(i) is None and not b.fitted[i] and math.isnan(b.Ea_eV[i])
            seen["refused"] += 1
            continue
        want, got = ref.to_dict(), b.result(i).to_dict()
        degenerate = kinds[i] == "constant" and form == "sigma"
        if degenerate:
            _rounding_noise_only(want, got)
        _close(want, got, f"series {i} ({kinds[i]})")
        assert b.n_temperatures[i] == len(np.unique(T))
        if ref.break_detected:
            seen["break"] += 1
            for side, seg in zip((b.low, b.high), ref.segments):
                assert quality_flags(seg.r2, seg.n) == _flags(side, i)
        elif not degenerate:
            seen["line"] += 1
            assert quality_flags(ref.r2, len(np.unique(T))) == _flags(b, i)
    assert seen["break"] >= 20 and seen["line"] >= 100 and seen["refused"] >= 5, seen
    # without break detection every fitted series is the single line
    nb = fit_arrhenius_batch(np.concatenate([t for t, _ in series]), np.concatenate([s for _, s in series]), form,
                             lengths=[t.size for t, _ in series], detect_break=False)
    i = int(np.flatnonzero(b.break_detected)[0])
    _close(fit_arrhenius(*series[i], form, detect_break=False).to_dict(), nb.result(i).to_dict(), "no-break")


def test_exact_lines_padded_rows_and_refusals():
    T = np.array([[250.0, 300, np.nan, 350, 400, 450, np.nan], [300, 310, 320, np.nan, np.nan, np.nan, np.nan],
                  [300, 300, 310, 310, np.nan, np.nan, np.nan]])
    S = np.exp(np.log(50.0) - 0.4 / (KB_EV * T))  # exact lines: their standard errors are rounding noise
    b = fit_arrhenius_batch(T, S)
    for i in (0, 1):
        keep = np.isfinite(T[i])
        ref = fit_arrhenius(T[i][keep], S[i][keep])
        assert b.Ea_eV[i] == pytest.approx(ref.Ea_eV, rel=REL) and b.n[i] == keep.sum()
        assert b.Ea_stderr_eV[i] < 1e-12 * ref.Ea_eV and ref.Ea_stderr_eV < 1e-12 * ref.Ea_eV
    assert list(b.fitted) == [True, True, False] and b.n_temperatures[2] == 2
    with pytest.raises(InvalidInputError, match="non-finite"):  # NaN in ragged input: refused, as fit_arrhenius
        fit_arrhenius_batch([300.0, np.nan, 320], [1.0, 2, 3], lengths=[3])
    with pytest.raises(InvalidInputError, match=r"series 1, point 0"):
        fit_arrhenius_batch([300.0, 310, 320, -5, 300, 310], [1.0, 2, 3, 1, 2, 3], lengths=[3, 3])
    with pytest.raises(InvalidInputError, match="sum"):
        fit_arrhenius_batch([300.0, 310, 320], [1.0, 2, 3], lengths=[2])


def test_chunked_passes_give_the_same_arrays(monkeypatch):
    """Large batches are fitted in blocks and chunks of whole series; their edges change nothing."""
    import ionbase.analysis.arrhenius_batch as batch

    rng = np.random.default_rng(3)
    series = [_draw(rng, k) for k in ["noisy", "break", "two", "ties"] * 40]
    args = (np.concatenate([t for t, _ in series]), np.concatenate([s for _, s in series]))
    whole = fit_arrhenius_batch(*args, lengths=[t.size for t, _ in series])
    monkeypatch.setattr(batch, "CHUNK_POINTS", 50)
    monkeypatch.setattr(batch, "BLOCK_SERIES", 7)  # blocks that split every length group
    chunked = fit_arrhenius_batch(*args, lengths=[t.size for t, _ in series])
    assert whole.break_detected.sum() >= 10
    for name, a in whole.to_dict().items():
        assert chunked.to_dict()[name] == a, name


def test_lengths_alone_in_their_group_and_long_series():
    """Series are fitted grouped by length: a length held by one series, long series (100 and 40
    points, with and without a break, with repeated temperatures) and chunks of one series each
    give fit_arrhenius' results."""
    rng = np.random.default_rng(7)
    series = [_draw(rng, k) for k in ["noisy", "break"] * 6]
    for n, tb in ((100, 330.0), (40, None), (23, 360.0)):
        T = np.round(rng.uniform(240, 460, n), 0 if n == 40 else 6)
        y = _line(rng, T, 0.02)
        if tb:
            y = np.where(T < tb, y, y - 0.3 * (1 / T - 1 / tb) / KB_EV)
        series.append((T, np.exp(y)))
    args = (np.concatenate([t for t, _ in series]), np.concatenate([s for _, s in series]))
    b = fit_arrhenius_batch(*args, lengths=[t.size for t, _ in series])
    for i, (T, s) in enumerate(series):
        _close(fit_arrhenius(T, s).to_dict(), b.result(i).to_dict(), f"series {i} (n {T.size})")
    assert b.break_detected[-3] and b.break_detected[-1] and not b.break_detected[-2]
    assert len(np.unique(series[-2][0])) < 40  # the 40-point series has repeated temperatures


def test_first_min_is_argmin_along_the_rows():
    """_first_min (a minimum and a where) picks what argmin along axis 0 picks: the first of equal
    minima, the first NaN of a column holding one, row 0 of an all-inf column, and the value there."""
    from ionbase.analysis.arrhenius_batch import _first_min

    rng = np.random.default_rng(5)
    score = np.round(rng.uniform(0, 3, (5, 400)))  # many equal minima
    score[:, 0] = np.inf
    score[[3, 1], [1, 2]] = np.nan
    score[4, 2] = np.nan
    for s in (score, score[:1]):
        best, mn = _first_min(s)
        want = s.argmin(axis=0)
        assert np.array_equal(best, want)
        assert np.array_equal(mn, np.take_along_axis(s, want[None], axis=0)[0], equal_nan=True)


def test_infinite_values_are_refused_like_nan():
    for T, S in (([300.0, np.inf, 320], [1.0, 2, 3]), ([300.0, 310, 320], [1.0, -np.inf, 3])):
        with pytest.raises(InvalidInputError, match="non-finite value at index 1"):
            fit_arrhenius_batch(T, S, lengths=[3])
