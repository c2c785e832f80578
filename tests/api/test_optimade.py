"""OPTIMADE v1 at /optimade/v1 on the seed data: the official validator against a live server, and the
acceptance queries (Mg3AsN by elements, halide site concentrations, provider fields, paging, errors)."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from ionbase.ingest.importer import Importer, ImportOptions

INSTRUMENT = Path(__file__).resolve().parents[1] / "data" / "instrument"
BASE = "/optimade/v1"


@pytest.fixture()
def seed_client(seeded_settings, seeded_store):
    from ionbase.service.app import create_app

    return create_app(seeded_settings, store=seeded_store).test_client()


@pytest.fixture()
def live_url(seeded_settings, seeded_store):
    """The real application over the seeded store, served over HTTP on a free port."""
    from werkzeug.serving import make_server

    from ionbase.service.app import create_app

    server = make_server("127.0.0.1", 0, create_app(seeded_settings, store=seeded_store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


def _get(client, path: str, status: int = 200) -> dict:
    r = client.get(BASE + path)
    assert r.status_code == status, r.get_data(as_text=True)[:2000]
    assert r.mimetype == "application/vnd.api+json"
    return r.get_json()


def _ids(body: dict) -> set[str]:
    return {d["id"] for d in body["data"]}


def test_the_optimade_validator_passes_the_seed_data(live_url):
    """``optimade-validator URL`` (the console script's entry point, optimade.validator:validate) with --json."""
    cmd = [sys.executable, "-c", "import sys; from optimade.validator import validate; sys.argv[0] = 'optimade-validator'; validate()",
           "--json", f"{live_url}{BASE}"]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    summary = json.loads(out.stdout)
    print("optimade-validator:", {k: v for k, v in summary.items() if k.endswith("count")})
    assert summary["failure_count"] == 0, summary["failure_messages"]
    assert summary["internal_failure_count"] == 0, summary["internal_failure_messages"]
    assert summary["optional_failure_count"] == 0, summary["optional_failure_messages"]
    assert summary["success_count"] >= 50 and summary["optional_success_count"] >= 10


def test_elements_has_all_finds_exactly_the_mg3asn_phases(seed_client, seeded_store):
    body = _get(seed_client, '/structures?filter=elements HAS ALL "Mg","As","N"&page_limit=100')
    expected = {f"{d['_id']}-p{i}" for d in seeded_store.structures.find({})
                for i, p in enumerate(d["phases"]) if p.get("formula") == "Mg3AsN"}
    assert len(expected) >= 6 and _ids(body) == expected
    assert {d["attributes"]["chemical_formula_reduced"] for d in body["data"]} == {"AsMg3N"}
    assert body["meta"]["data_returned"] == len(expected)
    # the decomposition product Mg3As2 has no N
    body = _get(seed_client, '/structures?filter=chemical_formula_reduced="As2Mg3"')
    assert body["data"] and all("N" not in d["attributes"]["elements"] for d in body["data"])


def test_the_halide_pdf_refinements_carry_site_concentrations_below_one(seed_client):
    body = _get(seed_client, '/structures?filter=_ionbase_method="pdf"&page_limit=100')
    with_sites = [d for d in body["data"] if d["attributes"]["species"]]
    assert len(with_sites) >= 6, "six PDF refinements of the series record the Na(4e) occupancy"
    # the annealed samples' records give no sites: no species, no disorder claimed
    assert all(d["attributes"]["structure_features"] == [] for d in body["data"] if d not in with_sites)
    for d in with_sites:
        a = d["attributes"]
        assert a["structure_features"] == ["disorder"]
        na = next(s for s in a["species"] if s["name"] == "Na(4e)")
        assert na["chemical_symbols"] == ["Na", "vacancy"]
        assert na["concentration"] == pytest.approx([0.95, 0.05]) and na["mass"][0] == pytest.approx(22.98976928)
        assert a["cartesian_site_positions"] is None and a["nsites"] is None  # no positions in the paper
        assert "Na" in a["elements"] and "Cl" in a["elements"]
    disordered = _get(seed_client, '/structures?filter=structure_features HAS "disorder"&page_limit=100')
    assert {d["id"] for d in with_sites} <= _ids(disordered)
    x09 = next(d for d in with_sites if d["attributes"]["chemical_formula_descriptive"] == "Na2.9In0.9Zr0.1Cl6")
    assert x09["attributes"]["chemical_formula_reduced"] == "Cl60In9Na29Zr"
    assert x09["attributes"]["chemical_formula_anonymous"] == "A60B29C9D"


def test_provider_fields_are_the_stored_numbers(seed_client, seeded_store):
    body = _get(seed_client, '/structures?filter=_ionbase_sample_label="Mg3AsN-BM400-3h" AND _ionbase_rwp IS KNOWN')
    (entry,) = body["data"]
    a = entry["attributes"]
    assert (a["_ionbase_rwp"], a["_ionbase_chi2"], a["_ionbase_crystallite_size_nm"]) == (5.19, 1.34, 14.1)
    assert a["_ionbase_microstrain_percent"] == pytest.approx(0.667)
    flat = [x for v in a["lattice_vectors"] for x in v]
    assert flat == pytest.approx([4.2307, 0, 0, 0, 4.2307, 0, 0, 0, 4.2307], abs=1e-9)
    assert a["_ionbase_milling_time_h"] == 3 and a["_ionbase_annealed"] is False
    assert a["_ionbase_doi"] == "10.1039/d5mh01361e"
    assert entry["relationships"]["references"]["data"] == [{"id": "doi-10.1039-d5mh01361e", "type": "references"}]
    # the conductivity and activation energy name the property they come from
    for key, name in (("_ionbase_ionic_conductivity_25c", "ionic_conductivity"), ("_ionbase_activation_energy", "activation_energy")):
        if a[key] is not None:
            prop = seeded_store.properties.get(a[key + "_property"])
            assert prop["name"] == name and prop["value"] == a[key] and prop["sample"] == a["_ionbase_sample_id"]


def test_filter_and_sort_on_conductivity_at_25c(seed_client, seeded_store):
    body = _get(seed_client, "/structures?filter=_ionbase_ionic_conductivity_25c > 1e-4&sort=-_ionbase_ionic_conductivity_25c&page_limit=100")
    values = [d["attributes"]["_ionbase_ionic_conductivity_25c"] for d in body["data"]]
    assert values and all(v > 1e-4 for v in values) and values == sorted(values, reverse=True)
    for d in body["data"]:
        prop = seeded_store.properties.get(d["attributes"]["_ionbase_ionic_conductivity_25c_property"])
        assert prop["temperature_c"] == pytest.approx(25.0) and prop["unit"] == "S/cm"


def test_paging_response_fields_and_references(seed_client):
    everything = _get(seed_client, "/structures?page_limit=100")
    total = everything["meta"]["data_available"]
    seen, url = [], BASE + "/structures?page_limit=7&response_fields=nelements"
    while url:
        r = seed_client.get(url)
        body = r.get_json()
        seen += [d["id"] for d in body["data"]]
        assert all(set(d["attributes"]) == {"nelements"} for d in body["data"])
        nxt = body["links"]["next"]
        url = f"{urlsplit(nxt).path}?{urlsplit(nxt).query}" if nxt else None
    assert len(seen) == len(set(seen)) == total
    ref = _get(seed_client, "/references/doi-10.1039-d5mh01361e")["data"]
    assert ref["attributes"]["doi"] == "10.1039/d5mh01361e" and ref["attributes"]["url"] == "https://doi.org/10.1039/d5mh01361e"
    info = _get(seed_client, "/info/structures")["data"]["properties"]
    assert info["_ionbase_ionic_conductivity_25c"]["unit"] == "S/cm" and info["_ionbase_activation_energy"]["unit"] == "eV"
    assert info["_ionbase_crystallite_size_nm"]["unit"] == "nm" and "elements" in info
    assert seed_client.get("/optimade/versions").get_data(as_text=True) == "version\n1\n"
    assert _get(seed_client, "/info")["data"]["attributes"]["api_version"] == "1.2.0"
    assert seed_client.get("/optimade/info").status_code == 200  # unversioned base


@pytest.mark.parametrize("path, status, text", [
    ("/structures?filtr=nelements=2", 400, "unknown query parameter(s) 'filtr'"),
    ("/structures?filter=nelements=", 400, "syntax error"),
    ("/structures?filter=crazyfield=2", 400, "unknown field 'crazyfield'"),
    ("/structures?sort=elements", 400, "'elements' is not sortable"),
    ("/structures?page_limit=100000", 403, "above the maximum"),
    ("/structures?response_format=xml", 400, "response_format 'xml'"),
    ("/structures/nope-p0", 404, "no structure with id 'nope-p0'"),
    ("/structures?page_cursor=abc", 400, "page_cursor is not supported"),
])
def test_errors_are_optimade_error_documents(seed_client, path, status, text):
    body = _get(seed_client, path, status)
    (err,) = body["errors"]
    assert err["status"] == str(status) and text in err["detail"], err
    assert body["meta"]["api_version"] == "1.2.0"


def test_contains_matches_literal_text(seed_client):
    body = _get(seed_client, '/structures?filter=_ionbase_phase_name CONTAINS "(P2_1/n)"&page_limit=100')
    assert len(body["data"]) >= 6 and all("(P2_1/n)" in d["attributes"]["_ionbase_phase_name"] for d in body["data"])
    assert _get(seed_client, '/structures?filter=chemical_formula_descriptive STARTS WITH "Na2.9"')["data"]
    assert _get(seed_client, '/structures?filter=chemical_formula_descriptive STARTS WITH "Na2x9"')["data"] == []
    assert _get(seed_client, '/structures?filter=chemical_formula_descriptive CONTAINS "Na2.9In."')["data"] == []


def test_other_providers_fields_are_unknown_not_errors(seed_client):
    body = _get(seed_client, "/structures?filter=_exmpl_x=2&_exmpl_param=1")
    assert body["data"] == []
    assert _get(seed_client, "/structures?filter=_exmpl_x IS UNKNOWN&page_limit=1")["data"]


def test_a_cif_imported_structure_has_sites_species_and_masses(store, app_client_for, tmp_path):
    shutil.copy(INSTRUMENT / "Mg3AsN_partial.cif", tmp_path / "Mg3AsN_partial.cif")
    (tmp_path / "lab.yaml").write_text("source: {notebook: NB-CIF}\nsamples:\n  - {label: M1, material: Mg3AsN}\n"
                                       "structures:\n  - {sample: M1, method: xrd_rietveld, cif: Mg3AsN_partial.cif}\n")
    Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])
    (entry,) = _get(app_client_for(store), "/structures")["data"]
    a = entry["attributes"]
    assert a["nsites"] == 5 and len(a["cartesian_site_positions"]) == 5 and len(a["species_at_sites"]) == 5
    mixed = next(s for s in a["species"] if len(s["chemical_symbols"]) == 2)
    assert dict(zip(mixed["chemical_symbols"], mixed["concentration"])) == {"Li": 0.03, "Mg": 0.97}
    assert mixed["mass"] == pytest.approx([6.941, 24.305], abs=1e-3)
    assert a["species_at_sites"].count(mixed["name"]) == 3 and a["structure_features"] == ["disorder"]
    assert a["chemical_formula_reduced"] == "As100Li9Mg291N100" and a["elements"] == ["As", "Li", "Mg", "N"]
    assert sum(a["elements_ratios"]) == pytest.approx(1.0)
    # Mg on the face centres: (0, 1/2, 1/2) and equivalents, a = 4.2307 Å
    assert sorted(round(sum(p), 5) for p in a["cartesian_site_positions"]) == [0.0, 4.2307, 4.2307, 4.2307, 6.34605]
