"""Stored structure phases as pymatgen objects and CIF text (pure: documents in, pymatgen out).

One function per question, each saying which stored fields it used:

* ``lattice_parameters(phase)``: a, b, c (Å) and alpha, beta, gamma (°) of a phase. Parameters the
  record leaves out are filled only where the crystal system of the phase's space group fixes them
  (``symmetry_rules``: cubic b = c = a; tetragonal and hexagonal b = a; right angles, gamma = 120°
  for hexagonal axes, b = c = a and beta = gamma = alpha for rhombohedral axes, the monoclinic
  unique axis's angle left free); anything else missing is an error, never a guess. Stored
  parameters the symmetry ties or fixes must agree with it. The crystallography job completes its
  cells with the same rules (``complete_lattice``).
* ``resolve_space_group_symbol(symbol, number)``: the setting a Hermann-Mauguin symbol names,
  screw axes written with or without underscores ('P21/n' is P 1 21/n 1). Readings that name
  different groups or axis settings are an error. The origin choice is not: for the groups the
  International Tables give two origins (Fd-3m, P4/nmm, P4/n, I41/amd, Pn-3m, Fddd, ...) a symbol
  without ':1' or ':2' resolves to pymatgen's first entry, origin choice 1, which is right for the
  cell (only the crystal system is used) but not for atomic positions: ``origin_choice_unstated``
  says so, and everything that expands sites (``space_group``, ``phase_structure``, ``phase_cif``,
  the OPTIMADE structures) refuses such a symbol and asks for 'Fd-3m:2' or 'Fd-3m:1'.
* ``phase_structure(phase)``: a ``pymatgen.core.Structure`` with disordered sites as fractional
  species (``{"Mg": 0.97, "Li": 0.03}``). A phase read from a CIF carries pymatgen's own
  structure (``phase["structure"]``, built from the file's symmetry operations) and that is used
  as stored. Otherwise the stored sites are the asymmetric unit: each is expanded with the space
  group's operations (the symbol decides the setting and, for groups with two origins, must name
  the origin choice; the number is only a cross-check), the expansion must give the stored
  multiplicity (if the other origin choice gives it, the error says so), and sites
  sharing a position are merged with their occupancies summed (which must not exceed 1).
* ``phase_cif(phase, name)``: one CIF data block. With a structure: pymatgen's ``CifWriter``
  (P1, every site with its occupancy). With a unit cell but no atomic positions (a refinement
  table that prints the cell only): a cell-only block (cell, space group, formula sum, Z) written
  with pymatgen's ``CifBlock``, saying so in a comment.
"""

from __future__ import annotations

import re
from collections import defaultdict
from decimal import Decimal
from functools import lru_cache
from itertools import combinations
from typing import Any

_LENGTHS = ("a", "b", "c")
_ANGLES = ("alpha", "beta", "gamma")
_UNITS = {"a": "Å", "b": "Å", "c": "Å", "alpha": "deg", "beta": "deg", "gamma": "deg"}
#: merge distance for sites the symmetry expansion puts on the same point (fractional)
SITE_TOLERANCE = 1e-3


class CrystalError(ValueError):
    """A phase that cannot be turned into the asked object; the message names the field."""


def _stored(phase: dict, key: str) -> tuple[float, float] | None:
    """(value, standard uncertainty or 0) of one stored lattice parameter; None when not stored."""
    m = (phase.get("lattice") or {}).get(key)
    if m is None:
        return None
    unit = m.get("unit")
    if unit not in (_UNITS[key], None):
        # the builders store canonical units only; anything else is a corrupt document
        raise CrystalError(f"lattice.{key}: unit {unit!r}, expected {_UNITS[key]!r}")
    return float(m["value"]), float(m.get("uncertainty") or 0.0)


