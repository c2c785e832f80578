from pathlib import Path

import pytest
from pymatgen.core import Structure

from ionbase.ingest.parsers import CifFile, ParseError, parse_file, read_cif
from ionbase.ingest.parsers.cif import parse_su

# Real instrument files, copied into tests/data/ with their licences (tests/data/eis/README.md).
REPO = Path(__file__).resolve().parents[2]
FIXTURES = Path(__file__).resolve().parents[1] / "data"
EIS = FIXTURES / "eis" / "impedance_py"
DATA = REPO / "tests" / "data" / "instrument"


@pytest.mark.parametrize("text,value,su", [
    ("4.2307(3)", 4.2307, 0.0003), ("91.134(7)", 91.134, 0.007), ("9.6043(13)", 9.6043, 0.0013),
    ("90", 90.0, None), ("1234(5)", 1234.0, 5.0), ("75.725(16)", 75.725, 0.016),
    ("1.5e2(3)", 150.0, 30.0),
])
def test_standard_uncertainty(text, value, su):
    assert parse_su(text) == (value, su)


def test_mg3asn_antiperovskite():
    (p,) = read_cif(DATA / "Mg3AsN_partial.cif")
    assert p.space_group_symbol == "P m -3 m" and p.space_group_number == 221
    assert p.lattice["a"] == {"value": 4.2307, "uncertainty": 0.0003}
    assert p.lattice["alpha"] == {"value": 90.0, "uncertainty": None}
    assert p.volume == {"value": 75.725, "uncertainty": 0.016} and p.z == 1  # _cell_volume 75.725(16)
    assert p.formula == "AsLi0.09Mg2.91N"
    by = {s["label"]: s for s in p.sites}
    assert (by["As1"]["wyckoff"], by["As1"]["x"], by["As1"]["y"], by["As1"]["z"]) == ("1a", 0, 0, 0)
    assert (by["N1"]["wyckoff"], by["N1"]["x"]) == ("1b", 0.5)
    assert (by["Mg1"]["wyckoff"], by["Mg1"]["multiplicity"]) == ("3c", 3)
    assert (by["Mg1"]["x"], by["Mg1"]["y"], by["Mg1"]["z"]) == (0.0, 0.5, 0.5)
    # partial occupancies survive, mixed site not merged in the site list
    assert by["Mg1"]["species"] == [{"element": "Mg", "occupancy": 0.97}]
    assert by["Li1"]["species"] == [{"element": "Li", "occupancy": 0.03}]
    assert by["Mg1"]["b_iso"] == 0.88 and by["Mg1"]["u_iso"] is None
    s = Structure.from_dict(p.structure_dict)
    assert len(s) == 5  # As + N + 3 face-centre Mg/Li sites, cell not reduced
    assert not s.is_ordered
    occ = [sp.as_dict() for site in s for sp in [site.species]]
    mg_sites = [site for site in s if "Mg" in site.species.as_dict()]
    assert len(mg_sites) == 3
    assert all(site.species.as_dict() == pytest.approx({"Mg": 0.97, "Li": 0.03})
               for site in mg_sites)
    assert s.lattice.a == pytest.approx(4.2307)
    assert occ
    assert p.cif_text.lstrip().startswith("data_Mg3AsN_test")


def test_na3incl6_like_monoclinic_partial_na():
    (p,) = read_cif(DATA / "Na3InCl6_like_P21n.cif")
    assert p.space_group_symbol == "P 1 21/n 1" and p.space_group_number == 14
    assert p.lattice["beta"] == {"value": 91.134, "uncertainty": 0.007}
    assert p.lattice["c"] == {"value": 9.6043, "uncertainty": 0.0008}
    by = {s["label"]: s for s in p.sites}
    assert by["Na1"]["species"][0]["occupancy"] == 0.9
    assert by["Na2"]["species"][0]["occupancy"] == 0.975
    assert by["Na2"]["u_iso"] == 0.035
    # no multiplicity column in the file: from the symmetry operations
    assert [by[k]["multiplicity"] for k in ("In1", "Na1", "Na2", "Cl1")] == [2, 2, 4, 4]
    s = Structure.from_dict(p.structure_dict)
    # conventional (refinement) cell kept: 2 In + 2 Na1 + 4 Na2 + 12 Cl
    assert len(s) == 20
    lat = s.lattice
    assert (lat.a, lat.b, lat.c, lat.beta) == pytest.approx((6.4012, 6.7105, 9.6043, 91.134))
    assert s.composition["Na"] == pytest.approx(2 * 0.9 + 4 * 0.975)
    assert p.volume is None  # the file reports no _cell_volume: none is reported for it (the job derives one)
    assert parse_file(DATA / "Na3InCl6_like_P21n.cif").kind == "structure"


def test_cif_errors():
    bad = (DATA / "Mg3AsN_partial.cif").read_text().replace("4.2307(3)\n_cell_length_b",
                                                           "4.23x07\n_cell_length_b")
    with pytest.raises(ParseError) as ei:
        CifFile.from_str(bad, filename="bad.cif")
    line = next(i for i, l in enumerate(bad.splitlines(), 1) if l.startswith("_cell_length_a"))
    assert ei.value.field == "_cell_length_a" and ei.value.line == line == 14
    with pytest.raises(ParseError, match="_cell_length_a"):
        CifFile.from_str("data_x\n_chemical_name_common 'nothing'\n", filename="x.cif")
    with pytest.raises(ParseError, match="empty"):
        CifFile.from_str("", filename="e.cif")


def test_multi_block_cif(tmp_path):
    text = ("data_global\n_publ_section_title 'two phases'\n\n"
            + (DATA / "Mg3AsN_partial.cif").read_text()
            + "\n" + (DATA / "Na3InCl6_like_P21n.cif").read_text())
    p = tmp_path / "two.cif"
    p.write_text(text)
    phases = read_cif(p)
    assert [x.block_name for x in phases] == ["Mg3AsN_test", "Na3InCl6_like"]
    assert phases[1].cif_text.startswith("data_Na3InCl6_like")
