"""Stored structure phases as pymatgen objects and CIF text (pure: documents in, pymatgen out).

One function per question, each saying which stored fields it used:

* ``lattice_parameters(phase)``: a, b, c (Å) and alpha, beta, gamma (°) of a phase. Parameters the
  record leaves out are filled only where the crystal system of the phase's space group fixes them
  (``symmetry_rules``: cubic b = c = a; tetragonal and hexagonal b = a; right angles, gamma = 120°
  for hexagonal axes, b = c = a and beta = gamma = alpha for rhombohedral axes, the monoclinic
  unique axis's angle left free); anything else missing is an error, never a guess. The
  crystallography job completes its cells with the same rules (``complete_lattice``).
* ``phase_structure(phase)``: a ``pymatgen.core.Structure`` with disordered sites as fractional
  species (``{"Mg": 0.97, "Li": 0.03}``). A phase read from a CIF carries pymatgen's own
  structure (``phase["structure"]``, built from the file's symmetry operations) and that is used
  as stored. Otherwise the stored sites are the asymmetric unit: each is expanded with the space
  group's operations (the symbol decides the setting; the number is only a cross-check), the
  expansion must give the stored multiplicity, and sites sharing a position are merged with their
  occupancies summed (which must not exceed 1).
* ``phase_cif(phase, name)``: one CIF data block. With a structure: pymatgen's ``CifWriter``
  (P1, every site with its occupancy). With a unit cell but no atomic positions (a refinement
  table that prints the cell only): a cell-only block (cell, space group, formula sum, Z) written
  with pymatgen's ``CifBlock``, saying so in a comment.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_LENGTHS = ("a", "b", "c")
_ANGLES = ("alpha", "beta", "gamma")
_UNITS = {"a": "Å", "b": "Å", "c": "Å", "alpha": "deg", "beta": "deg", "gamma": "deg"}
#: merge distance for sites the symmetry expansion puts on the same point (fractional)
SITE_TOLERANCE = 1e-3


class CrystalError(ValueError):
    """A phase that cannot be turned into the asked object; the message names the field."""


def _stored(phase: dict, key: str) -> float | None:
    m = (phase.get("lattice") or {}).get(key)
    if m is None:
        return None
    unit = m.get("unit")
    if unit not in (_UNITS[key], None):
        # the builders store canonical units only; anything else is a corrupt document
        raise CrystalError(f"lattice.{key}: unit {unit!r}, expected {_UNITS[key]!r}")
    return float(m["value"])


def lattice_parameters(phase: dict) -> dict[str, float] | None:
    """a, b, c (Å), alpha, beta, gamma (°), completed by symmetry only; None without ``lattice``."""
    if not phase.get("lattice"):
        return None
    p = {k: _stored(phase, k) for k in (*_LENGTHS, *_ANGLES)}
    if all(v is not None for v in p.values()):
        return p  # type: ignore[return-value]
    return complete_lattice({k: v for k, v in p.items() if v is not None}, lattice_space_group(phase),
                            symbol=phase.get("space_group_symbol"))[0]


def lattice_space_group(phase: dict):
    """The space group whose crystal system completes a lattice: the symbol's (it also gives the
    setting: rhombohedral or hexagonal axes, the monoclinic unique axis), else the number's (standard
    setting; also for a short symbol pymatgen does not parse, e.g. 'P21/n'); None with neither. A
    symbol and number that disagree raise."""
    symbol, number = phase.get("space_group_symbol"), phase.get("space_group_number")
    by_symbol = _space_group_cached(symbol, None) if symbol else None
    if by_symbol is None:
        return _space_group_cached(None, number) if number else None
    if number and by_symbol.int_number != number:
        raise CrystalError(f"space_group: symbol {symbol!r} is No. {by_symbol.int_number}, the record says {number}")
    return by_symbol


def symmetry_rules(sg) -> dict[str, Any]:
    """What the crystal system fixes: parameter -> the parameter it equals (the same refined
    variable) or its value in degrees. Trigonal groups follow their setting (hexagonal or
    rhombohedral axes), monoclinic ones their unique axis."""
    right = {"alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    system = sg.crystal_system
    if system == "cubic":
        return {"b": "a", "c": "a", **right}
    if system == "tetragonal":
        return {"b": "a", **right}
    if system == "trigonal" and not sg.hexagonal:
        return {"b": "a", "c": "a", "beta": "alpha", "gamma": "alpha"}
    if system in ("hexagonal", "trigonal"):
        return {"b": "a", **right, "gamma": 120.0}
    if system == "orthorhombic":
        return right
    if system == "monoclinic":
        free = _ANGLES[_monoclinic_unique_axis(sg)]
        return {k: v for k, v in right.items() if k != free}
    return {}


def _monoclinic_unique_axis(sg) -> int:
    """Index (0 a, 1 b, 2 c) of the monoclinic unique axis: the one a 2-fold axis or mirror treats
    differently from the other two (diagonal of a non-trivial operation's rotation part)."""
    for op in sg.symmetry_ops:
        signs = [round(float(x)) for x in op.rotation_matrix.diagonal()]
        if len(set(signs)) == 2:
            return next(k for k in range(3) if signs.count(signs[k]) == 1)
    raise CrystalError(f"space group {sg.symbol}: no monoclinic unique axis found")


def complete_lattice(stored: dict[str, Any], sg, fixed=lambda degrees: degrees,
                     symbol: str | None = None) -> tuple[dict[str, Any], dict[str, str]]:
    """The stored parameters plus those the space group ``sg`` fixes, and the ties (b -> 'a', ...).

    ``stored`` maps parameter -> stored value (of any form); a parameter tied to another gets that
    value, one fixed to an angle gets ``fixed(angle)``. A parameter neither stored nor fixed by
    symmetry raises CrystalError: no crystal system is ever assumed. ``symbol``: the stored space-group
    symbol, named in that error when ``sg`` is None because pymatgen does not read it."""
    rules = symmetry_rules(sg) if sg is not None else {}
    out, ties, missing = dict(stored), {}, []
    for key in (*_LENGTHS[1:], *_ANGLES):
        rule = rules.get(key)
        if key in out:
            continue
        if isinstance(rule, str) and rule in out:
            out[key], ties[key] = out[rule], rule
        elif isinstance(rule, float):
            out[key] = fixed(rule)
        else:
            missing.append(key)
    if missing:
        why = (f"space group {sg.symbol} is {sg.crystal_system}" if sg is not None else
               f"space group symbol {symbol!r} is not one pymatgen reads (write the full Hermann-Mauguin "
               "symbol, e.g. 'P 1 21/c 1', or give the space group number)" if symbol else "no space group is stored")
        raise CrystalError(f"lattice: {', '.join(missing)} not stored and not fixed by symmetry ({why})")
    return {k: out[k] for k in (*_LENGTHS, *_ANGLES)}, ties  # in this order: callers may unpack it


def _space_group_or_none(phase: dict):
    return _space_group_cached(phase.get("space_group_symbol"), phase.get("space_group_number"))


@lru_cache(maxsize=512)
def _space_group_cached(symbol: str | None, number: int | None):
    """pymatgen builds a SpaceGroup in ~0.3 s (it compares every generated operation); build each once."""
    from pymatgen.symmetry.groups import SpaceGroup

    if symbol:
        try:
            return SpaceGroup(re.sub(r"\s+", "", symbol))
        except ValueError:
            return None
    return SpaceGroup.from_int_number(number) if number else None


def space_group(phase: dict):
    """pymatgen ``SpaceGroup`` of the phase; the symbol decides the setting, the number must agree."""
    sg = _space_group_or_none(phase)
    symbol, number = phase.get("space_group_symbol"), phase.get("space_group_number")
    if sg is None:
        raise CrystalError(f"space_group_symbol: {symbol!r} is not a setting pymatgen knows; write the full "
                           "Hermann-Mauguin symbol (e.g. 'P 1 21/n 1')" if symbol else
                           "space_group: none stored, so the sites' symmetry equivalents are unknown")
    if number and sg.int_number != number:
        raise CrystalError(f"space_group: symbol {symbol!r} is No. {sg.int_number}, the record says {number}")
    return sg


def _site_orbit(sg, site: dict, where: str) -> list[list[float]]:
    coords = [site.get(axis) for axis in ("x", "y", "z")]
    if any(c is None for c in coords):
        raise CrystalError(f"{where}: no fractional coordinates stored")
    orbit = sg.get_orbit(coords, tol=SITE_TOLERANCE)
    mult = site.get("multiplicity")
    if mult is not None and len(orbit) != mult:
        raise CrystalError(f"{where}: {sg.symbol} gives {len(orbit)} positions for ({coords[0]}, {coords[1]}, "
                           f"{coords[2]}), the record says multiplicity {mult}")
    return [list(map(float, c)) for c in orbit]


def phase_structure(phase: dict):
    """The phase as a ``pymatgen.core.Structure`` (disorder as fractional species); CrystalError if it cannot be."""
    from pymatgen.core import Lattice, Structure

    if phase.get("structure"):
        return Structure.from_dict(phase["structure"])
    params = lattice_parameters(phase)
    if params is None:
        raise CrystalError("lattice: none stored")
    sites = phase.get("sites") or []
    if not sites:
        raise CrystalError("sites: none stored (the refinement gives no atomic positions)")
    sg = space_group(phase)
    species, coords = [], []
    for i, site in enumerate(sites):
        for c in _site_orbit(sg, site, f"sites[{i}] ({site.get('label')})"):
            species.append(dict(site["species"]))
            coords.append(c)
    lattice = Lattice.from_parameters(*(params[k] for k in (*_LENGTHS, *_ANGLES)))
    structure = Structure(lattice, species, coords)
    structure.merge_sites(tol=SITE_TOLERANCE * min(params["a"], params["b"], params["c"]), mode="sum")
    for site in structure:
        total = sum(site.species.values())
        if total > 1 + 1e-6:
            raise CrystalError(f"sites: occupancies at {site.frac_coords.round(4).tolist()} sum to {total:.4f} > 1")
    return structure


def has_positions(phase: dict) -> bool:
    """True when the phase stores a structure or sites that all have coordinates."""
    sites = phase.get("sites") or []
    return bool(phase.get("structure")) or (bool(sites) and all(
        all(s.get(a) is not None for a in ("x", "y", "z")) for s in sites))


def _block_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("_") or "phase"


def phase_cif(phase: dict, name: str) -> str:
    """One CIF data block ``data_<name>`` for the phase; CrystalError without a unit cell."""
    from pymatgen.io.cif import CifWriter

    if lattice_parameters(phase) is None:
        raise CrystalError("lattice: none stored, a CIF needs a unit cell")
    if has_positions(phase):
        from pymatgen.core import Structure

        s = phase_structure(phase)
        # without stored labels CifWriter numbers every species row (CIF needs unique labels; the
        # asymmetric-unit labels of an imported CIF repeat once the structure is expanded)
        text = str(CifWriter(Structure(s.lattice, s.species_and_occu, s.frac_coords)))
        return re.sub(r"^data_.*$", f"data_{_block_name(name)}", text, count=1, flags=re.M)
    return _cell_only_cif(phase, name)


def _cell_only_cif(phase: dict, name: str) -> str:
    from pymatgen.core import Composition
    from pymatgen.io.cif import CifBlock

    params = lattice_parameters(phase)
    data: dict[str, Any] = {f"_cell_length_{k}": f"{params[k]:.6f}" for k in _LENGTHS}
    data.update({f"_cell_angle_{k}": f"{params[k]:.6f}" for k in _ANGLES})
    if phase.get("formula"):
        data["_chemical_formula_sum"] = f"'{Composition(phase['formula']).formula}'"
    if phase.get("space_group_symbol"):
        data["_symmetry_space_group_name_H-M"] = f"'{phase['space_group_symbol']}'"
    if phase.get("space_group_number"):
        data["_symmetry_Int_Tables_number"] = str(phase["space_group_number"])
    if phase.get("z"):
        data["_cell_formula_units_Z"] = str(phase["z"])
    header = (f"# {phase.get('name') or name}: unit cell only; the refinement record gives no atomic "
              "positions\n# written by Ionbase from the stored lattice parameters\n")
    return header + str(CifBlock(data, [], _block_name(name)))