def lattice_parameters(phase: dict) -> dict[str, float] | None:
    """a, b, c (Å), alpha, beta, gamma (°), completed by symmetry only; None without ``lattice``.
    Stored parameters the symmetry ties or fixes must agree with it (``complete_lattice``)."""
    if not phase.get("lattice"):
        return None
    p = {k: _stored(phase, k) for k in (*_LENGTHS, *_ANGLES)}
    done = complete_lattice({k: v for k, v in p.items() if v is not None}, lattice_space_group(phase),
                            fixed=lambda degrees: (degrees, 0.0), symbol=phase.get("space_group_symbol"))[0]
    return {k: v[0] for k, v in done.items()}


def lattice_space_group(phase: dict):
    """The space group whose crystal system completes a lattice: the symbol's (it also gives the
    setting: rhombohedral or hexagonal axes, the monoclinic unique axis; short symbols such as
    'P21/n' are read by ``resolve_space_group_symbol``), else the number's (standard setting; also
    for a symbol no table knows); None with neither. A symbol and number that disagree, or a
    symbol with several readings the number does not decide, raise."""
    symbol, number = phase.get("space_group_symbol"), phase.get("space_group_number")
    resolved = resolve_space_group_symbol(symbol, number) if symbol else None
    if resolved is None:
        return _space_group_cached(None, number) if number else None
    return _space_group_cached(resolved, None)


#: a digit pair that may be a screw axis n_m (2_1, 3_1, 3_2, 4_1..4_3, 6_1..6_5) or two axes
_SCREW_PAIR = re.compile(r"(?=([2346])([1-5]))")
#: a setting or origin suffix kept apart from the symbol: ':2', ':R', '(a-1/4,b,c)'
_SUFFIX = re.compile(r"(:[A-Za-z0-9]+|\([^()]*\))$")


@lru_cache(maxsize=1)
def _symbol_tables() -> tuple[dict[str, set], dict[str, set]]:
    """pymatgen's space-group tables with screw axes written n_m: full symbols (``P12_1/n1``) and
    short or abbreviated ones (``P2_1/n``), each -> {(number, full symbol)}."""
    from pymatgen.symmetry.groups import SpaceGroup

    full: dict[str, set] = defaultdict(set)
    short: dict[str, set] = defaultdict(set)
    for e in SpaceGroup.SYMM_OPS:
        full[e["hermann_mauguin_u"]].add((e["number"], e["hermann_mauguin_u"]))
        short[e["short_h_m"]].add((e["number"], e["hermann_mauguin_u"]))
    for abbrev, name in SpaceGroup.abbrev_sg_mapping.items():
        short[abbrev] |= full[name]
    return dict(full), dict(short)


def _readings(compact: str) -> set[str]:
    """Every reading of an underscore-free symbol: each digit pair n m (0 < m < n, n = 2, 3, 4, 6)
    as the screw axis n_m or as two separate axes (``P6322`` -> P6322, P6_322, P63_22)."""
    if "_" in compact:
        return {compact}
    spots = [m.start() for m in _SCREW_PAIR.finditer(compact) if int(m.group(2)) < int(m.group(1))]
    out = set()
    for r in range(len(spots) + 1):
        for chosen in combinations(spots, r):
            if all(b - a >= 2 for a, b in zip(chosen, chosen[1:])):
                text = compact
                for pos in reversed(chosen):
                    text = f"{text[:pos + 1]}_{text[pos + 1:]}"
                out.add(text)
    return out


def _unique_axis_b(full: str) -> bool:
    """True for a monoclinic full symbol with unique axis b (``P 1 21/n 1``)."""
    parts = re.findall(r"-?\d(?:_\d)?(?:/[a-z])?|[a-z]", full[1:])
    return len(parts) == 3 and parts[0] == "1" and parts[2] == "1"


def _reading_settings(reading: str) -> set[tuple[int, str]]:
    """The (number, full symbol) settings one reading names. A short monoclinic symbol names the
    group's settings for every unique axis; by the International Tables' convention it means unique
    axis b (``P2_1/n`` is P 1 21/n 1), as pymatgen reads ``P2_1/c``."""
    full, short = _symbol_tables()
    if reading in full:
        return full[reading]
    named = short.get(reading, set())
    if len(named) > 1 and len({n for n, _ in named}) == 1:
        return {s for s in named if _unique_axis_b(s[1])} or named
    return named


