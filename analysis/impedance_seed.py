"""Data-driven initial guesses for equivalent-circuit fits (see analysis.impedance's docstring).

R0 from the high-frequency real-axis intercept, each arc's R from its apex height
(h = (R/2) tan(alpha pi/4)), Q from the apex frequency via (R Q)^(1/alpha) = 1/(2 pi f_apex),
the blocking CPE from the low-frequency tail slope d log(-Z'')/d log(w) = -alpha. ``variant``
selects where missing arcs are placed (0: below, 1: above in frequency) and perturbed restarts
(>= 2: arc resistances scaled by 0.3 or 3). ``grid_seeds`` gives the starts of last resort, arcs
on a grid of apex frequencies, for a fit that every seed left poor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy.signal import find_peaks

from .circuits import CompiledCircuit, Element, Parallel, Series

__all__ = ["seed", "grid_seeds", "data_features", "arc_pairs", "top_items"]

_ALPHA0 = 0.9
#: elements that carry a resistance-like first parameter (an arc's R is shared among them)
_RESISTIVE = ("R", "Wo", "Ws", "G", "Gs", "K", "Zarc", "TLMQ")


@dataclass
class _Arc:
    f_apex: float
    r: float


def data_features(f: np.ndarray, z: np.ndarray) -> dict:
    """The spectrum sorted high -> low frequency, -Z'' and its prominent positive peaks."""
    order = np.argsort(-f)  # high -> low frequency
    fs, zs = f[order], z[order]
    mz = -zs.imag
    peaks, _ = find_peaks(mz, prominence=0.02 * max(float(np.max(np.abs(zs))), 1e-300))
    peaks = [int(p) for p in peaks if mz[p] > 0]
    return {"fs": fs, "zs": zs, "mz": mz, "peaks": peaks}


def _tail(fs: np.ndarray, zs: np.ndarray) -> tuple[float, float, bool]:
    """Blocking-CPE seed (Q, alpha) from the low-frequency slope of log(-Z'') vs log(w)."""
    k = max(3, len(fs) // 10)
    w = 2 * np.pi * fs[-k:]
    mz = -zs.imag[-k:]
    if np.all(mz > 0):
        slope = np.polyfit(np.log(w), np.log(mz), 1)[0]
        alpha = float(np.clip(-slope, 0.3, 1.0))
        if -slope > 0.25:
            q = 1.0 / (mz[-1] * w[-1] ** alpha * math.sin(alpha * math.pi / 2))
            return q, alpha, True
    return 1.0 / (2 * np.pi * fs[-1] * 10 * np.max(np.abs(zs))), 0.8, False


def top_items(node) -> tuple:
    """The top-level elements/blocks of a circuit tree (a lone node is its own only item)."""
    return node.items if isinstance(node, Series) else (node,)


def arc_pairs(cc: CompiledCircuit) -> list:
    """Top-level parallel blocks in string order."""
    return [n for n in top_items(cc.tree) if isinstance(n, Parallel)]


def _flatten(node) -> list:
    if isinstance(node, Element):
        return [node]
    kids = node.items if isinstance(node, Series) else node.branches
    return [e for k in kids for e in _flatten(k)]


def _apex_arcs(fs: np.ndarray, mz: np.ndarray, peaks: list, n_blocks: int) -> list[_Arc]:
    """Arcs at the most prominent peaks (at most one per block), ordered high -> low frequency."""
    if peaks:
        prom = find_peaks(mz, prominence=0)[1]["prominences"]
        allp = find_peaks(mz, prominence=0)[0].tolist()
        pr = {p: prom[allp.index(p)] for p in peaks}
        peaks = sorted(sorted(peaks, key=lambda p: -pr[p])[: max(n_blocks, 1)])
    tanf = math.tan(_ALPHA0 * math.pi / 4)
    return [_Arc(float(fs[p]), 2 * float(mz[p]) / tanf) for p in peaks]


def _complete_arcs(arcs: list[_Arc], n_blocks: int, variant: int, fgeo: float, fallback_r: float) -> list[_Arc]:
    """One arc per block: missing arcs added below (even variant) or above (odd) in frequency;
    variants >= 2 scale every arc's R (perturbed restarts)."""
    if not arcs:
        arcs = [_Arc(fgeo, fallback_r)]
    while len(arcs) < n_blocks:  # missing arcs: variant 0 adds them below, 1 above, in frequency
        ref = arcs[-1] if variant % 2 == 0 else arcs[0]
        new = _Arc(ref.f_apex / 100 if variant % 2 == 0 else ref.f_apex * 100, 0.3 * ref.r)
        arcs = arcs + [new] if variant % 2 == 0 else [new] + arcs
    if variant >= 2:  # perturbed restarts
        scale = (0.3, 3.0)[variant % 2]
        arcs = [_Arc(a.f_apex, a.r * scale) for a in arcs]
    return arcs[:n_blocks] if n_blocks else arcs


