"""Benchmark: vectorised fit_arrhenius_batch vs a per-series scipy.stats.linregress loop.

Usage: python bench/bench_arrhenius.py [--quick]
The loop baseline is timed on a subset and scaled to the full count (printed).
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from scipy.stats import linregress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ionbase.analysis.arrhenius import KB_EV, fit_arrhenius_batch  # noqa: E402


def make(n_series: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    T = np.full((n_series, 10), np.nan)
    S = np.full((n_series, 10), np.nan)
    lens = rng.integers(5, 11, n_series)
    ea = rng.uniform(0.2, 0.8, n_series)
    s0 = 10 ** rng.uniform(0, 4, n_series)
    for k in range(5, 11):
        rows = np.flatnonzero(lens == k)
        t = np.sort(rng.uniform(250, 450, (rows.size, k)), axis=1)
        T[rows, :k] = t
        S[rows, :k] = s0[rows, None] * np.exp(-ea[rows, None] / (KB_EV * t) + 0.05 * rng.standard_normal(t.shape))
    return T, S, lens


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    a = ap.parse_args()
    n = 10_000 if a.quick else 100_000
    n_loop = 2_000 if a.quick else 10_000
    T, S, lens = make(n)
    t0 = time.perf_counter()
    res = fit_arrhenius_batch(T, S)
    t_vec = time.perf_counter() - t0
    t0 = time.perf_counter()
    ea_loop = np.empty(n_loop)
    for i in range(n_loop):
        k = lens[i]
        ea_loop[i] = -linregress(1.0 / T[i, :k], np.log(S[i, :k])).slope * KB_EV
    t_loop = (time.perf_counter() - t0) * n / n_loop
    rate_vec, rate_loop = n / t_vec, n / t_loop
    err = np.max(np.abs(res.Ea_eV[:n_loop] - ea_loop) / ea_loop)
    print(f"series: {n} (5-10 points each)")
    print(f"vectorised fit_arrhenius_batch: {t_vec:.3f} s  -> {rate_vec:,.0f} series/s")
    print(f"scipy linregress loop: timed on {n_loop} series, scaled to {n}: {t_loop:.2f} s -> {rate_loop:,.0f} series/s")
    print(f"speed-up ratio: {rate_vec / rate_loop:.1f}x")
    print(f"max relative Ea disagreement on the timed subset: {err:.2e}  ({'OK' if err < 1e-9 else 'MISMATCH'})")


if __name__ == "__main__":
    main()
