"""CIF out (``GET /structures/{id}?format=cif``) and stored phases as pymatgen Structures.

Every stored structure result with a lattice in the seed data exports a CIF that pymatgen reads back
to the stored lattice parameters and formula; CIF files imported through the importer (partial
occupancies) come back as the same pymatgen structure.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from pymatgen.core import Composition
from pymatgen.io.cif import CifFile, CifParser

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.schemas.crystal import CrystalError, lattice_parameters, phase_structure

INSTRUMENT = Path(__file__).resolve().parents[1] / "data" / "instrument"
_KEYS = {"a": "_cell_length_a", "b": "_cell_length_b", "c": "_cell_length_c",
         "alpha": "_cell_angle_alpha", "beta": "_cell_angle_beta", "gamma": "_cell_angle_gamma"}


@pytest.fixture()
def seed_client(seeded_settings, seeded_store):
    from ionbase.service.app import create_app

    return create_app(seeded_settings, store=seeded_store).test_client()


def _num(text: str) -> float:
    return float(str(text).split("(")[0])


def _check_block(block, phase: dict) -> None:
    """The block's cell equals the stored lattice (to the stored digits), its formula the stored one."""
    for key, tag in _KEYS.items():
        stored = (phase["lattice"].get(key) or {}).get("value")
        if stored is not None:
            assert _num(block.data[tag]) == pytest.approx(stored, abs=1e-6), (key, phase.get("name"))
    formula = Composition(block.data["_chemical_formula_sum"].strip("'"))
    assert formula.almost_equals(Composition(phase["formula"])), (formula, phase["formula"])


def test_every_seed_structure_with_a_lattice_exports_a_cif_pymatgen_reads_back(seed_client, seeded_store):
    docs = [d for d in seeded_store.structures.find({}) if any(p.get("lattice") for p in d.get("phases", []))]
    assert len(docs) >= 4, "the Mg3AsN Table 2 refinements carry lattices"
    for doc in docs:
        r = seed_client.get(f"/api/v1/structures/{doc['_id']}?format=cif")
        assert r.status_code == 200, r.get_json()
        assert r.mimetype == "chemical/x-cif"
        assert f'filename="{doc["_id"]}.cif"' in r.headers["Content-Disposition"]
        blocks = list(CifFile.from_str(r.get_data(as_text=True)).data.values())
        phases = [p for p in doc["phases"] if p.get("lattice")]
        assert len(blocks) == len(phases)
        for block, phase in zip(blocks, phases):
            _check_block(block, phase)
    a = {d["label"]: d["phases"][0]["lattice"]["a"]["value"] for d in docs if d["label"].startswith("Table 2")}
    assert a["Table 2 as-BM"] == 4.2307 and a["Table 2 Mg3AsN-500-12"] == 4.2239


def test_cif_of_a_phase_without_positions_says_so_and_b_c_follow_from_the_cubic_group(seed_client, seeded_store):
    doc = next(d for d in seeded_store.structures.find({}) if d["label"] == "Table 2 as-BM")
    text = seed_client.get(f"/api/v1/structures/{doc['_id']}?format=cif").get_data(as_text=True)
    assert "unit cell only; the refinement record gives no atomic positions" in text
    block = next(iter(CifFile.from_str(text).data.values()))
    assert [_num(block.data[t]) for t in ("_cell_length_b", "_cell_length_c")] == [4.2307, 4.2307]
    assert block.data["_symmetry_Int_Tables_number"] == "221"


def test_structure_without_lattice_has_no_cif_and_json_stays_default(seed_client, seeded_store):
    doc = next(d for d in seeded_store.structures.find({}) if not any(p.get("lattice") for p in d["phases"]))
    r = seed_client.get(f"/api/v1/structures/{doc['_id']}?format=cif")
    assert r.status_code == 404 and "no phase with lattice parameters" in r.get_json()["message"]
    assert seed_client.get(f"/api/v1/structures/{doc['_id']}").get_json()["id"] == doc["_id"]
    r = seed_client.get(f"/api/v1/structures/{doc['_id']}?format=xml")
    assert r.status_code == 400, r.get_json()
    assert "format" in str(r.get_json()["errors"])
    assert seed_client.get(f"/api/v1/structures/{doc['_id']}?fromat=cif").status_code == 400


