"""Benchmark (issue 15): vectorised fit_arrhenius_batch vs per-series loops, as a growth curve.

    python bench/bench_arrhenius.py                      # 10,000, 100,000 and 1,000,000 series
    python bench/bench_arrhenius.py --sizes 10000,100000
    python bench/bench_arrhenius.py --quick              # 10,000 series only

Series of 5-10 points (T sorted within each, 250-450 K, ln sigma noise 0.05), 10 % of them with a
real slope break (Ea 0.6 eV below ~350 K, 0.25 eV above). The batch gets them concatenated with
their lengths and does everything fit_arrhenius does: Ea, standard errors, R², sigma(25 °C) and
break detection. Each size runs in a fresh subprocess, so its peak RSS (ru_maxrss) is its own; the
batch's own peak allocation is measured separately with tracemalloc.

Baselines, measured in the same process: a per-series `scipy.stats.linregress(1/T, ln sigma)` loop
(the issue's baseline: one line per series, no break search) and a per-series `fit_arrhenius` loop (like for
like, breaks included). Both are timed on a subset (the first --loop-series series, at most the
size) and scaled linearly to the size; the output says so. The linregress loop is timed LOOP_RUNS
times over that subset and its median is the baseline (the fit_arrhenius loop once). The batch time
is the median of LOOP_RUNS x RUNS runs (LOOP_RUNS x RUNS_LARGE above 100,000 series), run in turn
with the loop's passes (RUNS batch runs, one pass, ...: both see the same spells of load on a shared
machine), after WARMUP untimed calls (WARMUP_LARGE above 100,000 series; the first calls of a process
pay one-time costs, mostly page faults while the allocator settles; the first one's time is printed
too), wall and CPU time.
The batch's results are compared with fit_arrhenius on that subset (break decisions and the
largest relative difference over every field).
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np
from scipy.stats import linregress

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ionbase.analysis.arrhenius import KB_EV, fit_arrhenius, fit_arrhenius_batch  # noqa: E402

TARGET = 500.0
LOOP_RUNS = 3  # timed passes of the linregress loop over its subset: the median is the baseline
RUNS = 11  # timed batch runs before each of those passes, up to 100,000 series: the median of all is reported
RUNS_LARGE = 2  # the same above 100,000 series
WARMUP = 5  # untimed batch calls before all that (2 above 100,000 series); the first one's time is printed
WARMUP_LARGE = 2  # (glibc's malloc takes ~4 calls to settle its mmap threshold: until then each call page-faults)
DEFAULT_SIZES = (10_000, 100_000, 1_000_000)


def make(n_series: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Concatenated (T, sigma) of n_series series of 5-10 points, and their lengths."""
    rng = np.random.default_rng(seed)
    lens = rng.integers(5, 11, n_series)
    series = np.repeat(np.arange(n_series), lens)
    T = rng.uniform(250, 450, series.size)
    T = T[np.lexsort((T, series))]
    ea, s0 = rng.uniform(0.2, 0.8, n_series), 10 ** rng.uniform(0, 4, n_series)
    y = np.log(s0[series]) - ea[series] / (KB_EV * T)
    broken = (rng.random(n_series) < 0.10)[series]
    kink = np.log(1e6) - 0.6 / (KB_EV * T)
    kink = np.where(T < 350, kink, np.log(1e6) - 0.6 / (KB_EV * 350) - 0.25 / KB_EV * (1 / T - 1 / 350))
    y = np.where(broken, kink, y) + 0.05 * rng.standard_normal(series.size)
    return T, np.exp(y), lens


def _floats(d, out: list) -> list:
    """Every float of a nested to_dict() result, in order."""
    for v in (d.values() if isinstance(d, dict) else d):
        if isinstance(v, (dict, list)):
            _floats(v, out)
        elif isinstance(v, float):
            out.append(v)
    return out


