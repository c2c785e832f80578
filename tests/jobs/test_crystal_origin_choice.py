"""Space groups with two origin choices (Fd-3m, P4/nmm, P4/n, I41/amd, Pn-3m, Fddd, ...): the
choice decides where the symmetry operations put the atoms, so a symbol that does not name it is
refused wherever sites are expanded, while the cell (volume, density) needs only the crystal system.

Reference: spinel LiMn2O4, Fd-3m (No. 227), a = 8.24 Å, Z = 8, with the sites as most papers write
them (origin choice 2, centre of symmetry at the origin): Li 8a (1/8, 1/8, 1/8), Mn 16d (1/2, 1/2,
1/2), O 32e x = 0.2625. The cell holds Li8 Mn16 O32; its density is 8 M(LiMn2O4) / (N_A a^3) =
4.293 g/cm^3 (read with origin choice 1 the same sites gave Li16 Mn8 O32, 3.15 g/cm^3).
"""

from __future__ import annotations

import re

import pytest
from ionbase.jobs.definitions import compute_crystallography
from ionbase.schemas.crystal import (
    CrystalError,
    lattice_parameters,
    phase_cif,
    phase_structure,
)
from pymatgen.core import Composition

A = 8.24
N_A = 6.02214076e23


def _spinel(symbol: str | None, sites: bool = True, multiplicity: bool = False) -> dict:
    rows = [("Li1", "Li", "8a", 0.125, 8), ("Mn1", "Mn", "16d", 0.5, 16), ("O1", "O", "32e", 0.2625, 32)]
    phase = {"name": "spinel", "formula": "LiMn2O4", "space_group_symbol": symbol, "space_group_number": 227,
             "lattice": {"a": {"value": A, "unit": "Å"}}, "z": 8}
    if sites:
        phase["sites"] = [{"label": label, "species": {el: 1.0}, "wyckoff": w, "x": x, "y": x, "z": x,
                           **({"multiplicity": m} if multiplicity else {})} for label, el, w, x, m in rows]
    return phase


def _density(a: float) -> float:
    """g/cm^3 of Z = 8 LiMn2O4 in a cubic cell of edge a (Å)."""
    return 8 * Composition("LiMn2O4").weight / N_A / (a * 1e-8) ** 3


def test_origin_two_sites_give_the_spinel_cell():
    s = phase_structure(_spinel("Fd-3m:2"))
    assert s.composition.reduced_formula == "LiMn2O4"
    assert dict(s.composition.get_el_amt_dict()) == {"Li": 8.0, "Mn": 16.0, "O": 32.0}
    assert float(s.density) == pytest.approx(_density(A), rel=1e-6)  # 4.28 g/cm^3
    assert float(s.density) == pytest.approx(4.29, abs=0.01)  # a = 8.24 Å


def test_origin_two_sites_with_multiplicities_agree():
    s = phase_structure(_spinel("Fd-3m:2", multiplicity=True))
    assert len(s) == 56


@pytest.mark.parametrize("symbol", ["Fd-3m", "F d -3 m", "Fd-3m "])
def test_symbol_without_origin_choice_is_refused_for_sites(symbol):
    why = rf"{re.escape(repr(symbol))} does not say which origin choice.*write 'Fd-3m:2' \(origin choice 2"
    with pytest.raises(CrystalError, match=why):
        phase_structure(_spinel(symbol))


def test_cif_export_of_sites_is_refused_without_origin_choice():
    with pytest.raises(CrystalError, match="origin choice"):
        phase_cif(_spinel("Fd-3m"), "spinel")
    assert "_atom_site" in phase_cif(_spinel("Fd-3m:2"), "spinel")


@pytest.mark.parametrize("symbol,number", [("P4/nmm", 129), ("I41/amd", 141), ("Pn-3m", 224), ("Fddd", 70),
                                           ("P4/n", 85), ("Ccce", 68)])
def test_other_two_origin_groups_are_refused_for_sites(symbol, number):
    phase = {"space_group_symbol": symbol, "space_group_number": number,
             "lattice": {k: {"value": v, "unit": u} for k, v, u in
                         (("a", 9.0, "Å"), ("b", 10.0, "Å"), ("c", 11.0, "Å"))
                         if not (k == "b" and number > 74) and not (k == "c" and number > 194)},
             "sites": [{"label": "X", "species": {"Na": 1.0}, "x": 0.1, "y": 0.2, "z": 0.3}]}
    with pytest.raises(CrystalError, match="origin choice"):
        phase_structure(phase)
    phase["space_group_symbol"] = symbol + ":2"
    assert len(phase_structure(phase)) > 1


def test_cell_only_phase_without_origin_choice_still_gets_volume_and_density():
    """Lattice completion needs only the crystal system (cubic), which either origin choice gives."""
    assert lattice_parameters(_spinel("Fd-3m", sites=False))["c"] == A
    ph = _spinel("Fd-3m", sites=False)
    ph["lattice"] = {"a": [A, 0.0]}
    vol, dens = compute_crystallography({"phase": {**ph, "index": 0}, "structure": "st-x"})
    assert vol["value"] == pytest.approx(A**3, rel=1e-12)
    assert dens["value"] == pytest.approx(_density(A), rel=1e-6)
    assert "_cell_length_c" in phase_cif(_spinel("Fd-3m", sites=False), "spinel")


def test_multiplicity_mismatch_names_the_origin_choice():
    """Origin-2 coordinates declared origin 1: Li at 8a of origin 2 is a 16-fold position of origin 1."""
    why = r"Fd-3m gives 16 positions .* multiplicity 8; the coordinates fit origin choice 2 .*store the symbol as 'Fd-3m:2'"
    with pytest.raises(CrystalError, match=why):
        phase_structure(_spinel("Fd-3m:1", multiplicity=True))
