"""One OPTIMADE structure per (structure result, phase): stored documents in, attribute dicts out.

Positions, lattice vectors, ``nsites`` and ``species_at_sites`` come from the phase's pymatgen
structure (``ionbase.schemas.crystal.phase_structure``) when the record has a unit cell and atomic
positions; a phase with a cell only has lattice vectors and no sites; a phase whose cell is not fixed
(parameters missing that its space group, or the lack of one, does not fix) has null lattice vectors
and positions, never a guessed cell, and the listing goes on; a phase with sites but no
positions (PDF series that print occupancies only) has ``species`` (with their concentrations) and no
positions. Disorder follows OPTIMADE: a species lists its chemical symbols with concentrations, and
``"vacancy"`` takes the part of a site that is empty. Formulae come from the structure when there is
one, else from the phase's formula; a formula that cannot be written with small integers is null.
"""

from __future__ import annotations

import datetime as _dt
import math
from fractions import Fraction
from functools import reduce
from typing import Any

from ionbase.schemas.crystal import CrystalError, has_positions, lattice_parameters, phase_structure
from ionbase.service.optimade.fields import provider_name as P

ANONYMOUS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
_SUMMARY = {"milling_time_h": "milling_time_h", "max_anneal_c": "max_anneal_c", "anneal_time_h": "anneal_time_h",
            "milled": "milled", "annealed": "annealed", "hot_pressed": "hot_pressed", "synthesis_step_types": "step_types"}


def entry_id(structure_id: str, index: int) -> str:
    return f"{structure_id}-p{index}"


