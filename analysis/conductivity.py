"""Ionic conductivity from resistance and sample geometry.

sigma = L / (R * A)   (R in ohm, L in cm, A in cm^2 -> sigma in S/cm)

Uncertainty: first-order (uncorrelated) propagation,
(u_sigma/sigma)^2 = (u_L/L)^2 + (u_R/R)^2 + (u_A/A)^2.
Reference: JCGM 100:2008 (GUM), eq. (10); e.g. Irvine, Sinclair & West,
Adv. Mater. 2, 132 (1990) for the cell-constant convention L/A.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ._common import DictMixin, Estimate, as_float

__all__ = ["ConductivityResult", "conductivity", "area_from_diameter"]


@dataclass(frozen=True)
class ConductivityResult(DictMixin):
    """sigma (S/cm) with standard uncertainty and the inputs used."""

    sigma_S_per_cm: float
    stderr_S_per_cm: float
    resistance_ohm: float
    thickness_cm: float
    area_cm2: float
    cell_constant_per_cm: float


def conductivity(
    resistance_ohm: float,
    thickness_cm: float,
    area_cm2: float,
    *,
    resistance_stderr: float = 0.0,
    thickness_stderr: float = 0.0,
    area_stderr: float = 0.0,
) -> ConductivityResult:
    """sigma = L/(R*A) with first-order uncertainty propagation (GUM eq. 10).

    Units: R ohm, L cm, A cm^2 -> S/cm.
    """
    r = as_float("resistance_ohm", resistance_ohm, positive=True)
    length = as_float("thickness_cm", thickness_cm, positive=True)
    a = as_float("area_cm2", area_cm2, positive=True)
    ur = as_float("resistance_stderr", resistance_stderr, nonnegative=True)
    ul = as_float("thickness_stderr", thickness_stderr, nonnegative=True)
    ua = as_float("area_stderr", area_stderr, nonnegative=True)
    sigma = length / (r * a)
    rel = math.sqrt((ur / r) ** 2 + (ul / length) ** 2 + (ua / a) ** 2)
    return ConductivityResult(sigma, sigma * rel, r, length, a, length / a)


def area_from_diameter(diameter_cm: float, diameter_stderr: float = 0.0) -> Estimate:
    """Area of a disc A = pi d^2 / 4 (cm^2), u_A = (pi d / 2) u_d."""
    d = as_float("diameter_cm", diameter_cm, positive=True)
    ud = as_float("diameter_stderr", diameter_stderr, nonnegative=True)
    return Estimate(math.pi * d * d / 4.0, math.pi * d / 2.0 * ud, "cm^2")
