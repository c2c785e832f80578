"""The crystallography job completes a cell only as its space group fixes it, and propagates the
uncertainty of parameters tied by symmetry as the one refined variable they are.

Reference values: Li3N (P6/mmm, hexagonal: V = a^2 c sin 120°), Mg3AsN (Pm-3m, cubic: V = a^3,
u(V) = 3 a^2 u(a)), Li2O refined with only a and no space group (cell not fixed: no value).
"""

from __future__ import annotations

import math

import pytest
import yaml

from ionbase.analysis.crystallography import AVOGADRO, cell_volume
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.definitions import compute_crystallography
from ionbase.jobs.runner import run_jobs

M_LI3N = 3 * 6.94 + 14.007  # g/mol (pymatgen's standard atomic weights)
M_MG3ASN = 3 * 24.305 + 74.921595 + 14.007

LAB = {
    "source": {"doi": "10.1000/crystal-systems"},
    "materials": [{"key": "LN", "formula": "Li3N", "family": "other"},
                  {"key": "MAN", "formula": "Mg3AsN", "family": "antiperovskite"},
                  {"key": "LO", "formula": "Li2O", "family": "oxide"}],
    "samples": [{"label": "HEX", "material": "LN"}, {"label": "CUB", "material": "MAN"}, {"label": "MIX", "material": "LO"}],
    "measurements": [],
    "structures": [
        # the space group as a symbol only (the importer stores no number)
        {"sample": "HEX", "method": "xrd_rietveld", "phases": [
            {"name": "Li3N", "formula": "Li3N", "z": 1, "space_group": "P6/mmm",
             "lattice": {"a": "3.648(1) Å", "c": "3.875(1) Å"}}]},
        {"sample": "CUB", "method": "xrd_rietveld", "phases": [
            {"name": "Mg3AsN", "formula": "Mg3AsN", "z": 1, "space_group": {"symbol": "Pm-3m", "number": 221},
             "lattice": {"a": "4.2307(3) Å"}}]},
        # two phases: the second has only a and no space group, so its cell is not known
        {"sample": "MIX", "method": "xrd_rietveld", "phases": [
            {"name": "Li3N", "formula": "Li3N", "z": 1, "space_group": {"symbol": "P6/mmm", "number": 191},
             "lattice": {"a": "3.648(1) Å", "c": "3.875(1) Å"}},
            {"name": "Li2O", "formula": "Li2O", "z": 4, "lattice": {"a": "4.61 Å"}}]},
    ],
}


@pytest.fixture()
def computed(store, settings, tmp_path):
    path = tmp_path / "lab.yaml"
    path.write_text(yaml.safe_dump(LAB, sort_keys=False, allow_unicode=True))
    Importer(store, ImportOptions()).run([path])
    return run_jobs(store, settings, job_names=["crystallography"])


def _derived(store, name: str, sample_label: str) -> dict[str, dict]:
    docs = store.db.properties.find({"name": name, "origin": "derived", "sample_label": sample_label})
    return {d["conditions"]["phase"]: d for d in docs}


def test_a_space_group_given_as_a_symbol_fixes_a_hexagonal_cell(store, computed):
    v_expected = 3.648**2 * 3.875 * math.sin(math.radians(120))  # 44.66 Å^3, not a^2 c = 51.57
    vol = _derived(store, "cell_volume", "HEX")["Li3N"]
    assert vol["value"] == pytest.approx(v_expected, rel=1e-9)
    # b is a: u(V)^2 = (2 V/a u_a)^2 + (V/c u_c)^2
    u_expected = math.hypot(2 * v_expected / 3.648 * 0.001, v_expected / 3.875 * 0.001)
    assert vol["uncertainty"] == pytest.approx(u_expected, rel=1e-6)
    rho = _derived(store, "density", "HEX")["Li3N"]
    assert rho["value"] == pytest.approx(M_LI3N / (AVOGADRO * v_expected * 1e-24), rel=1e-3)  # 1.295 g/cm^3
    assert rho["value"] == pytest.approx(1.295, abs=0.001)