def integer_amounts(amounts: dict[str, float], max_denominator: int = 1000) -> dict[str, int] | None:
    """Smallest integer proportions equal to ``amounts`` (to 1e-6 relative), or None when there are none."""
    fracs = {el: Fraction(v).limit_denominator(max_denominator) for el, v in amounts.items() if v > 0}
    if not fracs or any(abs(float(f) - amounts[el]) > 1e-6 * max(1.0, amounts[el]) for el, f in fracs.items()):
        return None
    lcm = reduce(lambda a, b: a * b // math.gcd(a, b), (f.denominator for f in fracs.values()), 1)
    ints = {el: int(f * lcm) for el, f in fracs.items()}
    g = reduce(math.gcd, ints.values())
    return {el: n // g for el, n in ints.items()}


def _formula(ints: dict[str, int], order: list[str], labels: list[str] | None = None) -> str:
    names = labels or order
    return "".join(f"{name}{ints[el] if ints[el] != 1 else ''}" for name, el in zip(names, order))


def composition_fields(amounts: dict[str, float] | None) -> dict[str, Any]:
    """elements, nelements, elements_ratios and the reduced / anonymous formulae of a composition."""
    if not amounts:
        return {k: None for k in ("elements", "nelements", "elements_ratios", "chemical_formula_reduced",
                                  "chemical_formula_anonymous")}
    elements = sorted(amounts)
    total = sum(amounts.values())
    ints = integer_amounts(amounts)
    out: dict[str, Any] = {"elements": elements, "nelements": len(elements),
                           "elements_ratios": [amounts[el] / total for el in elements],
                           "chemical_formula_reduced": None, "chemical_formula_anonymous": None}
    if ints is not None:
        out["chemical_formula_reduced"] = _formula(ints, elements)
        by_amount = sorted(elements, key=lambda el: -ints[el])
        out["chemical_formula_anonymous"] = _formula(ints, by_amount, ANONYMOUS[: len(by_amount)]) if len(by_amount) <= 26 else None
    return out


def _species_entry(name: str, occupancy: dict[str, float]) -> dict:
    from pymatgen.core import Element

    symbols = sorted(occupancy)
    conc = [float(occupancy[s]) for s in symbols]
    mass = [float(Element(s).atomic_mass) for s in symbols]
    empty = 1.0 - sum(conc)
    if empty > 1e-6:
        symbols, conc, mass = symbols + ["vacancy"], conc + [empty], mass + [0.0]
    return {"name": name, "chemical_symbols": symbols, "concentration": conc, "mass": mass}


def _site_fields(phase: dict) -> tuple[dict[str, Any], dict[str, float] | None]:
    """Sites, species and lattice vectors; and the composition they imply (None without a structure)."""
    out: dict[str, Any] = {"lattice_vectors": None, "cartesian_site_positions": None, "nsites": None,
                           "species": None, "species_at_sites": None, P("sites_error"): None}
    try:
        params = lattice_parameters(phase)
    except CrystalError:  # a cell its record and symmetry do not fix (only a, no space group): unknown, null
        params = None
    if params is not None:
        from pymatgen.core import Lattice

        out["lattice_vectors"] = Lattice.from_parameters(*params.values()).matrix.tolist()
    if params is not None and has_positions(phase):
        try:
            s = phase_structure(phase)
        except CrystalError as exc:  # sites that cannot be expanded (origin choice unstated, multiplicity):
            # the cell is known, the positions are not; the listing names why instead of failing (500)
            out[P("sites_error")] = str(exc)[:500]
            return out, None
        names: dict[tuple, str] = {}
        at_sites = []
        for site in s:
            occ = {str(el): float(o) for el, o in site.species.items()}
            key = tuple(sorted(occ.items()))
            names.setdefault(key, "".join(f"{el}{'' if o == 1 else round(o, 6)}" for el, o in key))
            at_sites.append(names[key])
        out.update(lattice_vectors=s.lattice.matrix.tolist(), cartesian_site_positions=s.cart_coords.tolist(),
                   nsites=len(s), species_at_sites=at_sites,
                   species=[_species_entry(n, dict(k)) for k, n in names.items()])
        return out, {str(el): float(v) for el, v in s.composition.items()}
    sites = phase.get("sites") or []
    if sites:
        out["species"] = [_species_entry(site["label"], site["species"]) for site in sites]
    return out, None


def structure_attributes(doc: dict, index: int) -> dict[str, Any]:
    """The standard OPTIMADE attributes of phase ``index`` of structure result ``doc`` (CrystalError if inconsistent)."""
    from pymatgen.core import Composition

    phase = doc["phases"][index]
    sites, amounts = _site_fields(phase)
    if amounts is None and phase.get("formula"):
        amounts = {str(el): float(v) for el, v in Composition(phase["formula"]).items()}
    attrs = {**composition_fields(amounts), **sites}
    periodic = sites["lattice_vectors"] is not None or phase.get("space_group_number") is not None
    disorder = any(len(sp["chemical_symbols"]) > 1 for sp in sites["species"] or [])
    attrs.update(
        chemical_formula_descriptive=phase.get("formula"),
        dimension_types=[1, 1, 1] if periodic else None,
        nperiodic_dimensions=3 if periodic else None,
        space_group_it_number=phase.get("space_group_number"),
        structure_features=["disorder"] if disorder else [],
        last_modified=_utc(doc.get("updated_at")),
    )
    return attrs


def _utc(t: Any) -> _dt.datetime | None:
    if isinstance(t, _dt.datetime):
        return t.replace(tzinfo=_dt.timezone.utc) if t.tzinfo is None else t
    return None


def _measured(phase: dict, key: str) -> float | None:
    m = phase.get(key)
    return float(m["value"]) if isinstance(m, dict) and m.get("value") is not None else None


def _qualifier(doc: dict | None) -> str | None:
    """A point value's qualifier, exact or approximate (e.g. an Arrhenius extrapolation); None without a value."""
    if doc is None:
        return None
    return doc.get("qualifier") or "exact"


def provider_attributes(doc: dict, index: int, sample: dict | None, best: dict[str, dict]) -> dict[str, Any]:
    """The ``_ionbase_`` fields: sample, synthesis summary, refinement quality and the sample's transport."""
    phase = doc["phases"][index]
    fit = phase.get("fit") or {}
    summary = (sample or {}).get("summary") or {}
    sigma, ea = best.get("ionic_conductivity_25c"), best.get("activation_energy")
    out = {
        "structure_result_id": doc["_id"], "phase_index": index, "phase_name": phase.get("name"),
        "method": doc.get("method"), "sample_id": doc.get("sample"), "sample_label": (sample or {}).get("label"),
        "rwp": fit.get("Rwp"), "chi2": fit.get("chi2"),
        "crystallite_size_nm": _measured(phase, "crystallite_size"),
        "microstrain_percent": _measured(phase, "microstrain"),
        "coherence_length_nm": _measured(phase, "coherence_length"),
        "ionic_conductivity_25c": float(sigma["value"]) if sigma else None,
        "ionic_conductivity_25c_qualifier": _qualifier(sigma),
        "ionic_conductivity_25c_property": sigma["_id"] if sigma else None,
        "activation_energy": float(ea["value"]) if ea else None,
        "activation_energy_qualifier": _qualifier(ea),
        "activation_energy_property": ea["_id"] if ea else None,
        "doi": (doc.get("source") or {}).get("doi"),
    }
    out.update({name: summary.get(key) for name, key in _SUMMARY.items()})
    return {P(k): v for k, v in out.items()}


def structure_entry(doc: dict, index: int, sample: dict | None, best: dict[str, dict], reference_ids: list[str]) -> dict:
    """A flat entry document: ``id``, ``type``, every attribute, and the reference ids (for relationships)."""
    try:
        attrs = structure_attributes(doc, index)
    except CrystalError as exc:
        raise CrystalError(f"structure result {doc['_id']!r}, phases[{index}]: {exc}") from None
    return {"id": entry_id(doc["_id"], index), "type": "structures", **attrs,
            **provider_attributes(doc, index, sample, best), "_references": reference_ids}
