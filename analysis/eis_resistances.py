"""From an equivalent-circuit fit to the resistances and conductivities a scientist reports.

"Ionic conductivity" of a pellet between ion-blocking electrodes is the TOTAL ionic
conductivity sigma_total = L / (A R_total), with R_total the low-frequency intercept of the
spectrum on the real axis before the blocking-electrode spike:

    R_total = R_series + sum(R_arc for arcs assigned "bulk" or "grain_boundary")

R_series (the top-level series resistors, R0) is the high-frequency intercept. When no bulk arc
is resolved in the frequency window (the bulk arc lies above the highest frequency), R_series
carries the bulk resistance; it then enters R_total but is NOT reported as R_bulk: a series
resistor has no capacitance, so nothing assigns it (it also holds leads and contacts). Where one
bulk arc is resolved (its apex inside the measured window, give or take APEX_MARGIN_DECADES),
sigma_bulk = L/(A R_bulk); resolved grain-boundary arcs give sigma_gb = L/(A R_gb) (R_gb = their
sum). An arc fitted further outside the window still enters R_total but is not reported alone.
Arcs assigned "surface_layer" or "electrode" are not part of the electrolyte's resistance and are
listed as excluded. Arcs are assigned by their (Brug)
capacitance normalised to L/A = 1 cm^-1 (analysis.impedance.assign_capacitance; Irvine,
Sinclair & West, Adv. Mater. 2, 132 (1990)). Irvine et al. also define the total resistance as
the sum of the bulk and grain-boundary arcs.

Uncertainty: u(R_total)^2 = w^T Cov w over the fitted resistances (w = 1 for each summed
resistor), using the fit's full parameter covariance, because R0 and the arc resistances are
correlated; sigma then by analysis.conductivity.conductivity (GUM eq. 10).

Quality: a result is flagged (never silently stored as fine) when the fit's RMS relative residual
exceeds FIT_MAX_RESIDUAL, when the Lin-KK test fails, or when a parameter that decides R_total
or an arc's assignment ended on a bound of the fit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from ._common import DictMixin
from .circuits import Element, Parallel, Series, compile_circuit
from .conductivity import ConductivityResult, conductivity
from .stacks import subtract_series_layers

__all__ = ["APEX_MARGIN_DECADES", "FIT_MAX_RESIDUAL", "IONIC_ASSIGNMENTS", "SpectrumResistances", "spectrum_resistances"]

#: RMS relative residual (|Z|-weighted) above which a circuit fit is flagged as poor (3 %)
FIT_MAX_RESIDUAL = 0.03
#: an arc counts as resolved (and gets its own R_bulk / R_gb) when its apex frequency lies inside the
#: measured window widened by this many decades on each side: the data then contain the arc's apex
#: region; further out the arc is an extrapolation of the fitted shape (it still enters R_total)
APEX_MARGIN_DECADES = 0.25
#: arc assignments that are part of the electrolyte's ionic resistance
IONIC_ASSIGNMENTS = ("bulk", "grain_boundary")
_NEUTRAL_TYPES = ("L", "La", "C", "CPE")  # series elements without a DC resistance


@dataclass(frozen=True)
class SpectrumResistances(DictMixin):
    """Resistances (ohm) and, with geometry, conductivities (S/cm) derived from one circuit fit.

    total/bulk/grain_boundary: {"value_ohm", "stderr_ohm", "elements"} or None.
    sigma_*: ConductivityResult.to_dict() or None. roles: element -> what it was taken for.
    quality: {"flagged", "reasons", "residual", "residual_threshold", "kk_passed"}.
    notes: why a value was not claimed.
    """

    total: Optional[dict]
    bulk: Optional[dict]
    grain_boundary: Optional[dict]
    series_ohm: Optional[float]
    bulk_capacitance_F: Optional[float]
    roles: dict
    arcs: tuple
    sigma_total: Optional[dict]
    sigma_bulk: Optional[dict]
    sigma_grain_boundary: Optional[dict]
    subtracted_layers: Optional[dict]
    cell_constant_per_cm: Optional[float]
    quality: dict
    notes: tuple


def _topology(circuit: str, arcs: Sequence) -> tuple[list[str], list[str]]:
    """(top-level series resistors, elements R_total cannot account for)."""
    tree = compile_circuit(circuit).tree
    items = tree.items if isinstance(tree, Series) else (tree,)
    arc_names = {a.element for a in arcs if a.kind == "arc"}
    series, unknown = [], []
    for node in items:
        if isinstance(node, Element):
            if node.type == "R":
                series.append(node.name)
            elif node.type not in _NEUTRAL_TYPES:
                unknown.append(node.name)
        elif isinstance(node, Parallel):
            names = [b.name for b in node.branches if isinstance(b, Element)]
            label = f"p({','.join(names)})" if len(names) == len(node.branches) else "p(...)"
            if label not in arc_names:
                unknown.append(label)
    return series, unknown


def _sum_with_covariance(names: list[str], parameters: Mapping, covariance: Optional[np.ndarray],
                         order: Sequence[str]) -> tuple[float, Optional[float]]:
    """Sum of the named parameters and its standard uncertainty w^T Cov w (None if undetermined)."""
    value = float(sum(parameters[n]["value"] for n in names))
    if not names:
        return value, 0.0
    if covariance is not None and np.all(np.isfinite(covariance)):
        w = np.array([1.0 if n in names else 0.0 for n in order])
        var = float(w @ covariance @ w)
        return value, math.sqrt(var) if var >= 0 else None
    ses = [parameters[n].get("stderr") for n in names]
    if any(s is None for s in ses):
        return value, None
    return value, math.sqrt(sum(s * s for s in ses))


def _estimate(names: list[str], parameters: Mapping, covariance, order) -> dict:
    value, se = _sum_with_covariance(names, parameters, covariance, order)
    return {"value_ohm": value, "stderr_ohm": se, "elements": list(names)}


def _ideal_capacitor(name: str, value: float) -> bool:
    """A CPE exponent at its upper bound n = 1 is an ideal capacitor, a physical limit the data may
    well reach, not a parameter the data left undetermined (the fit's bound test uses 1e-6)."""
    return name.startswith("CPE") and name.endswith("_1") and value >= 1.0 - 1e-5


def _quality(residual: float, kk: Mapping, at_bounds: Sequence[str], decisive: set[str],
             series: list[str], arc_resistors: list[str], parameters: Mapping) -> tuple[dict, list[str]]:
    """Flags for a poor fit, and the series resistors at their lower bound (treated as unresolved)."""
    reasons: list[str] = []
    if not residual <= FIT_MAX_RESIDUAL:
        reasons.append(f"circuit fit RMS relative residual {residual:.2%} > {FIT_MAX_RESIDUAL:.0%}")
    if kk and not kk.get("passed", True):
        reasons.append(f"Lin-KK test failed (max residual {max(kk['max_residual_real'], kk['max_residual_imag']):.2%}, "
                       f"RMS {kk['rms_residual']:.2%}; limits {kk['threshold_max']:.0%} / {kk['threshold_rms']:.0%})")
    negligible = []
    arc_r = [parameters[n]["value"] for n in arc_resistors]
    for name in at_bounds:
        element = name.split("_")[0]
        if name in series and arc_r and parameters[name]["value"] < 1e-3 * min(arc_r):
            negligible.append(name)  # a series R at its lower bound: no measurable contribution
            continue
        if element in decisive and not _ideal_capacitor(name, parameters[name]["value"]):
            reasons.append(f"parameter {name} ended on a bound of the fit (not determined by the data)")
    q = {"flagged": bool(reasons), "reasons": reasons, "residual": residual, "residual_threshold": FIT_MAX_RESIDUAL,
         "kk_passed": kk.get("passed") if kk else None}
    return q, negligible


def _roles(series: list[str], negligible: list[str], arcs: Sequence, bulk_resolved: bool,
           f_max: Optional[float]) -> dict:
    """What each element of the circuit was taken for (stored in the provenance)."""
    roles: dict[str, str] = {}
    for name in series:
        if name in negligible:
            roles[name] = "series resistance at its lower bound (not resolved); taken as 0 ohm"
        elif bulk_resolved:
            roles[name] = "series resistance (high-frequency intercept: leads and contacts); in R_total"
        else:
            where = f" (above {f_max:.4g} Hz)" if f_max else ""
            roles[name] = ("series resistance (high-frequency intercept); no bulk arc resolved in the frequency "
                           f"window{where}, so it carries the bulk resistance; in R_total, not reported as R_bulk")
    for a in arcs:
        if a.kind != "arc":
            roles[a.element] = f"{a.assignment} (series capacitance, blocking interface); not a resistance"
        elif a.assignment in IONIC_ASSIGNMENTS:
            roles[a.element] = f"{a.assignment} arc (C = {a.capacitance_F:.3g} F, apex {a.apex_frequency_hz:.3g} Hz); in R_total"
        else:
            roles[a.element] = (f"{a.assignment} arc (C = {a.capacitance_F:.3g} F, apex {a.apex_frequency_hz:.3g} Hz); "
                                "excluded from R_total")
    return roles


def _sigma(r: Optional[dict], geometry: Optional[tuple]) -> Optional[ConductivityResult]:
    if r is None or geometry is None or not r["value_ohm"] > 0:
        return None
    length, area, ul, ua = geometry
    return conductivity(r["value_ohm"], length, area, resistance_stderr=r["stderr_ohm"] or 0.0,
                        thickness_stderr=ul, area_stderr=ua)


def _claims(series_used: list[str], unknown: list[str], ionic: list, resolved: list, parameters: Mapping,
            covariance: Optional[np.ndarray], notes: list[str]) -> tuple:
    """(R_total, R_bulk, R_gb) estimates or None each; why one is missing is appended to notes.

    R_total sums every ionic arc; R_bulk and R_gb are claimed only from arcs whose apex lies inside
    the measured frequency window (``resolved``): an arc fitted outside it is an extrapolation.
    """
    order = list(parameters)
    total = bulk = gb = None
    if unknown:
        notes.append(f"R_total not determined: circuit elements {unknown} are neither series resistors, "
                     "R||C / R||CPE arcs nor blocking capacitances")
    elif series_used or ionic:
        total = _estimate(series_used + [a.resistor for a in ionic], parameters, covariance, order)
    else:
        notes.append("R_total not determined: no series resistor and no bulk or grain-boundary arc")
    for a in ionic:
        if a not in resolved:
            notes.append(f"{a.assignment} arc {a.element} has its apex at {a.apex_frequency_hz:.3g} Hz, outside the "
                         f"measured window (+/- {APEX_MARGIN_DECADES} decade): in R_total, not reported on its own")
    bulk_arcs = [a for a in resolved if a.assignment == "bulk"]
    if len(bulk_arcs) == 1:
        bulk = _estimate([bulk_arcs[0].resistor], parameters, covariance, order)
    elif len(bulk_arcs) > 1:
        notes.append(f"{len(bulk_arcs)} arcs have bulk-like capacitance: R_bulk ambiguous, not reported")
    else:
        notes.append("no bulk arc resolved in the frequency window: bulk resistance and conductivity not reported")
    gb_arcs = [a.resistor for a in resolved if a.assignment == "grain_boundary"]
    if gb_arcs:
        gb = _estimate(gb_arcs, parameters, covariance, order)
    return total, bulk, gb


def _resolved(ionic: list, frequency_range_hz: Optional[tuple[float, float]]) -> list:
    """The ionic arcs whose apex lies in the measured window widened by APEX_MARGIN_DECADES."""
    lo, hi = frequency_range_hz or (0.0, math.inf)
    lo, hi = lo / 10**APEX_MARGIN_DECADES, hi * 10**APEX_MARGIN_DECADES
    return [a for a in ionic if a.apex_frequency_hz is not None and lo <= a.apex_frequency_hz <= hi]


def _sigmas(total: Optional[dict], bulk: Optional[dict], gb: Optional[dict], geometry: Optional[tuple],
            series_layers: Optional[Mapping[str, tuple]]) -> tuple:
    """(layers subtracted or None, [sigma_total, sigma_bulk, sigma_gb] as dicts or None).

    sigma_total uses R_total minus the separately measured series layers (analysis.stacks)."""
    layers_out, total_for_sigma = None, total
    if series_layers and total is not None:
        sub = subtract_series_layers(total["value_ohm"], dict(series_layers), total_stderr=total["stderr_ohm"] or 0.0)
        layers_out = sub.layers_ohm
        total_for_sigma = {**total, "value_ohm": sub.resistance_ohm, "stderr_ohm": sub.stderr_ohm}
    sig = [_sigma(r, geometry) for r in (total_for_sigma, bulk, gb)]
    return layers_out, [s.to_dict() if s is not None else None for s in sig]


def _geometry(thickness_cm: Optional[float], area_cm2: Optional[float], thickness_stderr: float,
              area_stderr: float) -> Optional[tuple]:
    """(L, A, u_L, u_A) when both L and A are given, else None (no conductivities)."""
    if thickness_cm is None or area_cm2 is None:
        return None
    return (thickness_cm, area_cm2, thickness_stderr, area_stderr)


def _series_sum(series_used: list[str], parameters: Mapping) -> Optional[float]:
    """Sum of the series resistors used (None when there are none)."""
    return sum(parameters[n]["value"] for n in series_used) if series_used else None


def spectrum_resistances(circuit: str, parameters: Mapping[str, Mapping[str, Any]], arcs: Sequence, *,
                         covariance: Optional[np.ndarray] = None, residual: float = 0.0, kk: Optional[Mapping] = None,
                         at_bounds: Sequence[str] = (), frequency_range_hz: Optional[tuple[float, float]] = None,
                         thickness_cm: Optional[float] = None, area_cm2: Optional[float] = None,
                         thickness_stderr: float = 0.0, area_stderr: float = 0.0,
                         series_layers: Optional[Mapping[str, tuple]] = None) -> SpectrumResistances:
    """R_total, R_bulk, R_gb (and sigma_total, sigma_bulk, sigma_gb with geometry) of one fitted circuit.

    ``arcs``: analysis.impedance.Arc list of the fit (assignments already made with the same
    geometry); ``covariance``: the fit's parameter covariance in the order of ``parameters``.
    ``series_layers`` {name: (R, u_R)}: separately measured layers in series (stack cells), subtracted
    from R_total before sigma_total (analysis.stacks). See the module docstring for the rules.
    """
    kk = kk or {}
    series, unknown = _topology(circuit, arcs)
    ionic = [a for a in arcs if a.kind == "arc" and a.assignment in IONIC_ASSIGNMENTS]
    resolved = _resolved(ionic, frequency_range_hz)
    bulk_arcs = [a for a in resolved if a.assignment == "bulk"]
    decisive = set(series) | {n for a in ionic for n in _arc_elements(a.element)}
    quality, negligible = _quality(residual, kk, at_bounds, decisive, series, [a.resistor for a in ionic], parameters)
    notes: list[str] = [f"{n} at its lower bound (not resolved): taken as 0 ohm" for n in negligible]
    series_used = [n for n in series if n not in negligible]
    total, bulk, gb = _claims(series_used, unknown, ionic, resolved, parameters, covariance, notes)
    geometry = _geometry(thickness_cm, area_cm2, thickness_stderr, area_stderr)
    layers_out, sig = _sigmas(total, bulk, gb, geometry, series_layers)
    r_series = _series_sum(series_used, parameters)
    c_bulk = bulk_arcs[0].capacitance_F if len(bulk_arcs) == 1 else None
    f_max = frequency_range_hz[1] if frequency_range_hz else None
    roles = _roles(series, negligible, arcs, any(a.assignment == "bulk" for a in ionic), f_max)
    return SpectrumResistances(
        total, bulk, gb, r_series, c_bulk, roles, tuple(a.to_dict() for a in arcs),
        *sig, layers_out,
        (thickness_cm / area_cm2) if geometry else None, quality, tuple(notes))


def _arc_elements(label: str) -> list[str]:
    """'p(R1,CPE1)' -> ['R1', 'CPE1']."""
    return label[2:-1].split(",") if label.startswith("p(") else [label]
