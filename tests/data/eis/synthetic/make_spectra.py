"""Writes the two synthetic spectra of this folder (run from anywhere: python3 make_spectra.py).

Each is a pellet between ion-blocking electrodes, written as a plain instrument-style CSV
(frequency, Z', Z''; Z'' negative for capacitive arcs) with 0.3 % Gaussian noise of |Z| on Z' and
Z'' (numpy default_rng, fixed seed). The impedance is computed here from the circuit equations
directly (R || CPE: Z = R / (1 + R Q (j w)^a); blocking CPE: Z = 1 / (Q (j w)^a)), independently
of Ionbase's own circuit code. The truth (TRUTH below) is what the tests compare against.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent


def brug_q(r_ohm: float, c_farad: float, alpha: float) -> float:
    """CPE Q giving the effective (Brug) capacitance C for an R || CPE arc: Q = C^a / R^(1-a)."""
    return c_farad**alpha / r_ohm ** (1 - alpha)


#: name -> pellet geometry, frequency window, series (lead) resistance, arcs (R ohm, C F, alpha), blocking CPE
TRUTH = {
    # the bulk arc (C = 5 pF, apex ~200 MHz) lies far above the 1 MHz window: the fit sees it as
    # the high-frequency intercept R0 = 2 + 150 ohm; one grain-boundary arc (C = 2 nF) is resolved
    "bulk_beyond_window": {
        "thickness_um": 800.0, "area_cm2": 0.785, "f_max": 1e6, "f_min": 0.1, "per_decade": 10, "seed": 11,
        "r_series": 2.0, "arcs": [(150.0, 5e-12, 0.95), (380.0, 2e-9, 0.90)], "blocking": (3e-6, 0.85),
    },
    # bulk arc (C = 28 pF, apex ~570 kHz) and grain-boundary arc (C = 3 nF, apex ~9 kHz) both in the
    # 7 MHz - 0.1 Hz window of a BioLogic SP-300-like sweep
    "bulk_resolved": {
        "thickness_um": 1000.0, "area_cm2": 0.785, "f_max": 7e6, "f_min": 0.1, "per_decade": 10, "seed": 12,
        "r_series": 3.0, "arcs": [(10000.0, 2.8e-11, 0.95), (6000.0, 3e-9, 0.88)], "blocking": (2e-6, 0.85),
    },
}
NOISE = 0.003


def impedance(spec: dict, f: np.ndarray) -> np.ndarray:
    jw = 1j * 2 * np.pi * f
    z = np.full(f.shape, spec["r_series"], dtype=complex)
    for r, c, a in spec["arcs"]:
        z += r / (1 + r * brug_q(r, c, a) * jw**a)
    q, a = spec["blocking"]
    return z + 1 / (q * jw**a)


def spectrum(name: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    spec = TRUTH[name]
    decades = np.log10(spec["f_max"] / spec["f_min"])
    f = np.logspace(np.log10(spec["f_max"]), np.log10(spec["f_min"]), int(round(decades * spec["per_decade"])) + 1)
    z = impedance(spec, f)
    rng = np.random.default_rng(spec["seed"])
    m = np.abs(z)
    return f, z.real + NOISE * m * rng.standard_normal(f.size), z.imag + NOISE * m * rng.standard_normal(f.size)


def main() -> None:
    for name in TRUTH:
        f, zr, zi = spectrum(name)
        rows = ["freq (Hz),Z' (ohm),Z'' (ohm)"] + [f"{a:.6e},{b:.6e},{c:.6e}" for a, b, c in zip(f, zr, zi)]
        (HERE / f"{name}.csv").write_text("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
