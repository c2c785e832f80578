"""Feature columns of the ML export: column naming with units, composition features (pymatgen),
synthesis-route features and structure features. Pure functions, no database access.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from typing import Any

from ionbase.schemas import registry

#: route summary fields exported as synthesis features (schemas.documents.RouteSummary)
SYNTHESIS_FEATURES: tuple[str, ...] = (
    "milled", "milling_time_h", "max_rpm", "annealed", "max_anneal_c", "anneal_time_h",
    "hot_pressed", "cold_pressed", "coated", "n_steps",
)
#: how the synthesis columns are named in the export (units in the header)
SYNTHESIS_COLUMNS: dict[str, str] = {
    "milled": "milled",
    "milling_time_h": "milling_time_h",
    "max_rpm": "max_rpm",
    "annealed": "annealed",
    "max_anneal_c": "max_anneal_C",
    "anneal_time_h": "anneal_time_h",
    "hot_pressed": "hot_pressed",
    "cold_pressed": "cold_pressed",
    "coated": "coated",
    "n_steps": "n_steps",
}
SYNTHESIS_BOOLEANS = frozenset(("milled", "annealed", "hot_pressed", "cold_pressed", "coated"))

#: property names taken, per sample, as structure features (always present as columns)
STRUCTURE_FEATURES: tuple[str, ...] = (
    "lattice_a", "cell_volume", "density", "crystallite_size", "coherence_length", "microstrain",
)

#: lattice shape beyond ``a`` is not comparable across space groups: never a column
EXCLUDED_PROPERTIES: frozenset[str] = frozenset(
    ("lattice_b", "lattice_c", "lattice_alpha", "lattice_beta", "lattice_gamma")
)

#: group labels for leakage-free splits (GroupKFold on family / doi / series / material ...)
#: ``formula`` is the material formula as the source wrote it; ``reduced_formula`` is pymatgen's
#: normalised form (e.g. ``Na(BH)6`` for Na2B12H12), kept for grouping equal compositions
GROUP_COLUMNS: tuple[str, ...] = (
    "family", "doi", "series_name", "material_id", "sample_id", "sample_label", "formula", "reduced_formula",
)

#: composition statistics: (column stem with unit, pymatgen attribute)
ELEMENT_STATS: tuple[tuple[str, str], ...] = (
    ("Z", "Z"),
    ("atomic_mass_amu", "atomic_mass"),
    ("X_pauling", "X"),
    ("ionic_radius_angstrom", "average_ionic_radius"),
)
COMPOSITION_STAT_COLUMNS: tuple[str, ...] = tuple(
    f"{kind}_{stem}" for stem, _ in ELEMENT_STATS for kind in ("mean", "std")
)

# explicit unit slugs where the generic rule would be clumsy
_UNIT_SLUGS = {
    "S/cm": "S_per_cm",
    "angstrom": "angstrom",
    "angstrom**3": "A3",
    "g/cm**3": "g_cm3",
    "percent": "percent",
    "dimensionless": "",
    "degree": "deg",
    "um": "um",
    "1/h": "C",
}


def unit_slug(unit: str) -> str:
    """A header-safe form of a pint unit: 'S/cm' -> 'S_per_cm', 'mA*h/g' -> 'mAh_per_g'."""
    if unit in _UNIT_SLUGS:
        return _UNIT_SLUGS[unit]
    s = unit.replace("**", "").replace("*", "")
    s = s.replace("/", "_per_")
    return re.sub(r"[^A-Za-z0-9_]", "", s)


def property_column(name: str) -> str:
    """Column name of a registry property with its canonical unit: 'ionic_conductivity_S_per_cm'."""
    ptype = registry.PROPERTIES[name]
    slug = unit_slug(ptype.unit)
    return f"{name}_{slug}" if slug else name


def property_order(name: str) -> int:
    """Registry order, for a stable column order."""
    try:
        return list(registry.PROPERTIES).index(name)
    except ValueError:
        return len(registry.PROPERTIES)


def is_temperature_dependent(name: str) -> bool:
    """Whether a property defines a (sample, temperature) row: the registry requires a temperature."""
    ptype = registry.PROPERTIES.get(name)
    return bool(ptype and "temperature" in ptype.required_conditions)


def element_sort_key(symbol: str) -> tuple[int, str]:
    """Order elements by atomic number (unknown symbols last, alphabetically)."""
    z = _element_z(symbol)
    return (z if z is not None else 10_000, symbol)


@lru_cache(maxsize=512)
def _element_z(symbol: str) -> int | None:
    from pymatgen.core import Element

    try:
        return Element(symbol).Z
    except Exception:
        return None


@lru_cache(maxsize=256)
def _element_props(symbol: str) -> dict[str, float | None]:
    import warnings

    from pymatgen.core import Element

    el = Element(symbol)
    out: dict[str, float | None] = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pymatgen warns about missing electronegativities
        for stem, attr in ELEMENT_STATS:
            try:
                v = float(getattr(el, attr))
            except Exception:
                v = None
            # pymatgen reports "no data" as NaN (X of noble gases) or 0 (ionic radius of H, He, ...)
            if v is None or not math.isfinite(v) or (attr == "average_ionic_radius" and v <= 0):
                v = None
            out[stem] = v
    return out


def _weighted(values: list[tuple[float, float]]) -> tuple[float | None, float | None]:
    """Fraction-weighted mean and standard deviation (weights renormalised over known values)."""
    w = sum(f for f, _ in values)
    if not values or w <= 0:
        return None, None
    mean = sum(f * v for f, v in values) / w
    var = sum(f * (v - mean) ** 2 for f, v in values) / w
    return mean, math.sqrt(max(var, 0.0))


@lru_cache(maxsize=4096)
def composition_features(reduced_formula: str) -> tuple[tuple[tuple[str, float], ...], tuple[tuple[str, float | None], ...]]:
    """(element fractions, statistics) of a formula; cached per formula.

    Fractions are atomic fractions. Statistics are the fraction-weighted mean and standard
    deviation ("spread") of Z, atomic mass, Pauling electronegativity and pymatgen's
    ``Element.average_ionic_radius``; elements without a value (X of noble gases, ionic radius
    0 such as H) are left out and the weights renormalised over the rest. An unparsable formula
    gives empty fractions and None statistics.
    """
    from pymatgen.core import Composition

    try:
        comp = Composition(reduced_formula)
        fracs = {str(el): float(comp.get_atomic_fraction(el)) for el in comp.elements}
    except Exception:
        return (), tuple((c, None) for c in COMPOSITION_STAT_COLUMNS)
    stats: dict[str, float | None] = {}
    for stem, _attr in ELEMENT_STATS:
        vals = []
        for el, f in fracs.items():
            v = _element_props(el)[stem]
            if v is not None:
                vals.append((f, v))
        mean, std = _weighted(vals)
        stats[f"mean_{stem}"] = mean
        stats[f"std_{stem}"] = std
    ordered = tuple(sorted(fracs.items(), key=lambda kv: element_sort_key(kv[0])))
    return ordered, tuple((c, stats[c]) for c in COMPOSITION_STAT_COLUMNS)


def synthesis_features(summary: dict[str, Any] | None) -> dict[str, Any]:
    """The route-summary features under their export column names (None when unknown).

    A sample without recorded steps has an unknown route, not an empty one: every synthesis
    column is empty (not ``milled = false``, ``milling_time_h = 0``). A parameter the summary
    leaves unset (a milling step of unknown duration) stays empty too.
    """
    summary = summary or {}
    if not summary.get("n_steps"):
        return {SYNTHESIS_COLUMNS[key]: None for key in SYNTHESIS_FEATURES}
    out = {}
    for key in SYNTHESIS_FEATURES:
        v = summary.get(key)
        if key in SYNTHESIS_BOOLEANS and v is None:
            v = False  # summarize_route always sets the booleans; an older document may lack one
        out[SYNTHESIS_COLUMNS[key]] = v
    return out