def _split_suffix(compact: str) -> tuple[str, str]:
    """'R-3m:R' -> ('R-3m', ':R'); 'R-3mH' -> ('R-3m', ':H'); 'P21/c' -> ('P21/c', '')."""
    m = _SUFFIX.search(compact)
    if m:
        return compact[:m.start()], m.group(1)
    if compact[:1] == "R" and compact[-1:] in ("H", "R"):
        return compact[:-1], ":" + compact[-1]
    return compact, ""


@lru_cache(maxsize=512)
def resolve_space_group_symbol(symbol: str, number: int | None = None) -> str | None:
    """The pymatgen symbol of the one space-group setting ``symbol`` names, or None when no reading of
    it is in pymatgen's tables. Screw axes may be written without underscores ('P21/c', 'P3121',
    'P 1 21/n 1'); every reading of the digit pairs is looked up and all that are known must name the
    same group and setting. CrystalError (naming the symbol and the candidates) when they do not,
    unless ``number`` picks one, and when ``number`` disagrees with the symbol."""
    compact = re.sub(r"(\d)\((\d)\)", r"\1_\2", re.sub(r"\s+", "", symbol))  # '2(1)' is 2_1
    base, suffix = _split_suffix(compact)
    named = set().union(*(_reading_settings(r) for r in _readings(base)))
    if not named:
        return None
    pick = {s for s in named if s[0] == number} if number else named
    listed = ", ".join(f"{full} (No. {n})" for n, full in sorted(named))
    if not pick:
        raise CrystalError(f"space_group: symbol {symbol!r} is No. {min(named)[0]}, the record says {number}"
                           if len(named) == 1 else
                           f"space_group: symbol {symbol!r} reads as {listed}, none is the record's No. {number}")
    if len(pick) > 1:
        raise CrystalError(f"space_group_symbol: {symbol!r} is ambiguous, it reads as {listed}; give the space "
                           "group number" + (" and the full Hermann-Mauguin symbol" if number else ""))
    return _pymatgen_name(symbol, next(iter(pick))[1], suffix)


#: No. 68 in pymatgen's tables: origin choice 1 under the e-glide symbol, origin choice 2 only under the
#: older a/b/c-glide symbol of the same axes (checked: the :2 operations are the :1 ones shifted by
#: (0, 1/4, 1/4), (1/4, 0, 1/4), (1/4, 1/4, 0), the International Tables' origin shift)
_ORIGIN_TWINS = {("Ccce", ":2"): "Ccca", ("Ccca", ":1"): "Ccce", ("Aeaa", ":2"): "Abaa", ("Abaa", ":1"): "Aeaa",
                 ("Bbeb", ":2"): "Bbcb", ("Bbcb", ":1"): "Bbeb"}


def _pymatgen_name(symbol: str, full: str, suffix: str) -> str:
    """pymatgen's unique name (``universal_h_m``) of the first table entry of ``full`` with ``suffix``."""
    from pymatgen.symmetry.groups import SpaceGroup

    full = _ORIGIN_TWINS.get((full, suffix), full)
    for e in SpaceGroup.SYMM_OPS:
        if e["hermann_mauguin_u"] == full and e["universal_h_m"].endswith(suffix):
            return e["universal_h_m"]
    raise CrystalError(f"space_group_symbol: {symbol!r}: {full} has no setting {suffix!r} in pymatgen's tables")


@lru_cache(maxsize=1)
def _two_origin_numbers() -> frozenset[int]:
    """Numbers of the space groups pymatgen lists with origin choices 1 and 2 (the centrosymmetric
    groups the International Tables give two origins: 48, 50, 59, 68, 70, 85, 86, 88, 125, ...)."""
    from pymatgen.symmetry.groups import SpaceGroup

    by_number: dict[int, set[str]] = defaultdict(set)
    for e in SpaceGroup.SYMM_OPS:
        by_number[e["number"]].add(e["universal_h_m"][-2:])
    return frozenset(n for n, ends in by_number.items() if {":1", ":2"} <= ends)


