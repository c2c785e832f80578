"""Benchmark: EIS fits with the batched finite-difference Jacobian against scipy's own, same run.

    python bench/bench_eis_jacobian.py            # 24 spectra
    python bench/bench_eis_jacobian.py --quick    # 6 spectra

fit_circuit hands scipy's least_squares a map-like (``workers=``) that evaluates the n perturbed
parameter vectors of a finite-difference Jacobian as rows of one array (analysis/impedance.py
``_run``, analysis/circuits.py ``CompiledCircuit.impedance``). The baseline is the same fit with
``workers`` left out: scipy then calls the residual once per parameter. Both run in this process,
alternately, on the same synthetic spectra (two-arc and one-arc halide-like pellets, 71 points,
1 MHz-0.1 Hz, 0.3-1 % noise), through fit_spectrum (its default choice among the standard
circuits, with the Lin-KK test), and every result's to_dict() must be identical.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
import ionbase.analysis.impedance as imp  # noqa: E402
from ionbase.analysis.circuits import compile_circuit  # noqa: E402

TWO_ARCS = "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3"
ONE_ARC = "R0-p(R1,CPE1)-CPE2"


def _spectra(n: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(0)
    f = np.logspace(6, -1, 71)
    out = []
    for i in range(n):
        r1, r2 = 10 ** rng.uniform(3, 5), 10 ** rng.uniform(3, 5)
        q1 = 1.0 / (r1 * (2 * np.pi * 10 ** rng.uniform(4, 5.5)) ** 0.95)
        q2 = 1.0 / (r2 * (2 * np.pi * 10 ** rng.uniform(1, 2.5)) ** 0.85)
        if i % 2:
            circ, p = ONE_ARC, np.array([10.0, r1, q1, 0.95, 1e-6, 0.8])
        else:
            circ, p = TWO_ARCS, np.array([5.0, r1, q1, 0.95, r2, q2, 0.85, 1e-6, 0.8])
        z = compile_circuit(circ).impedance(p, f)
        z = z + rng.uniform(0.003, 0.01) * np.abs(z) * (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f)))
        out.append((f, z))
    return out


def _per_column(fun, x0, **kw):
    kw.pop("workers", None)  # scipy's own finite differences: one residual call per parameter
    return _least_squares(fun, x0, **kw)


_least_squares = imp.least_squares


def _fit_all(spectra, batched: bool) -> tuple[float, list[str]]:
    imp.least_squares = _least_squares if batched else _per_column
    try:
        t0 = time.perf_counter()
        out = [json.dumps(imp.fit_spectrum(f, z.real, z.imag).to_dict(), default=str, sort_keys=True) for f, z in spectra]
        return time.perf_counter() - t0, out
    finally:
        imp.least_squares = _least_squares


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    spectra = _spectra(6 if args.quick else 24)
    _fit_all(spectra[:1], True)  # imports and first-call costs out of the timing
    times = {True: [], False: []}
    results = {}
    for _ in range(args.rounds):
        for batched in (False, True):  # alternately: both see the same spells of load
            t, out = _fit_all(spectra, batched)
            times[batched].append(t)
            results.setdefault(batched, out)
    base, ours = statistics.median(times[False]), statistics.median(times[True])
    same = sum(a == b for a, b in zip(results[True], results[False]))
    print(f"{len(spectra)} spectra through fit_spectrum, {args.rounds} rounds each, median wall time")
    print(f"  scipy's per-column Jacobian (baseline): {base:.2f} s ({base / len(spectra) * 1e3:.0f} ms per spectrum)")
    print(f"  batched Jacobian rows:                  {ours:.2f} s ({ours / len(spectra) * 1e3:.0f} ms per spectrum)")
    print(f"  speed-up: {base / ours:.2f}x; results identical (to_dict, as JSON) for {same} of {len(spectra)} spectra")


if __name__ == "__main__":
    main()