def _r0(blocks: list, arcs: list[_Arc], fs: np.ndarray, zs: np.ndarray, zmax: float) -> float:
    """Series resistance: Z' at the first arc's apex minus half its R (else the HF intercept)."""
    r_hf = float(zs.real[0])
    if blocks:
        r0 = float(np.interp(arcs[0].f_apex, fs[::-1], zs.real[::-1])) - arcs[0].r / 2
    else:
        r0 = r_hf
    if not r0 > 0:
        r0 = max(1e-3 * max(r_hf, 1e-12), 1e-6 * zmax)
    return r0


def _seed_top_level(cc: CompiledCircuit, vals: dict, r0: float, fs: np.ndarray, zs: np.ndarray, zmax: float) -> None:
    """Seeds of the series elements at the top level: the first R is R0, C/CPE from the tail."""
    q_t, a_t, _ = _tail(fs, zs)
    r_hf = float(zs.real[0])
    seen_r = False
    for e in (n for n in top_items(cc.tree) if isinstance(n, Element)):
        if e.type == "R" and not seen_r:
            vals[e.name] = r0
            seen_r = True
        elif e.type == "CPE":
            vals[e.name + "_0"], vals[e.name + "_1"] = q_t, a_t
        elif e.type == "C":
            vals[e.name] = q_t ** (1 / a_t) if a_t > 0 else q_t
        elif e.type == "L":
            wmax = 2 * np.pi * fs[0]
            vals[e.name] = max(float(zs.imag[0]), 1e-3 * abs(r_hf) + 1e-12) / wmax
        else:
            _seed_element(e, vals, max(float(np.ptp(zs.real)), 1e-3 * zmax), float(fs[-1]), 0.8, fs, zs)


def seed(cc: CompiledCircuit, f: np.ndarray, z: np.ndarray, variant: int = 0) -> np.ndarray:
    """Initial parameter vector (cc.param_names order) seeded from the spectrum."""
    feat = data_features(f, z)
    fs, zs, mz = feat["fs"], feat["zs"], feat["mz"]
    zmax = float(np.max(np.abs(zs)))
    blocks = arc_pairs(cc)
    fgeo = float(np.exp(np.mean(np.log(fs))))
    arcs = _complete_arcs(_apex_arcs(fs, mz, feat["peaks"], len(blocks)), len(blocks), variant, fgeo,
                          max(float(np.ptp(zs.real)), 1e-3 * zmax))
    return _seed_arcs(cc, fs, zs, arcs)


#: apex frequencies per decade of the measured range tried by :func:`grid_seeds`, and at most this
#: many of their combinations (evenly spread, the first one kept)
GRID_PER_DECADE = 1.0
GRID_MAX_STARTS = 16