def _origin_names(resolved: str) -> tuple[str, str]:
    """('Fd-3m:1', 'Fd-3m:2'): how to write each origin choice of a resolved two-origin setting."""
    base = resolved.rsplit(":", 1)[0]
    return f"{base}:1", f"{base}:2"


def origin_choice_unstated(symbol: str | None, number: int | None = None) -> str | None:
    """None when ``symbol`` fixes where a space group puts its sites; else why not: the group has two
    origin choices (International Tables) and the symbol names neither (no ':1' or ':2'). Such a
    symbol is enough for the cell (crystal system), not for atomic positions."""
    if not symbol:
        return None
    resolved = resolve_space_group_symbol(symbol, number)
    if resolved is None:
        return None
    compact = re.sub(r"\s+", "", symbol)
    if _split_suffix(compact)[1] or _space_group_cached(resolved, None).int_number not in _two_origin_numbers():
        return None
    one, two = _origin_names(resolved)
    return (f"space_group_symbol: {symbol!r} does not say which origin choice the site coordinates use; "
            f"space group No. {_space_group_cached(resolved, None).int_number} has two, and they put the atoms "
            f"in different places: write {two!r} (origin choice 2, centre of symmetry at the origin, the one "
            f"most papers and databases use) or {one!r} (origin choice 1)")


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
    """The parameters with the space group ``sg``'s symmetry applied, and the ties (b -> 'a', ...).

    ``stored`` maps parameter -> a value or a (value, uncertainty) pair. A parameter the symmetry
    ties to another (cubic b = c = a) is that parameter, whether stored or not: the same refined
    variable; one it fixes to an angle is ``fixed(angle)``, exact. A stored tied or fixed parameter
    must agree with what the symmetry makes it (``_check_symmetry``), else CrystalError: the cell
    contradicts its space group. A parameter neither stored nor fixed raises CrystalError: no
    crystal system is ever assumed. ``symbol``: the stored space-group symbol, named in that error
    when ``sg`` is None because no table reads it."""
    rules = symmetry_rules(sg) if sg is not None else {}
    out, ties, missing = dict(stored), {}, []
    for key in (*_LENGTHS[1:], *_ANGLES):
        rule = rules.get(key)
        if key in stored and rule is not None:
            _check_symmetry(key, stored, rule, sg)
        if isinstance(rule, str) and rule in out:
            out[key], ties[key] = out[rule], rule
        elif isinstance(rule, float):
            out[key] = fixed(rule)
        elif key not in out:
            missing.append(key)
    if missing:
        why = (f"space group {sg.symbol} is {sg.crystal_system}" if sg is not None else
               f"space group symbol {symbol!r} is not one pymatgen reads (write the full Hermann-Mauguin "
               "symbol, e.g. 'P 1 21/c 1', or give the space group number)" if symbol else "no space group is stored")
        raise CrystalError(f"lattice: {', '.join(missing)} not stored and not fixed by symmetry ({why})")
    return {k: out[k] for k in (*_LENGTHS, *_ANGLES)}, ties  # in this order: callers may unpack it


def _value_su(x: Any) -> tuple[float, float]:
    """(value, uncertainty) of a stored parameter given as a number or a (value, uncertainty) pair."""
    if isinstance(x, (list, tuple)):
        return float(x[0]), float(x[1] or 0.0)
    return float(x), 0.0


def _resolution(value: float, su: float) -> float:
    """How precisely a stored parameter is known: its standard uncertainty, or without one half a
    unit in its last written decimal (4.2307 -> 0.00005)."""
    return su if su > 0 else 0.5 * 10.0 ** Decimal(repr(float(value))).as_tuple().exponent