def _import(store, tmp_path, yaml_text: str, files=()):
    for name in files:
        shutil.copy(INSTRUMENT / name, tmp_path / name)
    (tmp_path / "lab.yaml").write_text(yaml_text)
    Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])


def test_imported_cifs_round_trip_with_partial_occupancies(store, app_client_for, tmp_path):
    _import(store, tmp_path,
            "source: {notebook: NB-CIF}\n"
            "samples:\n  - {label: M1, material: Mg3AsN}\n  - {label: N1, material: Na3InCl6}\n"
            "structures:\n  - {sample: M1, method: xrd_rietveld, cif: Mg3AsN_partial.cif}\n"
            "  - {sample: N1, method: xrd_rietveld, cif: Na3InCl6_like_P21n.cif}\n",
            files=("Mg3AsN_partial.cif", "Na3InCl6_like_P21n.cif"))
    client = app_client_for(store)
    seen, seen_mixed = 0, False
    for doc in store.structures.find({}):
        text = client.get(f"/api/v1/structures/{doc['_id']}?format=cif").get_data(as_text=True)
        back = CifParser.from_str(text).parse_structures(primitive=False)
        for phase, s in zip(doc["phases"], back, strict=True):
            stored = phase_structure(phase)
            assert s.lattice.abc == pytest.approx(stored.lattice.abc, abs=1e-6)
            assert s.lattice.angles == pytest.approx(stored.lattice.angles, abs=1e-6)
            assert s.composition.almost_equals(stored.composition)
            assert len(s) == len(stored)
            seen += 1
        if "Mg" in doc["phases"][0]["formula"]:
            seen_mixed = True
            mixed = [site for site in back[0] if len(site.species) == 2]
            assert len(mixed) == 3 and {str(e): o for e, o in mixed[0].species.items()} == {"Mg": 0.97, "Li": 0.03}
    assert seen == 2 and seen_mixed


MG3ASN_SITES = """\
source: {notebook: NB-SITES}
samples:
  - {label: M2, material: Mg3AsN}
structures:
  - sample: M2
    method: xrd_rietveld
    label: test fixture (lattice of Table 2 with the sites of Table 1, Mg3AsN paper)
    phases:
      - name: Mg3AsN
        formula: Mg3AsN
        space_group: {symbol: "Pm-3m", number: 221}
        lattice: {a: "4.2307 Å"}
        sites:
          - {label: Mg, species: {Mg: 0.9}, wyckoff: 3d, multiplicity: MULT, x: 0.0, y: 0.0, z: 0.5}
          - {label: As, species: {As: 1.0}, wyckoff: 1b, multiplicity: 1, x: 0.5, y: 0.5, z: 0.5}
          - {label: N, species: {N: 1.0}, wyckoff: 1a, multiplicity: 1, x: 0.0, y: 0.0, z: 0.0}
"""


def test_sites_of_the_asymmetric_unit_are_expanded_by_the_space_group(store, app_client_for, tmp_path):
    _import(store, tmp_path, MG3ASN_SITES.replace("MULT", "3"))
    doc = store.structures.find({})[0]
    s = phase_structure(doc["phases"][0])
    assert len(s) == 5 and s.composition.almost_equals(Composition("Mg2.7AsN"))
    assert s.lattice.abc == pytest.approx((4.2307,) * 3) and s.lattice.angles == pytest.approx((90,) * 3)
    text = app_client_for(store).get(f"/api/v1/structures/{doc['_id']}?format=cif").get_data(as_text=True)
    back = CifParser.from_str(text).parse_structures(primitive=False)[0]
    assert back.composition.almost_equals(s.composition) and len(back) == 5