def grid_seeds(cc: CompiledCircuit, f: np.ndarray, z: np.ndarray) -> list[np.ndarray]:
    """Further starts for a fit that every data-driven seed left poor: the circuit's arcs placed at
    every combination (high -> low frequency) of log-spaced apex frequencies across the measured
    range, each arc's R the modulus |Z| there. Spectra whose arcs show no peak of -Z'' (a blocking
    electrode's tail can dwarf a grain-boundary arc) are found this way."""
    from itertools import combinations

    feat = data_features(f, z)
    fs, zs = feat["fs"], feat["zs"]
    n = len(arc_pairs(cc))
    if not n:
        return []
    decades = math.log10(float(fs[0]) / float(fs[-1]))
    k = max(n, int(round(decades * GRID_PER_DECADE)))
    grid = np.logspace(math.log10(float(fs[0])), math.log10(float(fs[-1])), k + 2)[1:-1]  # interior points
    mod = np.abs(zs)
    combos = list(combinations(grid, n))
    if len(combos) > GRID_MAX_STARTS:
        combos = [combos[i] for i in np.linspace(0, len(combos) - 1, GRID_MAX_STARTS).round().astype(int)]
    out = []
    for picks in combos:
        arcs = [_Arc(float(fa), float(np.interp(math.log(fa), np.log(fs[::-1]), mod[::-1]))) for fa in picks]
        out.append(_seed_arcs(cc, fs, zs, arcs))
    return out


def _seed_arcs(cc: CompiledCircuit, fs: np.ndarray, zs: np.ndarray, arcs: list[_Arc]) -> np.ndarray:
    """The parameter vector for one arc per parallel block, R0 and the top-level elements."""
    zmax = float(np.max(np.abs(zs)))
    blocks = arc_pairs(cc)
    fgeo = float(np.exp(np.mean(np.log(fs))))
    r0 = _r0(blocks, arcs, fs, zs, zmax)
    vals: dict[str, float] = {}
    for blk, arc in zip(blocks, arcs):
        els = [e for b in blk.branches for e in (_flatten(b))]
        n_res = sum(1 for e in els if e.type in _RESISTIVE) or 1
        for e in els:
            _seed_element(e, vals, arc.r / n_res, arc.f_apex, _ALPHA0, fs, zs)
    _seed_top_level(cc, vals, r0, fs, zs, zmax)
    # anything nested deeper (series inside series etc.)
    for e in cc.elements:
        if not any(n.startswith(e.name) for n in vals):
            _seed_element(e, vals, max(float(np.ptp(zs.real)), 1e-3 * zmax) / 2, fgeo, 0.8, fs, zs)
    return np.array([vals[n] for n in cc.param_names], dtype=float)


def _seed_element(e: Element, vals: dict, r: float, f_apex: float, alpha: float, fs, zs) -> None:
    w = 2 * np.pi * f_apex
    tau = 1.0 / w
    t = e.type
    n = e.name
    if t == "R":
        vals[n] = r
    elif t == "C":
        vals[n] = 1.0 / (w * r)
    elif t == "CPE":
        vals[n + "_0"], vals[n + "_1"] = 1.0 / (r * w**alpha), alpha
    elif t == "L":
        vals[n] = 1e-3 * r / (2 * np.pi * fs[0])
    elif t == "W":
        vals[n] = r * math.sqrt(w)
    elif t in ("Wo", "Ws", "G", "K"):
        vals[n + "_0"], vals[n + "_1"] = r, tau
    elif t == "La":
        vals[n + "_0"], vals[n + "_1"] = 1e-3 * r / (2 * np.pi * fs[0]), 0.9
    elif t == "Gs":
        vals[n + "_0"], vals[n + "_1"], vals[n + "_2"] = r, tau, 1.0
    elif t == "Zarc":
        vals[n + "_0"], vals[n + "_1"], vals[n + "_2"] = r, tau, alpha
    elif t == "TLMQ":
        vals[n + "_0"], vals[n + "_1"], vals[n + "_2"] = r, 1.0 / (r * w**alpha), alpha
    elif t == "T":
        vals[n + "_0"], vals[n + "_1"], vals[n + "_2"], vals[n + "_3"] = r, r, 1.0, tau