def _check_symmetry(key: str, stored: dict[str, Any], rule: str | float, sg) -> None:
    """CrystalError when stored ``key`` differs from what the symmetry makes it (the tied stored
    parameter, or the fixed angle) by more than the larger ``_resolution`` of the two: a
    constrained refinement reports tied parameters equal, so a difference means the cell or the space
    group is wrong, and neither value is picked."""
    value, su = _value_su(stored[key])
    if isinstance(rule, str):
        if rule not in stored:
            return
        ref, ref_su = _value_su(stored[rule])
        tol, what = max(_resolution(value, su), _resolution(ref, ref_su)), f"{rule} = {ref:g}"
    else:
        ref, tol, what = rule, _resolution(value, su), f"{rule:g}°"
    if abs(value - ref) > tol + 1e-12 * abs(ref):
        raise CrystalError(f"lattice.{key}: stored {value:g}, but space group {sg.symbol} ({sg.crystal_system}) makes "
                           f"{key} = {what}; they differ by {abs(value - ref):.3g}, more than their uncertainty and "
                           f"rounding ({tol:.2g}): the stored cell contradicts its space group")


@lru_cache(maxsize=512)
def _space_group_cached(symbol: str | None, number: int | None):
    """pymatgen builds a SpaceGroup in ~0.3 s (it compares every generated operation); build each once.
    ``symbol``: a name from ``resolve_space_group_symbol``."""
    from pymatgen.symmetry.groups import SpaceGroup

    if symbol:
        return SpaceGroup(symbol)
    return SpaceGroup.from_int_number(number) if number else None


def space_group(phase: dict):
    """pymatgen ``SpaceGroup`` that expands the phase's sites; the symbol decides the setting (and for a
    group with two origins must name the origin choice, ``origin_choice_unstated``), the number must agree."""
    symbol, number = phase.get("space_group_symbol"), phase.get("space_group_number")
    resolved = resolve_space_group_symbol(symbol, number) if symbol else None
    if resolved is None:
        raise CrystalError(f"space_group_symbol: {symbol!r} is not a setting pymatgen knows; write the full "
                           "Hermann-Mauguin symbol (e.g. 'P 1 21/n 1')" if symbol else
                           "space_group: none stored, so the sites' symmetry equivalents are unknown")
    unstated = origin_choice_unstated(symbol, number)
    if unstated:
        raise CrystalError(unstated)
    return _space_group_cached(resolved, None)


def _site_orbit(sg, site: dict, where: str, setting: str = "") -> list[list[float]]:
    """The positions ``sg`` makes of one stored site; ``setting``: its pymatgen name ('Fd-3m:2'), for the error."""
    coords = [site.get(axis) for axis in ("x", "y", "z")]
    if any(c is None for c in coords):
        raise CrystalError(f"{where}: no fractional coordinates stored")
    orbit = sg.get_orbit(coords, tol=SITE_TOLERANCE)
    mult = site.get("multiplicity")
    if mult is not None and len(orbit) != mult:
        raise CrystalError(f"{where}: {sg.symbol} gives {len(orbit)} positions for ({coords[0]}, {coords[1]}, "
                           f"{coords[2]}), the record says multiplicity {mult}"
                           + _other_origin_hint(setting, coords, mult))
    return [list(map(float, c)) for c in orbit]


def _other_origin_hint(name: str, coords: list, mult: int) -> str:
    """For a setting of a two-origin group ('Fd-3m:1'): '; ...' naming the other origin choice when it
    gives the stored multiplicity (coordinates taken from a paper in the other origin), else ''."""
    if not name.endswith((":1", ":2")) or _space_group_cached(name, None).int_number not in _two_origin_numbers():
        return ""
    one, two = _origin_names(name)
    other, choice = (two, 2) if name.endswith(":1") else (one, 1)
    try:
        fits = len(_space_group_cached(resolve_space_group_symbol(other), None)
                   .get_orbit(coords, tol=SITE_TOLERANCE)) == mult
    except (CrystalError, ValueError):  # a hint only
        fits = False
    if not fits:
        return ""
    return (f"; the coordinates fit origin choice {choice} ({other!r} gives {mult}), not origin choice "
            f"{3 - choice} ({name!r}): if the paper uses origin choice {choice}, store the symbol as {other!r}")


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
    setting = resolve_space_group_symbol(phase["space_group_symbol"], phase.get("space_group_number"))
    species, coords = [], []
    for i, site in enumerate(sites):
        for c in _site_orbit(sg, site, f"sites[{i}] ({site.get('label')})", setting):
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
