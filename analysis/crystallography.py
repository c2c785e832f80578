"""Crystallographic helpers: cell volume, X-ray density, Vegard's law.

Cell volume (any crystal system):
    V = a b c sqrt(1 - cos^2 al - cos^2 be - cos^2 ga + 2 cos al cos be cos ga)
    (International Tables for Crystallography Vol. B, sect. 1.1.2; Giacovazzo,
    Fundamentals of Crystallography, 3rd ed., eq. 2.15)
Density: rho = Z M / (N_A V)  (V in A^3 -> x 1e-24 cm^3; rho in g/cm^3)
Vegard's law: a(x) = a0 + slope x (L. Vegard, Z. Phys. 5, 17 (1921);
    A. R. Denton & N. W. Ashcroft, Phys. Rev. A 43, 3161 (1991)).
Uncertainties propagate to first order (uncertainties package, GUM).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from uncertainties import umath

from ._common import uf, DictMixin, Estimate, as_float, as_float_array, linear_fit, same_length
from .errors import InsufficientDataError, InvalidInputError

__all__ = ["cell_volume", "density", "VegardResult", "vegard_fit", "AVOGADRO"]

AVOGADRO = 6.02214076e23  # mol^-1, exact (SI 2019)


def cell_volume(
    a: float, b: "float | None" = None, c: "float | None" = None,
    alpha: float = 90.0, beta: "float | None" = 90.0, gamma: "float | None" = 90.0,
    *, a_err: float = 0.0, b_err: float = 0.0, c_err: float = 0.0,
    alpha_err: float = 0.0, beta_err: float = 0.0, gamma_err: float = 0.0,
) -> Estimate:
    """Unit-cell volume (A^3) from lengths (A) and angles (degrees), with uncertainty.

    V = abc sqrt(1 - cos^2 a - cos^2 b - cos^2 g + 2 cos a cos b cos g) (Int. Tables Vol. B 1.1.2).
    b=None / c=None mean "constrained equal to a" (cubic/tetragonal): the same refined
    variable, so its uncertainty is fully correlated (cubic: u_V = 3 a^2 u_a).
    beta=None / gamma=None likewise mean "constrained equal to alpha" (rhombohedral axes).
    """
    ua = uf(as_float("a", a, positive=True), as_float("a_err", a_err, nonnegative=True))
    lengths = [ua] + [ua if v is None else uf(as_float(n, v, positive=True), as_float(n + "_err", e, nonnegative=True))
                      for n, v, e in (("b", b, b_err), ("c", c, c_err))]
    angles = []
    for n, v, e in (("alpha", alpha, alpha_err), ("beta", beta, beta_err), ("gamma", gamma, gamma_err)):
        if v is None and n != "alpha":  # the same refined variable as alpha: fully correlated
            angles.append(angles[0])
            continue
        deg = as_float(n, v, positive=True)
        if deg >= 180:
            raise InvalidInputError(f"{n}: angle must be in (0, 180) degrees, got {deg}")
        angles.append(umath.radians(uf(deg, as_float(n + "_err", e, nonnegative=True))))
    ca, cb, cg = (umath.cos(x) for x in angles)
    arg = 1 - ca**2 - cb**2 - cg**2 + 2 * ca * cb * cg
    if arg.nominal_value <= 0:
        raise InvalidInputError(f"angles ({alpha}, {beta}, {gamma}) do not form a valid cell")
    v = lengths[0] * lengths[1] * lengths[2] * umath.sqrt(arg)
    return Estimate(float(v.nominal_value), float(v.std_dev), "angstrom^3")


def density(composition: "str | object", z: float, volume_A3: float, volume_err: float = 0.0) -> Estimate:
    """X-ray density rho = Z M / (N_A V) in g/cm^3.

    composition: formula string or pymatgen Composition (formula unit); z: formula units
    per cell; volume_A3: cell volume in A^3.
    """
    from pymatgen.core import Composition

    try:
        comp = composition if isinstance(composition, Composition) else Composition(str(composition))
        mass = float(comp.weight)  # g/mol per formula unit
    except Exception as exc:  # pymatgen raises several types for bad formulas
        raise InvalidInputError(f"composition {composition!r} could not be parsed: {exc}") from None
    zz = as_float("z", z, positive=True)
    vol = uf(as_float("volume_A3", volume_A3, positive=True), as_float("volume_err", volume_err, nonnegative=True))
    rho = zz * mass / (AVOGADRO * vol * 1e-24)
    return Estimate(float(rho.nominal_value), float(rho.std_dev), "g/cm^3")


@dataclass(frozen=True)
class VegardResult(DictMixin):
    """Linear fit of a lattice parameter vs composition parameter x."""

    slope: float
    intercept: float
    r2: float
    slope_stderr: float
    intercept_stderr: float
    n: int


def vegard_fit(x: np.ndarray, lattice_parameter: np.ndarray) -> VegardResult:
    """Vegard's law a(x) = intercept + slope * x by OLS (Vegard 1921; Denton & Ashcroft 1991).

    intercept is a(x=0); slope*1 + intercept is a(x=1) for a full-range series.
    """
    xa, ya = as_float_array("x", x), as_float_array("lattice_parameter", lattice_parameter)
    n = same_length(x=xa, lattice_parameter=ya)
    if len(np.unique(xa)) < 3:
        raise InsufficientDataError(f"Vegard fit needs at least 3 distinct compositions, got {len(np.unique(xa))}")
    fit = linear_fit(xa, ya)
    return VegardResult(fit.slope, fit.intercept, fit.r2, fit.slope_stderr, fit.intercept_stderr, n)
