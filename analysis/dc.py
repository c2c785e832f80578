"""DC polarisation analyses.

* Electronic conductivity from the slope of steady-state current vs applied voltage
  (Hebb-Wagner-type blocking-electrode measurement):  sigma_e = (dI/dV) * L / A.
  (I. Riess, Solid State Ionics 157, 1 (2003); e.g. Bachman et al., Chem. Rev. 116, 140 (2016)).
* Total ionic transport number from potentiostatic polarisation with blocking electrodes:
  t_ion = (I0 - Iss) / I0  (Wagner DC polarisation; Riess 2003).
* Bruce-Vincent cation transference number (Li|electrolyte|Li, small dV):
  t+ = Iss (dV - I0 R0) / (I0 (dV - Iss Rss))
  (J. Evans, C. A. Vincent, P. G. Bruce, Polymer 28, 2324 (1987);
   P. G. Bruce, C. A. Vincent, J. Electroanal. Chem. 225, 1 (1987)).
Which of these a DC measurement gives depends on its electrodes (``electrode_requirement``): with
ion-blocking electrodes (Au|SE|Au) the steady-state current is electronic, with non-blocking
(cation-reversible) electrodes (Li|SE|Li) it is carried by the cation and interfaces, so the first two
hold only for ion-blocking and Bruce-Vincent only for reversible electrodes.
Uncertainties: first-order propagation (uncertainties package), inputs uncorrelated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ._common import uf, DictMixin, Estimate, as_float, as_float_array, linear_fit, same_length
from .errors import InsufficientDataError, InvalidInputError

__all__ = ["ElectronicConductivityResult", "electronic_conductivity", "ion_transport_number",
           "bruce_vincent", "electrode_requirement", "DC_ANALYSES"]

#: analysis -> (electrode type it needs, as recorded in a cell's ``blocking``; what it derives and why)
DC_ANALYSES: dict[str, tuple[str, str]] = {
    "ion_transport_number": (
        "ion", "t_ion = (I0 - Iss)/I0 and t_e = Iss/I0 hold only with ion-blocking electrodes "
               "(the steady-state current is then electronic)"),
    "electronic_conductivity": (
        "ion", "the steady-state I-V slope is the electronic conductance only with ion-blocking electrodes "
               "(with reversible electrodes it is the ionic/total conductance plus interfaces)"),
    "bruce_vincent": (
        "none", "the Bruce-Vincent cation transference number holds only with non-blocking "
                "(cation-reversible) electrodes"),
}

_ELECTRODE_NAMES = {"ion": "ion-blocking", "electron": "electron-blocking", "none": "non-blocking (reversible)",
                    "mixed": "mixed"}


def electrode_requirement(analysis: str, blocking: str | None) -> str | None:
    """None when ``analysis`` (a key of DC_ANALYSES) is valid for electrodes of type ``blocking``
    (ion, electron, none, mixed; None = not recorded); otherwise the reason it is not.

    The same currents mean different quantities with different electrodes, so a DC value is only
    derived when the recorded electrode type is the one its equation assumes, never guessed.
    """
    if analysis not in DC_ANALYSES:
        raise InvalidInputError(f"unknown DC analysis {analysis!r}; known: {sorted(DC_ANALYSES)}")
    needed, why = DC_ANALYSES[analysis]
    if blocking == needed:
        return None
    if blocking is None:
        return f"electrode type (cell blocking) not recorded: {why}"
    return f"{why}; this cell's electrodes are {_ELECTRODE_NAMES.get(blocking, repr(blocking))}"


@dataclass(frozen=True)
class ElectronicConductivityResult(DictMixin):
    sigma_e_S_per_cm: float
    stderr_S_per_cm: float
    conductance_S: float  # dI/dV
    conductance_stderr_S: float
    intercept_A: float
    r2: float
    n: int


def electronic_conductivity(
    voltage_V: np.ndarray, current_A: np.ndarray, thickness_cm: float, area_cm2: float,
    *, thickness_stderr: float = 0.0, area_stderr: float = 0.0,
) -> ElectronicConductivityResult:
    """sigma_e = (dI/dV) L / A from an OLS fit of steady-state I vs V (Riess 2003).

    voltage_V, current_A: steady-state values at >= 3 distinct voltages.
    """
    v, i = as_float_array("voltage_V", voltage_V), as_float_array("current_A", current_A)
    n = same_length(voltage_V=v, current_A=i)
    if len(np.unique(v)) < 3:
        raise InsufficientDataError(f"need steady-state currents at >= 3 distinct voltages, got {len(np.unique(v))}")
    fit = linear_fit(v, i)
    if fit.slope <= 0:
        raise InvalidInputError(f"dI/dV = {fit.slope:.3g} S is not positive; check current sign convention")
    g = uf(fit.slope, fit.slope_stderr)
    length = uf(as_float("thickness_cm", thickness_cm, positive=True),
                    as_float("thickness_stderr", thickness_stderr, nonnegative=True))
    area = uf(as_float("area_cm2", area_cm2, positive=True),
                  as_float("area_stderr", area_stderr, nonnegative=True))
    s = g * length / area
    return ElectronicConductivityResult(s.nominal_value, s.std_dev, fit.slope, fit.slope_stderr,
                                        fit.intercept, fit.r2, n)


def ion_transport_number(i0_A: float, iss_A: float, *, i0_stderr: float = 0.0,
                         iss_stderr: float = 0.0) -> Estimate:
    """t_ion = (I0 - Iss) / I0 (Wagner DC polarisation, blocking electrodes; Riess 2003)."""
    i0 = uf(as_float("i0_A", i0_A, positive=True), as_float("i0_stderr", i0_stderr, nonnegative=True))
    iss = uf(as_float("iss_A", iss_A, nonnegative=True), as_float("iss_stderr", iss_stderr, nonnegative=True))
    if iss.nominal_value > i0.nominal_value:
        raise InvalidInputError(f"steady-state current {iss_A} A exceeds initial current {i0_A} A")
    t = (i0 - iss) / i0
    return Estimate(t.nominal_value, t.std_dev, "")


def bruce_vincent(
    delta_V: float, i0_A: float, iss_A: float, r0_ohm: float, rss_ohm: float,
    *, delta_V_stderr: float = 0.0, i0_stderr: float = 0.0, iss_stderr: float = 0.0,
    r0_stderr: float = 0.0, rss_stderr: float = 0.0,
) -> Estimate:
    """Bruce-Vincent t+ = Iss (dV - I0 R0) / (I0 (dV - Iss Rss)) (Evans, Vincent & Bruce 1987).

    R0, Rss: interfacial (charge-transfer + passivation) resistances before/after polarisation.
    """
    dv = uf(as_float("delta_V", delta_V, positive=True), as_float("delta_V_stderr", delta_V_stderr, nonnegative=True))
    i0 = uf(as_float("i0_A", i0_A, positive=True), as_float("i0_stderr", i0_stderr, nonnegative=True))
    iss = uf(as_float("iss_A", iss_A, positive=True), as_float("iss_stderr", iss_stderr, nonnegative=True))
    r0 = uf(as_float("r0_ohm", r0_ohm, nonnegative=True), as_float("r0_stderr", r0_stderr, nonnegative=True))
    rss = uf(as_float("rss_ohm", rss_ohm, nonnegative=True), as_float("rss_stderr", rss_stderr, nonnegative=True))
    if i0.nominal_value * r0.nominal_value >= dv.nominal_value:
        raise InvalidInputError(f"I0*R0 = {i0_A * r0_ohm:.4g} V must be smaller than dV = {delta_V} V")
    if iss.nominal_value * rss.nominal_value >= dv.nominal_value:
        raise InvalidInputError(f"Iss*Rss = {iss_A * rss_ohm:.4g} V must be smaller than dV = {delta_V} V")
    t = iss * (dv - i0 * r0) / (i0 * (dv - iss * rss))
    if not math.isfinite(t.nominal_value):
        raise InvalidInputError("Bruce-Vincent t+ is not finite")
    return Estimate(t.nominal_value, t.std_dev, "")