def compare(res, T, S, starts, lens, m: int) -> tuple[tuple[float, float], int, float]:
    """fit_arrhenius loop over the first m series: ((its wall, CPU seconds), break decisions that differ, and
    the largest relative difference over every float field)."""
    t0, c0 = time.perf_counter(), time.process_time()
    refs = [fit_arrhenius(T[s:s + k], S[s:s + k]) for s, k in zip(starts[:m], lens[:m])]
    secs = time.perf_counter() - t0, time.process_time() - c0
    differ, worst = 0, 0.0
    for i, ref in enumerate(refs):
        got = res.result(i)
        if got.break_detected != ref.break_detected:
            differ += 1
            continue
        for a, b in zip(_floats(ref.to_dict(), []), _floats(got.to_dict(), [])):
            worst = max(worst, abs(a - b) / max(abs(a), abs(b), 1e-300))
    return secs, differ, worst


def _timed(f):
    """(wall s, CPU s, result) of one call of f."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = f()
    return time.perf_counter() - t0, time.process_time() - c0, out


def one(n: int, loop_series: int) -> dict:
    """All measurements for one size (run in its own process). The batch runs and the passes of the
    linregress loop alternate (RUNS batch runs, one pass, ...), so both sample the same spell of
    machine load."""
    T, S, lens = make(n)
    starts = np.cumsum(lens) - lens
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    large = n > 100_000
    m = min(n, loop_series)

    def batch():
        return fit_arrhenius_batch(T, S, lengths=lens)

    def loop():
        return [linregress(1.0 / T[s:s + k], np.log(S[s:s + k])).slope for s, k in zip(starts[:m], lens[:m])]

    t_first = _timed(batch)[0]
    for _ in range((WARMUP_LARGE if large else WARMUP) - 1):
        batch()
    times, cpu, passes = [], [], []
    for _ in range(LOOP_RUNS):
        for _ in range(RUNS_LARGE if large else RUNS):
            t, c, res = _timed(batch)  # only the last result is kept (1M series: 255 MiB each)
            times.append(t)
            cpu.append(c)
        passes.append(_timed(loop))
    rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    tracemalloc.start()
    fit_arrhenius_batch(T, S, lengths=lens)
    alloc_peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    t_lrs, c_lrs, slopes = [p[0] * n / m for p in passes], [p[1] * n / m for p in passes], passes[-1][2]
    t_lr, c_lr = statistics.median(t_lrs), statistics.median(c_lrs)
    m_fa = min(m, max(1, loop_series // 2))
    (t_fa_sub, c_fa_sub), differ, worst = compare(res, T, S, starts, lens, m_fa)
    line = ~res.break_detected[:m]
    ea_lr = -np.asarray(slopes) * KB_EV
    return dict(n=n, points=int(lens.sum()), t_batch=statistics.median(times), t_batch_runs=times, t_first=t_first,
                t_linregress_runs=t_lrs,
                c_batch=statistics.median(cpu), c_linregress=c_lr, c_fit_arrhenius=c_fa_sub * n / m_fa,
                t_linregress=t_lr, m_linregress=m, t_fit_arrhenius=t_fa_sub * n / m_fa, m_fit_arrhenius=m_fa,
                breaks=int(res.break_detected.sum()), differ=differ, worst_rel=worst,
                ea_vs_linregress=float(np.max(np.abs(res.Ea_eV[:m][line] - ea_lr[line]) / np.abs(ea_lr[line]))),
                rss_before_mib=rss_before, rss_peak_mib=rss_peak, alloc_peak_mib=alloc_peak)


def _table(rows: list[dict], kind: str) -> None:
    key = "t" if kind == "wall" else "c"
    print(f"{kind} time:")
    print(f"{'series':>11} {'points':>10} {'batch s':>8} {'series/s':>11} {'linregress loop s':>18} {'ratio':>7} "
          f"{'fit_arrhenius loop s':>21} {'ratio':>7} {'breaks':>7} {'peak RSS MiB':>12} {'batch alloc MiB':>15}")
    for r in rows:
        b, lr, fa = r[key + "_batch"], r[key + "_linregress"], r[key + "_fit_arrhenius"]
        print(f"{r['n']:>11,} {r['points']:>10,} {b:>8.3f} {r['n'] / b:>11,.0f} {lr:>18.1f} {lr / b:>6.0f}x "
              f"{fa:>21.1f} {fa / b:>6.0f}x {r['breaks']:>7,} {r['rss_peak_mib']:>12.0f} {r['alloc_peak_mib']:>15.0f}")


def _verdict(rows: list[dict], key: str, label: str) -> None:
    ratios = {r["n"]: r[key + "_linregress"] / r[key + "_batch"] for r in rows}
    met = [f"{n:,} ({q:.0f}x)" for n, q in ratios.items() if q >= TARGET]
    missed = [f"{n:,} ({q:.0f}x)" for n, q in ratios.items() if q < TARGET]
    print(f"TARGET >= {TARGET:.0f}x vs the per-series linregress loop, {label}: "
          + ("MET at every size: " + ", ".join(met) if not missed else
             "NOT MET at " + ", ".join(missed) + ("; met at " + ", ".join(met) if met else "")))


def _print(rows: list[dict]) -> None:
    _table(rows, "wall")
    _table(rows, "CPU")
    print(f"\nbatch: median of {LOOP_RUNS * RUNS} timed runs ({LOOP_RUNS * RUNS_LARGE} above 100,000 series), in turn "
          f"with the linregress loop's passes, after {WARMUP} untimed calls ({WARMUP_LARGE} above 100,000); wall ms of the "
          "runs, "
          "sorted [first, untimed call]: " + "; ".join(
              f"{r['n']:,}: " + ", ".join(f"{t * 1e3:.2f}" for t in sorted(r["t_batch_runs"])) + f" [{r['t_first'] * 1e3:.2f}]"
              for r in rows))
    print("loops: timed on the first series of each size and scaled linearly to the size: " + "; ".join(
        f"{r['n']:,}: linregress on {r['m_linregress']:,}, fit_arrhenius on {r['m_fit_arrhenius']:,}" for r in rows))
    print(f"linregress loop: median of {LOOP_RUNS} passes (scaled wall s: " + "; ".join(
        f"{r['n']:,}: " + ", ".join(f"{t:.2f}" for t in r["t_linregress_runs"]) for r in rows) + ")")
    print("CPU time: time.process_time of the measuring process (on a shared machine, wall time also counts "
          "waiting for a core; the loops run for seconds, the batch for milliseconds)")
    print("peak RSS: ru_maxrss of the process measuring that size, after its data and batch runs (before "
          "the batch: " + ", ".join(f"{r['rss_before_mib']:.0f}" for r in rows) + " MiB: interpreter, numpy, "
          "scipy and the data); batch alloc: tracemalloc peak of one fit_arrhenius_batch call")
    for r in rows:
        print(f"agreement at {r['n']:,}: vs fit_arrhenius on {r['m_fit_arrhenius']:,} series: break decisions differ "
              f"in {r['differ']}, largest relative difference over every field {r['worst_rel']:.1e}; "
              f"Ea vs linregress (unbroken series) {r['ea_vs_linregress']:.1e}")
    print()
    _verdict(rows, "t", "wall time")
    _verdict(rows, "c", "CPU time")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default=",".join(map(str, DEFAULT_SIZES)), help="comma-separated series counts")
    ap.add_argument("--quick", action="store_true", help="10,000 series only")
    ap.add_argument("--loop-series", type=int, default=4000, help="series timed in the linregress loop "
                    "(half as many in the fit_arrhenius loop)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: measure one size, print JSON
    a = ap.parse_args()
    if a.one:
        print(json.dumps(one(a.one, a.loop_series)))
        return
    sizes = [10_000] if a.quick else [int(s) for s in a.sizes.split(",")]
    rows = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n), "--loop-series", str(a.loop_series)],
                             check=True, capture_output=True, text=True)
        rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        print(f"measured {n:,} series", file=sys.stderr, flush=True)
    _print(rows)


if __name__ == "__main__":
    main()