def test_a_multiplicity_the_space_group_contradicts_is_refused_naming_the_site(store, app_client_for, tmp_path):
    _import(store, tmp_path, MG3ASN_SITES.replace("MULT", "6"))
    doc = store.structures.find({})[0]
    with pytest.raises(CrystalError, match=r"sites\[0\] \(Mg\): Pm-3m gives 3 positions .* multiplicity 6"):
        phase_structure(doc["phases"][0])
    r = app_client_for(store).get(f"/api/v1/structures/{doc['_id']}?format=cif")
    assert r.status_code == 422 and "phases[0] (Mg3AsN)" in r.get_json()["message"]


def test_missing_lattice_parameters_are_filled_only_where_symmetry_fixes_them():
    ph = {"space_group_symbol": "P 1 21/n 1", "lattice": {"a": {"value": 7.0, "unit": "Å"}}}
    with pytest.raises(CrystalError, match=r"b, c, beta not stored and not fixed by symmetry \(space group P12_1/n1 is monoclinic"):
        lattice_parameters(ph)  # monoclinic, unique axis b: alpha = gamma = 90 are fixed, beta is not
    ph["lattice"].update({k: {"value": v, "unit": u} for k, v, u in (("b", 8.0, "Å"), ("c", 9.0, "Å"), ("beta", 91.5, "deg"))})
    assert lattice_parameters(ph) == {"a": 7.0, "b": 8.0, "c": 9.0, "alpha": 90.0, "beta": 91.5, "gamma": 90.0}
    # rhombohedral axes: b = c = a and beta = gamma = alpha (was gamma = 120°, the hexagonal-axes value)
    ph = {"space_group_symbol": "R-3m:R", "lattice": {"a": {"value": 5.2, "unit": "Å"}, "alpha": {"value": 57.0, "unit": "deg"}}}
    assert lattice_parameters(ph) == {"a": 5.2, "b": 5.2, "c": 5.2, "alpha": 57.0, "beta": 57.0, "gamma": 57.0}
    ph = {"space_group_symbol": "R-3m", "lattice": {"a": {"value": 3.0, "unit": "Å"}, "c": {"value": 15.0, "unit": "Å"}}}
    assert lattice_parameters(ph) == {"a": 3.0, "b": 3.0, "c": 15.0, "alpha": 90.0, "beta": 90.0, "gamma": 120.0}
    # a short symbol pymatgen does not parse: the number gives the crystal system
    ph = {"space_group_symbol": "P21/n", "space_group_number": 14,
          "lattice": {k: {"value": v, "unit": "Å"} for k, v in (("a", 7.0), ("b", 8.0), ("c", 9.0))} | {"beta": {"value": 91.5, "unit": "deg"}}}
    assert lattice_parameters(ph) == {"a": 7.0, "b": 8.0, "c": 9.0, "alpha": 90.0, "beta": 91.5, "gamma": 90.0}
    del ph["space_group_number"]  # without the number the short symbol alone (P 1 21/n 1, unique axis b)
    assert lattice_parameters(ph) == {"a": 7.0, "b": 8.0, "c": 9.0, "alpha": 90.0, "beta": 91.5, "gamma": 90.0}
    ph["space_group_symbol"] = "P21/q"  # no table knows it: nothing fixes alpha and gamma, the error names the symbol
    with pytest.raises(CrystalError, match=r"alpha, gamma not stored .*symbol 'P21/q' is not one pymatgen reads"):
        lattice_parameters(ph)
    ph = {"space_group_number": 138, "lattice": {"a": {"value": 7.0, "unit": "Å"}, "c": {"value": 9.0, "unit": "Å"}}}
    assert lattice_parameters(ph) == {"a": 7.0, "b": 7.0, "c": 9.0, "alpha": 90.0, "beta": 90.0, "gamma": 90.0}
    with pytest.raises(CrystalError, match="is tetragonal"):
        lattice_parameters({"space_group_number": 138, "lattice": {"a": {"value": 7.0, "unit": "Å"}}})
