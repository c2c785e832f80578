"""Benchmark: our fit_circuit vs impedance.py CustomCircuit.fit on the same synthetic spectra.

Circuit R0-p(R1,CPE1)-CPE2; spectra 1 MHz-0.1 Hz (71 points), 1 % noise; parameters drawn
around R1 ~ 1e3-1e6 ohm with the arc apex between 300 Hz and 30 kHz. impedance.py is given the true parameters x (1 +- 20 %) as its initial
guess and weight_by_modulus=True (the same objective as ours), so both should land in the same
minimum; ours uses its data-seeded guesses. Usage: python bench/bench_circuit_fit.py [--quick]
"""
from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ionbase.analysis.circuits import compile_circuit  # noqa: E402
from ionbase.analysis.impedance import fit_circuit  # noqa: E402

CIRC = "R0-p(R1,CPE1)-CPE2"


def main() -> None:
    from impedance.models.circuits import CustomCircuit

    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    n = 10 if ap.parse_args().quick else 50
    rng = np.random.default_rng(0)
    cc = compile_circuit(CIRC)
    f = np.logspace(6, -1, 71)
    spectra = []
    for _ in range(n):
        r1 = 10 ** rng.uniform(3, 6)
        a1 = rng.uniform(0.8, 0.97)
        f_apex = 10 ** rng.uniform(2.5, 4.5)  # keep the bulk arc apex inside the measured window
        q1 = 1.0 / (r1 * (2 * np.pi * f_apex) ** a1)
        p = np.array([r1 * 10 ** rng.uniform(-2, -1), r1, q1, a1, 10 ** rng.uniform(-7, -5), rng.uniform(0.75, 0.9)])
        z = cc.impedance(p, f)
        z = z + 0.01 * np.abs(z) * (rng.standard_normal(len(f)) + 1j * rng.standard_normal(len(f)))
        spectra.append((p, z))
    t0 = time.perf_counter()
    ours = [fit_circuit(f, z.real, z.imag, CIRC).values() for _, z in spectra]
    t_ours = time.perf_counter() - t0
    theirs = []
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for p, z in spectra:
            g = list(p * rng.uniform(0.8, 1.2, len(p)))
            g[3], g[5] = min(g[3], 0.99), min(g[5], 0.99)
            theirs.append(np.array(CustomCircuit(CIRC, initial_guess=g).fit(f, z, weight_by_modulus=True).parameters_))
    t_theirs = time.perf_counter() - t0
    names = cc.param_names
    dis = np.array([np.abs(a / b - 1) for a, b in zip(ours, theirs)])  # (n, 6)
    print(f"spectra: {n}, circuit {CIRC}")
    print(f"ours (data-seeded, |Z|-weighted, log params): {n / t_ours:.1f} fits/s")
    print(f"impedance.py CustomCircuit.fit (weight_by_modulus, guess = truth +-20 %): {n / t_theirs:.1f} fits/s")
    print(f"fits/s ratio ours/impedance.py: {t_theirs / t_ours:.1f}x")
    for j, nm in enumerate(names):
        print(f"  max |ours/theirs - 1| {nm:7s}: {dis[:, j].max():.2e}")
    cost = lambda q, z: float(np.sum(np.abs((cc.impedance(q, f) - z) / np.abs(z)) ** 2))
    c_o = np.array([cost(a, z) for a, (_, z) in zip(ours, spectra)])
    c_t = np.array([cost(b, z) for b, (_, z) in zip(theirs, spectra)])
    same = np.abs(c_o / c_t - 1) < 1e-4
    print(f"weighted chi^2: ours lower in {int(np.sum(c_o < c_t * (1 - 1e-4)))}, equal in {int(same.sum())}, "
          f"higher in {int(np.sum(c_o > c_t * (1 + 1e-4)))} of {n} spectra")
    if same.any():
        print(f"max disagreement (excluding R0) on spectra where both reach the same chi^2: "
              f"{dis[same][:, [j for j in range(len(names)) if names[j] != 'R0']].max():.2e}")
    ident = [j for j in range(len(names)) if names[j] != "R0"]
    worst = dis[:, ident].max()
    print(f"max disagreement excluding R0: {worst:.2e} ({'within' if worst < 0.01 else 'OUTSIDE'} the 1 % target); "
          "R0 is poorly determined when it is << the arc impedance at 1 MHz (see report)")
    # Is our answer a minimum of impedance.py's own objective? Restart impedance.py from it.
    polished = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for q, (_, z) in zip(ours, spectra):
            g = list(q)
            g[3], g[5] = min(g[3], 0.999), min(g[5], 0.999)
            polished.append(np.array(CustomCircuit(CIRC, initial_guess=g).fit(f, z, weight_by_modulus=True).parameters_))
    moved = np.array([np.abs(b / a - 1) for a, b in zip(ours, polished)])
    c_p = np.array([cost(b, z) for b, (_, z) in zip(polished, spectra)])
    print(f"impedance.py restarted from our parameters: moves them by at most {moved[:, ident].max():.2e} "
          f"(R0 {moved[:, 0].max():.2e}); its chi^2 lower than ours in {int(np.sum(c_p < c_o * (1 - 1e-4)))}, "
          f"equal in {int(np.sum(np.abs(c_p / c_o - 1) <= 1e-4))}, higher in {int(np.sum(c_p > c_o * (1 + 1e-4)))} of {n}; "
          f"median move {np.median(moved[:, ident]):.1e} "
          f"({'agreement within 1 %' if moved[:, ident].max() < 0.01 else 'OUTSIDE 1 %'})")


if __name__ == "__main__":
    main()
