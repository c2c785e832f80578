"""Equivalent-circuit fitting of impedance spectra of solid electrolytes.

Sign convention (all of Ionbase): Z = Z' + j Z''; z_imag_ohm = Z'' (negative for capacitive arcs).

Fitting (fixed design decisions):
* residuals weighted by |Z| (modulus weighting: r = (Z_model - Z_data)/|Z_data|, real and
  imaginary parts stacked; Boukamp, Solid State Ionics 20, 31 (1986); Orazem & Tribollet,
  Electrochemical Impedance Spectroscopy, 2nd ed. (2017), ch. 19). ``weighting="unit"``
  (unweighted) exists only to reproduce external unweighted fits.
* positive parameters are fitted as ln(p) (bounds 1e-20..1e20); exponents (CPE alpha, Zarc
  gamma, ...) linearly within [1e-3, 1].
* initial guesses are seeded from the data: R0 from the high-frequency real-axis intercept,
  each arc's R from its apex height (h = (R/2) tan(alpha pi/4)), Q from the apex frequency via
  (R Q)^(1/alpha) = 1/(2 pi f_apex), the blocking CPE from the low-frequency tail slope
  d log(-Z'')/d log(w) = -alpha. User guesses override.
* scipy.optimize.least_squares (TRF); parameter covariance = s^2 (J^T J)^-1 with
  s^2 = chi^2/(2N - p), J mapped back from log space by the chain rule (equivalent to
  sigma_p = p * sigma_ln p to first order, but well-defined when p -> 0).
* ``chi_square`` = sum of squared weighted residuals; ``residual`` = sqrt(chi^2 / 2N), i.e.
  the RMS relative residual (0.01 = 1 %) for modulus weighting.

Default circuit selection (``circuit=None``): the standard circuits STANDARD_CIRCUITS (plus
``L0-`` variants when the high-frequency Z'' is inductive, i.e. > 0) are all fitted and the
one with the lowest BIC = 2N ln(chi^2/2N) + p ln(2N) is chosen (Schwarz, Ann. Stat. 6, 461 (1978)).

Arcs: each parallel block p(R_i, C_i|CPE_i) is an arc; series C/CPE elements are blocking
(electrode) capacitances. Effective capacitance of an R||CPE by Brug's formula
C = (R^(1-a) Q)^(1/a) (Brug et al., J. Electroanal. Chem. 176, 275 (1984), eq. 20); for a
series (blocking) CPE Brug's surface-distribution form C = Q^(1/a) R_e^((1-a)/a) with R_e the
sum of all resistances R* in the circuit; series C/CPE elements are always assigned
"electrode" (blocking interface by topology). Arc assignment by capacitance (Irvine, Sinclair &
West, Adv. Mater. 2, 132 (1990), Table 1), using C normalised to a cell constant L/A = 1 cm^-1
(C_norm = C * (L/A) when geometry is given, else C itself). Cut-offs used here (the table's
ranges overlap; overlaps are resolved toward the lower-capacitance assignment):
    C_norm <  1e-11 F          -> "bulk"
    1e-11 <= C_norm < 1e-8 F   -> "grain_boundary"
    1e-8  <= C_norm < 1e-7 F   -> "surface_layer"
    C_norm >= 1e-7 F           -> "electrode"

Resistances and conductivities (R_total = R0 + bulk and grain-boundary arcs, R_bulk, R_gb, sigma =
L/(A R) for each, fit-quality flags) are derived in analysis.eis_resistances; fit_spectrum returns
them as ``resistances``.

Lin-KK (Schönleber et al., Electrochim. Acta 131, 20 (2014)) via impedance.validation.linKK,
fit_type="complex", c=0.85, with and without a series capacitance (the better of the two is
kept). PASS when max(|residual|) <= KK_MAX_RESIDUAL (5 %, relative to |Z|) and RMS residual <=
KK_RMS_RESIDUAL (2 %).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np
from scipy.optimize import least_squares

from ._common import DictMixin, as_float_array, plain, same_length
from .circuits import CompiledCircuit, Element, Parallel, compile_circuit
from .eis_resistances import SpectrumResistances, spectrum_resistances
from .errors import FitError, InsufficientDataError, InvalidInputError
from .impedance_seed import arc_pairs, data_features, grid_seeds, seed, top_items

__all__ = ["STANDARD_CIRCUITS", "CircuitFitResult", "fit_circuit", "linkk_test", "brug_capacitance",
           "assign_capacitance", "Arc", "SpectrumFitResult", "fit_spectrum", "KK_MAX_RESIDUAL",
           "KK_RMS_RESIDUAL", "CAPACITANCE_CUTOFFS"]

STANDARD_CIRCUITS = ("R0-p(R1,CPE1)", "R0-p(R1,CPE1)-CPE2", "R0-p(R1,CPE1)-p(R2,CPE2)-CPE3")
KK_MAX_RESIDUAL = 0.05
KK_RMS_RESIDUAL = 0.02
CAPACITANCE_CUTOFFS = ((1e-11, "bulk"), (1e-8, "grain_boundary"), (1e-7, "surface_layer"), (math.inf, "electrode"))
_LOG_LO, _LOG_HI = math.log(1e-20), math.log(1e20)
_EXP_LO, _EXP_HI = 1e-3, 1.0


def _spectrum(frequency_hz, z_real_ohm, z_imag_ohm) -> tuple[np.ndarray, np.ndarray]:
    f = as_float_array("frequency_hz", frequency_hz)
    zr = as_float_array("z_real_ohm", z_real_ohm)
    zi = as_float_array("z_imag_ohm", z_imag_ohm)
    same_length(frequency_hz=f, z_real_ohm=zr, z_imag_ohm=zi)
    if np.any(f <= 0):
        raise InvalidInputError(f"frequency_hz must be > 0 (index {int(np.flatnonzero(f <= 0)[0])})")
    z = zr + 1j * zi
    if np.any(z == 0):
        raise InvalidInputError("impedance of exactly 0 ohm cannot be |Z|-weighted")
    if len(np.unique(f)) < 5:
        raise InsufficientDataError(f"need >= 5 distinct frequencies, got {len(np.unique(f))}")
    return f, z


# ----------------------------------------------------------------------------- fitting
@dataclass(frozen=True)
class CircuitFitResult(DictMixin):
    """One circuit fit. parameters: {name: {"value", "stderr", "unit"}} (stderr None if undetermined)."""

    circuit: str
    parameters: dict
    residual: float
    chi_square: float
    reduced_chi_square: float
    bic: float
    n_points: int
    weighting: str
    initial_guess: dict
    residuals_real: np.ndarray = field(repr=False)
    residuals_imag: np.ndarray = field(repr=False)
    success: bool = True
    at_bounds: tuple = ()  # parameters that ended on a bound (value not determined by the data)
    covariance: Optional[np.ndarray] = field(default=None, repr=False)  # parameter space, param_names order

    def values(self) -> np.ndarray:
        return np.array([v["value"] for v in self.parameters.values()])

    def to_dict(self, include_residuals: bool = False) -> dict[str, Any]:
        d = super().to_dict()
        if not include_residuals:
            d.pop("residuals_real")
            d.pop("residuals_imag")
        d.pop("covariance")
        return d


def _guess_vector(cc: CompiledCircuit, initial_guess) -> Optional[np.ndarray]:
    if initial_guess is None:
        return None
    if isinstance(initial_guess, Mapping):
        unknown = set(initial_guess) - set(cc.param_names)
        if unknown:
            raise InvalidInputError(f"initial_guess names {sorted(unknown)} not in circuit parameters {cc.param_names}")
        return None if not initial_guess else {k: float(v) for k, v in initial_guess.items()}  # type: ignore[return-value]
    g = as_float_array("initial_guess", initial_guess)
    if len(g) != len(cc.param_names):
        raise InvalidInputError(f"initial_guess has {len(g)} values; circuit {cc.text} has "
                                f"{len(cc.param_names)} parameters {cc.param_names}")
    return g


def _run(cc: CompiledCircuit, f, z, p0: np.ndarray, weighting: str):
    kinds = np.array([k == "pos" for k in cc.param_kinds])
    if np.any(p0[kinds] <= 0):
        bad = cc.param_names[int(np.flatnonzero(kinds & (p0 <= 0))[0])]
        raise InvalidInputError(f"initial guess for {bad} must be > 0")
    u0 = np.where(kinds, np.log(np.where(kinds, p0, 1.0)), p0)
    lo = np.where(kinds, _LOG_LO, _EXP_LO)
    hi = np.where(kinds, _LOG_HI, _EXP_HI)
    ohm = np.array([u == "ohm" for u in cc.param_units])
    az = np.abs(z)
    # resistances: [1e-9 min|Z|, 1e4 max|Z|] (ln space); a value at the bound is reported in at_bounds
    lo = np.where(ohm, math.log(1e-9 * float(az.min())), lo)
    hi = np.where(ohm, math.log(1e4 * float(az.max())), hi)
    u0 = np.clip(u0, lo + 1e-9, hi - 1e-9)
    wts = 1.0 / np.abs(z) if weighting == "modulus" else np.ones(len(z))

    def to_p(u):
        return np.where(kinds, np.exp(np.clip(u, _LOG_LO, _LOG_HI)), u)

    def resid(u):
        # u: one vector, or one per row (then one row of residuals per row)
        d = (cc.impedance(to_p(u), f) - z) * wts
        r = np.concatenate([d.real, d.imag], axis=-1)
        return np.where(np.isfinite(r), r, 1e10)

    def jacobian_rows(_fun, xs):
        """scipy's finite-difference Jacobian asks for resid at n perturbed vectors through this
        map-like (``workers``); they are evaluated as rows of one array: the same numbers, in about a
        third of the time of a fit (the steps, the differences and the bounds stay scipy's own)."""
        return list(resid(np.array(list(xs))))

    with np.errstate(all="ignore"):
        res = least_squares(resid, u0, bounds=(lo, hi), method="trf", x_scale="jac",
                            ftol=1e-12, xtol=1e-12, gtol=1e-12, max_nfev=100 * (len(u0) + 1),
                            workers=jacobian_rows)
    at_bounds = tuple(n for n, u, a, b in zip(cc.param_names, res.x, lo, hi)
                      if u - a < 1e-6 * max(1.0, abs(a)) or b - u < 1e-6 * max(1.0, abs(b)))
    return res, to_p(res.x), kinds, at_bounds


def fit_circuit(frequency_hz: np.ndarray, z_real_ohm: np.ndarray, z_imag_ohm: np.ndarray, circuit: str,
                initial_guess: "Sequence[float] | Mapping[str, float] | None" = None,
                weighting: str = "modulus", n_starts: Optional[int] = None) -> CircuitFitResult:
    """Fit an equivalent circuit (impedance.py notation) by |Z|-weighted non-linear least squares.

    min sum_i |(Z_model(f_i) - Z_i)/|Z_i||^2 over ln(positive params) and exponents in [1e-3, 1]
    (Boukamp 1986). initial_guess: full list (impedance.py order) or {name: value} overriding
    the data-driven seeds. Parameter stderr from s^2 (J^T J)^-1 (see module docstring).
    """
    if weighting not in ("modulus", "unit"):
        raise InvalidInputError(f"weighting must be 'modulus' or 'unit', got {weighting!r}")
    f, z = _spectrum(frequency_hz, z_real_ohm, z_imag_ohm)
    cc = compile_circuit(circuit)
    npar = len(cc.param_names)
    if 2 * len(f) <= npar:
        raise InsufficientDataError(f"{len(f)} frequencies (2N={2 * len(f)} residuals) cannot determine "
                                    f"{npar} parameters")
    guess = _guess_vector(cc, initial_guess)
    res, p, kinds, p0, atb = _best_run(cc, f, z, guess, weighting, n_starts)
    if not np.all(np.isfinite(p)):
        raise FitError(f"fit of {circuit} produced non-finite parameters")
    r = res.fun
    chi2 = float(r @ r)
    m = len(r)
    dof = max(m - npar, 1)
    se, cov = _covariance(res.jac, p, kinds, chi2 / dof)
    params = {name: {"value": float(v), "stderr": float(e) if np.isfinite(e) else None, "unit": u}
              for name, v, e, u in zip(cc.param_names, p, se, cc.param_units)}
    bic = m * math.log(max(chi2, 1e-300) / m) + npar * math.log(m)
    n = len(f)
    return CircuitFitResult(cc.text, params, math.sqrt(chi2 / m), chi2, chi2 / dof, bic, n, weighting,
                            {k: float(v) for k, v in zip(cc.param_names, p0)}, r[:n].copy(), r[n:].copy(),
                            bool(res.success), atb, cov)


def _seeded(cc: CompiledCircuit, f, z, variant: int, guess: Optional[dict]) -> np.ndarray:
    """The data-driven seed of ``variant`` with the user's {name: value} guesses put over it."""
    s = seed(cc, f, z, variant)
    for k, v in (guess or {}).items():
        s[cc.param_names.index(k)] = v
    return s


def _starts(cc: CompiledCircuit, f, z, guess, n_starts: Optional[int]) -> list[np.ndarray]:
    """Starting vectors: the user's full vector alone, else seeds (4 variants when the data show
    fewer peaks than the circuit has arcs, unless n_starts says otherwise)."""
    if isinstance(guess, np.ndarray):
        return [guess]
    if n_starts is None:
        n_peaks = len(data_features(f, z)["peaks"])
        n_starts = 1 if n_peaks >= len(arc_pairs(cc)) else 4
    return [_seeded(cc, f, z, v, guess) for v in range(max(n_starts, 1))]


#: a fit whose RMS relative residual (modulus weighting) is above this is poor: more starts are tried
POOR_RMS = 0.05


def _best_run(cc: CompiledCircuit, f, z, guess, weighting: str, n_starts: Optional[int]):
    """Fit from every start; keep the lowest cost. When the best of fewer than 3 seeded starts is
    poor (> POOR_RMS, modulus weighting), also try the perturbed seeds (variants 2 and 3) once; when
    the best of all seeded starts is still poor, the grid of arc positions (impedance_seed.grid_seeds)
    until one is not poor (a poor fit would make the model choice prefer a wrong circuit: seen on a
    machine whose BLAS led every seed of a two-arc spectrum to the same local minimum)."""
    seeded = not isinstance(guess, np.ndarray) and weighting == "modulus"
    starts = _starts(cc, f, z, guess, n_starts)
    best = None
    for i, p0 in enumerate(starts):
        best = _better(best, cc, f, z, p0, weighting)
        # restart when the first fit is poor: try perturbed seeds once
        if i == len(starts) - 1 and seeded and len(starts) < 3 and _poor(best[0], f):
            starts.extend([seed(cc, f, z, 2), seed(cc, f, z, 3)])
    if seeded and not guess and _poor(best[0], f):
        for p0 in grid_seeds(cc, f, z):  # until one is not poor
            best = _better(best, cc, f, z, p0, weighting)
            if not _poor(best[0], f):
                break
    return best


def _poor(res, f) -> bool:
    return math.sqrt(2 * res.cost / (2 * len(f))) > POOR_RMS


def _better(best, cc: CompiledCircuit, f, z, p0, weighting: str):
    """The fit from ``p0`` if it has a lower cost than ``best`` (res, p, kinds, p0, at_bounds), else best."""
    res, p, kinds, atb = _run(cc, f, z, p0, weighting)
    return (res, p, kinds, p0, atb) if best is None or res.cost < best[0].cost else best


def _covariance(jac: np.ndarray, p: np.ndarray, kinds: np.ndarray, s2: float):
    """Parameter stderr and covariance s^2 (J_p^T J_p)^-1 (None, NaN stderr if singular).

    J_p = J_u * du/dp (du/dp = 1/p for log parameters); same first-order result as
    sigma_p = p sigma_ln p, but stays honest when p -> 0 (then the ln-space column vanishes and
    sigma_p would collapse to 0). Columns are normalised before the pseudo-inverse for conditioning.
    """
    try:
        jp = jac / np.where(kinds, p, 1.0)[None, :]
        norms = np.linalg.norm(jp, axis=0)
        norms = np.where(norms > 0, norms, 1.0)
        cov_s = np.linalg.pinv((jp / norms).T @ (jp / norms))
        se = np.sqrt(np.clip(np.diag(cov_s), 0, None) * s2) / norms
        cov = cov_s * s2 / np.outer(norms, norms)
    except np.linalg.LinAlgError:
        se = np.full(len(p), np.nan)
        cov = None
    return se, cov


# ----------------------------------------------------------------------------- Lin-KK
def _linkk(f: np.ndarray, z: np.ndarray, c: float, max_M: int, add_cap: bool):
    """impedance.validation.linKK's algorithm (same M loop, same fit_linKK / get_tc_distribution).

    impedance.py 1.7.1's own ``linKK`` builds a Python expression from ``repr`` of numpy
    scalars and ``eval``s it; with numpy >= 2 (``np.float64(...)`` reprs) that raises
    NameError. We therefore call its numerical building blocks and evaluate the fitted
    RC ladder directly: Z = R0 + sum_k R_k/(1 + j w tau_k) + j w L [+ 1/(j w C)].
    """
    from impedance.validation import fit_linKK, get_tc_distribution

    M, mu = 0, 1.0
    while mu > c and M < max_M:
        M += 1
        ts = get_tc_distribution(f, M)
        elements, mu = fit_linKK(f, ts, M, z, "complex", add_cap)
    w = 2 * np.pi * f
    zfit = elements[0] + np.sum(elements[1:M + 1][None, :] / (1 + 1j * w[:, None] * ts[None, :]), axis=1)
    zfit = zfit + 1j * w * elements[-1]
    if add_cap:
        zfit = zfit + elements[-2] / (1j * w)
    err = (z - zfit) / np.abs(z)
    return M, float(mu), err.real, err.imag


def linkk_test(frequency_hz: np.ndarray, z_real_ohm: np.ndarray, z_imag_ohm: np.ndarray, c: float = 0.85,
               max_M: int = 50) -> dict:
    """Lin-KK validity test (Schönleber et al., Electrochim. Acta 131, 20 (2014)).

    Uses impedance.py's linKK algorithm (see _linkk for the numpy-2 workaround), fit_type
    "complex", with and without a series capacitance (the lower-RMS variant is kept).
    Returns {"M", "mu", "max_residual_real", "max_residual_imag", "rms_residual", "add_cap",
    "passed", "threshold_max", "threshold_rms"}; residuals are relative to |Z|.
    PASS iff max |residual| <= 5 % and RMS <= 2 %.
    """
    f, z = _spectrum(frequency_hz, z_real_ohm, z_imag_ohm)
    best = None
    for add_cap in (False, True):
        with np.errstate(all="ignore"):
            M, mu, rr, ri = _linkk(f, z, c, max_M, add_cap)
        rms = float(np.sqrt(np.mean(np.concatenate([rr, ri]) ** 2)))
        if best is None or rms < best["rms_residual"]:
            best = {"M": int(M), "mu": float(mu), "max_residual_real": float(np.max(np.abs(rr))),
                    "max_residual_imag": float(np.max(np.abs(ri))), "rms_residual": rms, "add_cap": add_cap}
    assert best is not None
    best["passed"] = bool(max(best["max_residual_real"], best["max_residual_imag"]) <= KK_MAX_RESIDUAL
                          and best["rms_residual"] <= KK_RMS_RESIDUAL)
    best["threshold_max"] = KK_MAX_RESIDUAL
    best["threshold_rms"] = KK_RMS_RESIDUAL
    return best


# ----------------------------------------------------------------------------- arcs
def brug_capacitance(r_ohm: float, q: float, alpha: float) -> float:
    """Effective capacitance of R||CPE, Brug et al. (1984): C = (R^(1-a) Q)^(1/a) (F)."""
    if r_ohm <= 0 or q <= 0 or not 0 < alpha <= 1:
        raise InvalidInputError(f"Brug formula needs R > 0, Q > 0, 0 < alpha <= 1; got {r_ohm}, {q}, {alpha}")
    return float((r_ohm ** (1 - alpha) * q) ** (1 / alpha))


def assign_capacitance(c_farad: float, cell_constant_per_cm: Optional[float] = None) -> str:
    """Irvine-Sinclair-West (1990) assignment from C normalised to L/A = 1 cm^-1 (see module doc)."""
    cn = c_farad * (cell_constant_per_cm if cell_constant_per_cm else 1.0)
    for cut, label in CAPACITANCE_CUTOFFS:
        if cn < cut:
            return label
    return "electrode"  # pragma: no cover


@dataclass(frozen=True)
class Arc(DictMixin):
    element: str  # e.g. "p(R1,CPE1)" or "CPE2" (series/blocking)
    kind: str  # "arc" or "series"
    resistance_ohm: Optional[float]
    resistance_stderr_ohm: Optional[float]
    capacitance_F: float
    capacitance_normalized_F: float
    apex_frequency_hz: Optional[float]
    assignment: str
    resistor: Optional[str] = None  # the arc's R element (e.g. "R1")


def _parallel_arc(node: Parallel, val: dict, params: dict, cn: float, cell_constant: Optional[float]) -> Optional[Arc]:
    """The arc of a p(R, C|CPE) block (None for any other parallel block)."""
    if len(node.branches) != 2 or not all(isinstance(b, Element) for b in node.branches):
        return None
    rs = [b for b in node.branches if b.type == "R"]
    cs = [b for b in node.branches if b.type in ("C", "CPE")]
    if len(rs) != 1 or len(cs) != 1:
        return None
    r, c = rs[0], cs[0]
    R = val[r.name]
    if c.type == "C":
        C, tau = val[c.name], R * val[c.name]
    else:
        q, a = val[c.name + "_0"], val[c.name + "_1"]
        C = brug_capacitance(R, q, a)
        tau = (R * q) ** (1 / a)
    return Arc(f"p({r.name},{c.name})", "arc", R, params[r.name]["stderr"], C, C * cn,
               1 / (2 * math.pi * tau), assign_capacitance(C, cell_constant), r.name)


def _series_arc(node: Element, val: dict, r_total: float, cn: float) -> Arc:
    """A series C/CPE: blocking electrode interface by topology (not by capacitance)."""
    if node.type == "C":
        C = val[node.name]
    else:
        q, a = val[node.name + "_0"], val[node.name + "_1"]
        C = float(q ** (1 / a) * r_total ** ((1 - a) / a)) if r_total > 0 else q
    return Arc(node.name, "series", None, None, C, C * cn, None, "electrode")


def _arcs(cc: CompiledCircuit, params: dict, cell_constant: Optional[float]) -> list[Arc]:
    val = {k: v["value"] for k, v in params.items()}
    out: list[Arc] = []
    r_total = sum(v for k, v in val.items() if k.startswith("R") and "_" not in k)
    cn = cell_constant if cell_constant else 1.0
    for node in top_items(cc.tree):
        if isinstance(node, Parallel):
            arc = _parallel_arc(node, val, params, cn, cell_constant)
            if arc is not None:
                out.append(arc)
        elif isinstance(node, Element) and node.type in ("C", "CPE"):
            out.append(_series_arc(node, val, r_total, cn))
    return out


@dataclass(frozen=True)
class SpectrumFitResult(DictMixin):
    """Top-level EIS result. to_dict() has at least circuit, parameters, residual, kk."""

    circuit: str
    parameters: dict
    residual: float
    kk: dict
    arcs: tuple
    chi_square: float
    reduced_chi_square: float
    weighting: str
    candidates: dict
    sigma_bulk_S_per_cm: Optional[float] = None
    sigma_bulk_stderr_S_per_cm: Optional[float] = None
    sigma_total_S_per_cm: Optional[float] = None
    sigma_total_stderr_S_per_cm: Optional[float] = None
    at_bounds: tuple = ()
    fit: Optional[CircuitFitResult] = field(default=None, repr=False)
    resistances: Optional[SpectrumResistances] = None  # R_total, R_bulk, R_gb, sigmas, roles, quality

    def to_dict(self) -> dict[str, Any]:
        d = {k: plain(getattr(self, k)) for k in ("circuit", "parameters", "residual", "kk", "arcs", "chi_square",
                                                   "reduced_chi_square", "weighting", "candidates",
                                                   "sigma_bulk_S_per_cm", "sigma_bulk_stderr_S_per_cm",
                                                   "sigma_total_S_per_cm", "sigma_total_stderr_S_per_cm", "at_bounds",
                                                   "resistances")}
        return d


def fit_spectrum(frequency_hz: np.ndarray, z_real_ohm: np.ndarray, z_imag_ohm: np.ndarray,
                 circuit: Optional[str] = None, *, initial_guess=None, thickness_cm: Optional[float] = None,
                 area_cm2: Optional[float] = None, weighting: str = "modulus", kk: bool = True,
                 thickness_stderr: float = 0.0, area_stderr: float = 0.0,
                 series_layers: Optional[Mapping[str, tuple]] = None) -> SpectrumFitResult:
    """Fit a spectrum, run Lin-KK, assign arcs and derive R_total, R_bulk, R_gb (and, with geometry,
    sigma_total = L/(A R_total), sigma_bulk, sigma_gb) by analysis.eis_resistances, the one place
    both the analysis job and the CLI take these numbers from. A poor fit is flagged there.

    circuit=None: fit STANDARD_CIRCUITS (and L0- variants if Z'' > 0 at the highest frequency)
    and choose the lowest BIC = 2N ln(chi^2/2N) + p ln 2N (Schwarz 1978).
    """
    f, z = _spectrum(frequency_hz, z_real_ohm, z_imag_ohm)
    if (thickness_cm is None) != (area_cm2 is None):
        raise InvalidInputError("give both thickness_cm and area_cm2, or neither")
    candidates: dict[str, dict] = {}
    if circuit is None:
        fit = _best_standard_fit(f, z, weighting, candidates)
    else:
        fit = fit_circuit(f, z.real, z.imag, circuit, initial_guess=initial_guess, weighting=weighting)
        candidates[fit.circuit] = {"bic": fit.bic, "chi_square": fit.chi_square, "n_params": len(fit.parameters)}
    cc = compile_circuit(fit.circuit)
    cell = (thickness_cm / area_cm2) if thickness_cm is not None else None
    arcs = _arcs(cc, fit.parameters, cell)
    kkd = linkk_test(f, z.real, z.imag) if kk else {}
    derived = spectrum_resistances(fit.circuit, fit.parameters, arcs, covariance=fit.covariance, residual=fit.residual,
                                   kk=kkd, at_bounds=fit.at_bounds, frequency_range_hz=(float(np.min(f)), float(np.max(f))),
                                   thickness_cm=thickness_cm, area_cm2=area_cm2, thickness_stderr=thickness_stderr,
                                   area_stderr=area_stderr, series_layers=series_layers)
    sb = derived.sigma_bulk or {}
    st = derived.sigma_total or {}
    return SpectrumFitResult(fit.circuit, fit.parameters, fit.residual, kkd, tuple(arcs), fit.chi_square,
                             fit.reduced_chi_square, fit.weighting, candidates, sb.get("sigma_S_per_cm"),
                             sb.get("stderr_S_per_cm"), st.get("sigma_S_per_cm"), st.get("stderr_S_per_cm"),
                             fit.at_bounds, fit, derived)


def _best_standard_fit(f: np.ndarray, z: np.ndarray, weighting: str, candidates: dict) -> CircuitFitResult:
    """Fit STANDARD_CIRCUITS (and L0- variants when Z'' > 0 at the highest frequency); the lowest
    BIC wins. Each candidate's BIC, chi^2 and parameter count (or its error) go into ``candidates``."""
    names = list(STANDARD_CIRCUITS)
    if z.imag[np.argmax(f)] > 0:
        names += ["L0-" + c for c in STANDARD_CIRCUITS]
    best = None
    for c in names:
        try:
            r = fit_circuit(f, z.real, z.imag, c, weighting=weighting)
        except (FitError, InsufficientDataError) as exc:
            candidates[c] = {"error": str(exc)}
            continue
        candidates[c] = {"bic": r.bic, "chi_square": r.chi_square, "n_params": len(r.parameters)}
        if best is None or r.bic < best.bic:
            best = r
    if best is None:
        raise FitError("no standard circuit could be fitted: " + "; ".join(v.get("error", "") for v in candidates.values()))
    return best