def test_the_constrained_cubic_cell_has_the_uncertainty_of_one_refined_a(store, computed):
    a, ua = 4.2307, 0.0003
    vol = _derived(store, "cell_volume", "CUB")["Mg3AsN"]
    assert vol["value"] == pytest.approx(a**3, rel=1e-12)
    assert vol["uncertainty"] == pytest.approx(3 * a**2 * ua, rel=1e-9)  # 0.01611 Å^3, not sqrt(3) a^2 u_a
    rho = _derived(store, "density", "CUB")["Mg3AsN"]
    assert rho["uncertainty"] == pytest.approx(rho["value"] * 3 * ua / a, rel=1e-9)
    assert rho["value"] == pytest.approx(M_MG3ASN / (AVOGADRO * a**3 * 1e-24), rel=1e-3)
    assert vol["provenance"]["parameters"]["tied"] == {"b": "a", "c": "a"}


def test_a_cell_not_fixed_by_symmetry_gets_no_volume_and_says_why(store, computed):
    # the Li2O phase: only a, no space group -> no cubic guess (4.61^3 = 97.97 Å^3), no density
    assert set(_derived(store, "cell_volume", "MIX")) == {"Li3N"}
    assert set(_derived(store, "density", "MIX")) == {"Li3N"}
    assert computed["jobs"]["crystallography"]["computed"] == 3 and computed["failed"] == 1
    error = computed["errors"][0]
    assert error["job"] == "crystallography" and error["item"].endswith("-p1")
    assert "b, c, alpha, beta, gamma not stored and not fixed by symmetry (no space group is stored)" in error["error"]
    state = store.db.job_items.find_one({"job": "crystallography", "state": "failed"})
    assert state["item"] == error["item"] and "not fixed by symmetry" in state["error"] and state["outputs"] == []


def test_the_optimade_listing_maps_the_unfixed_cell_as_null(store, computed, app_client_for):
    r = app_client_for(store).get("/optimade/v1/structures?page_limit=100")
    assert r.status_code == 200, r.get_data(as_text=True)[:2000]
    by_name = {(e["attributes"]["_ionbase_sample_label"], e["attributes"]["_ionbase_phase_name"]): e["attributes"]
               for e in r.get_json()["data"]}
    li2o = by_name[("MIX", "Li2O")]
    assert li2o["lattice_vectors"] is None and li2o["cartesian_site_positions"] is None
    assert li2o["chemical_formula_reduced"] == "Li2O"
    cubic = by_name[("CUB", "Mg3AsN")]["lattice_vectors"]
    assert [x for row in cubic for x in row] == pytest.approx([4.2307, 0, 0, 0, 4.2307, 0, 0, 0, 4.2307], abs=1e-9)


def test_rhombohedral_axes_tie_the_angles_too():
    """R-3m in its rhombohedral setting: a = b = c and alpha = beta = gamma, one variable each."""
    a, ua, al, ual = 5.0, 0.001, 60.0, 0.01
    inputs = {"structure": "S", "phase": {"index": 0, "name": "R", "formula": None, "z": None, "space_group_symbol": "R-3m:R",
                                          "space_group_number": 166, "lattice": {"a": [a, ua], "alpha": [al, ual]}}}
    (vol,) = compute_crystallography(inputs)
    c = math.cos(math.radians(al))
    g = math.sqrt(1 - 3 * c**2 + 2 * c**3)
    assert vol["value"] == pytest.approx(a**3 * g, rel=1e-12)  # 88.39 Å^3
    dv_dal = a**3 * (3 * c - 3 * c**2) * math.sin(math.radians(al)) / g  # dV/dalpha (per rad)
    assert vol["uncertainty"] == pytest.approx(math.hypot(3 * a**2 * g * ua, dv_dal * math.radians(ual)), rel=1e-9)
    assert cell_volume(a, None, None, al, None, None, a_err=ua, alpha_err=ual).stderr == pytest.approx(vol["uncertainty"])


def test_a_symbol_and_number_that_disagree_are_refused():
    inputs = {"structure": "S", "phase": {"index": 0, "name": "X", "formula": None, "z": None, "space_group_symbol": "P6/mmm",
                                          "space_group_number": 221, "lattice": {"a": [4.0, 0.0], "c": [5.0, 0.0]}}}
    with pytest.raises(ValueError, match="symbol 'P6/mmm' is No. 191, the record says 221"):
        compute_crystallography(inputs)
