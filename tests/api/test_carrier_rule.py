"""One carrier rule (schemas.carriers) for activation energies and prefactors, everywhere they are shown.

A stated (reported) activation energy may state its carrier with the ``carrier`` condition; an
unstated carrier, like a derived fit that records none, is unknown and never presented as ionic: not
in the export's and OPTIMADE's ionic fields, not among the sample Arrhenius view's ionic fits or
reported values (listed under ``carrier_unknown`` instead), not drawn as the ionic plot's line.

Real importer, Arrhenius job, embedded store and Flask test client.
"""

from __future__ import annotations

import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs
from ionbase.schemas.build_records import RecordError, build_property
from tests.api.test_optimade_carriers import STRUCTURE, _export_rows, _optimade, _series

LABELS = ("IONIC", "ELEC", "NONE", "FIT")


def _ea(sample: str, value: str, carrier: str | None) -> dict:
    cond = {"method": "EIS", **({"carrier": carrier} if carrier else {})}
    return {"sample": sample, "name": "activation_energy", "value": value, "conditions": cond}


@pytest.fixture()
def client(store, settings, tmp_path, app_client_for):
    """IONIC/ELEC/NONE: a reported Ea stating carrier ionic / electronic / nothing; FIT: an ionic series
    (Ea 0.30 eV) fitted by the job, plus (below, per test) a derived Ea that records no carrier."""
    doc = {
        "source": {"notebook": "NB-CARRIER-RULE"},
        "materials": [{"key": "MAN", "formula": "Mg3AsN", "family": "antiperovskite"}],
        "samples": [{"label": lab, "material": "MAN"} for lab in LABELS],
        "structures": [{"sample": lab, **STRUCTURE} for lab in LABELS],
        "measurements": [_series("FIT", "ionic", 1e-4, 0.30, [25, 50, 75, 100])],
        "properties": [_ea("IONIC", "0.41 eV", "ionic"), _ea("ELEC", "1.1 eV", "Electronic"), _ea("NONE", "0.52 eV", None)],
    }
    path = tmp_path / "rule.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    report = Importer(store, ImportOptions()).run([path])
    assert report.status == "committed", report
    assert run_jobs(store, settings, job_names=["arrhenius"])["failed"] == 0
    return app_client_for(store)


def _sid(client, label: str) -> str:
    return _optimade(client)[label]["_ionbase_sample_id"]


def test_a_reported_activation_energy_states_its_carrier(client, store):
    stored = {p["sample_label"]: p for p in store.db.properties.find({"name": "activation_energy", "origin": "reported"})}
    assert stored["IONIC"]["conditions"]["carrier"] == "ionic"
    assert stored["ELEC"]["conditions"]["carrier"] == "electronic", "stored in the vocabulary's spelling"
    assert "carrier" not in stored["NONE"]["conditions"], "unstated stays unknown, never filled in"


def test_export_and_optimade_take_only_a_stated_ionic_carrier(client):
    entries = _optimade(client)
    assert entries["IONIC"]["_ionbase_activation_energy"] == pytest.approx(0.41)
    assert entries["ELEC"]["_ionbase_activation_energy"] is None
    assert entries["NONE"]["_ionbase_activation_energy"] is None, "an unknown carrier is not presented as ionic"
    assert entries["FIT"]["_ionbase_activation_energy"] == pytest.approx(0.30, abs=2e-3)
    rows = {}
    for r in _export_rows(client):
        rows.setdefault(r["sample_label"], set()).add(r.get("activation_energy_eV"))
    assert rows["IONIC"] == {0.41}
    assert rows.get("ELEC", {None}) == {None} and rows.get("NONE", {None}) == {None}, "no row or an empty cell"


def test_sample_arrhenius_view_lists_an_unknown_carrier_as_unknown(client, store):
    """A derived fit without a recorded carrier was listed among the ionic fits; a reported one as ionic."""
    fit_sid = _sid(client, "FIT")
    store.db.properties.insert_one({
        "_id": "prop-test-ea-nocarrier", "sample": fit_sid, "name": "activation_energy", "value": 0.9, "unit": "eV",
        "origin": "derived", "stale": False, "provenance": {"job": "arrhenius", "parameters": {"form": "sigma"}}})
    for prop in ("ionic_conductivity", "electronic_conductivity", "total_conductivity"):
        body = client.get(f"/api/v1/samples/{fit_sid}/arrhenius", query_string={"property": prop}).get_json()
        fit_eas = [f["properties"]["activation_energy"]["id"] for f in body["fits"] if "activation_energy" in f["properties"]]
        assert "prop-test-ea-nocarrier" not in fit_eas, prop
        assert [p["id"] for p in body["carrier_unknown"]] == ["prop-test-ea-nocarrier"], prop
    ionic = client.get(f"/api/v1/samples/{fit_sid}/arrhenius", query_string={"property": "ionic_conductivity"}).get_json()
    assert [f["properties"]["activation_energy"]["value"] for f in ionic["fits"]] == [pytest.approx(0.30, abs=2e-3)]

    def view(label: str, prop: str) -> dict:
        r = client.get(f"/api/v1/samples/{_sid(client, label)}/arrhenius", query_string={"property": prop})
        assert r.status_code == 200
        return r.get_json()

    assert [p["value"] for p in view("IONIC", "ionic_conductivity")["reported"]] == [pytest.approx(0.41)]
    assert view("IONIC", "electronic_conductivity")["reported"] == []
    assert [p["value"] for p in view("ELEC", "electronic_conductivity")["reported"]] == [pytest.approx(1.1)]
    assert view("ELEC", "ionic_conductivity")["reported"] == [] and view("ELEC", "ionic_conductivity")["carrier_unknown"] == []
    none = view("NONE", "ionic_conductivity")
    assert none["reported"] == [] and [p["value"] for p in none["carrier_unknown"]] == [pytest.approx(0.52)]
    assert view("NONE", "bulk_conductivity")["carrier_unknown"] == [], "a property without carrier lists none"


def test_plot_draws_only_a_line_of_the_plotted_carrier(client, store):
    """The Arrhenius plot's line: a stated ionic Ea for the ionic plot; an unknown carrier draws nothing."""
    from ionbase.service.plots.views import _stored_fit

    points = [{"value": 1e-4, "temperature_k": 300.0}, {"value": 1e-3, "temperature_k": 360.0}]
    assert _stored_fit(store, _sid(client, "IONIC"), "ionic_conductivity", points)["Ea_eV"] == pytest.approx(0.41)
    assert _stored_fit(store, _sid(client, "IONIC"), "electronic_conductivity", points) is None
    assert _stored_fit(store, _sid(client, "ELEC"), "ionic_conductivity", points) is None
    assert _stored_fit(store, _sid(client, "ELEC"), "electronic_conductivity", points)["Ea_eV"] == pytest.approx(1.1)
    assert _stored_fit(store, _sid(client, "NONE"), "ionic_conductivity", points) is None
    fit_sid = _sid(client, "FIT")
    store.db.properties.delete_many({"sample": fit_sid, "name": "activation_energy"})
    store.db.properties.insert_one({
        "_id": "prop-test-ea-nocarrier", "sample": fit_sid, "name": "activation_energy", "value": 0.9, "unit": "eV",
        "origin": "derived", "stale": False, "provenance": {"job": "arrhenius", "parameters": {"form": "sigma", "prefactor": 10.0}}})
    assert _stored_fit(store, fit_sid, "ionic_conductivity", points) is None, "was drawn as the ionic fit"


@pytest.mark.parametrize("name,conditions,message", [
    ("activation_energy", {"carrier": "protonic"}, "carrier must be one of ['ionic', 'electronic', 'total']"),
    ("ionic_conductivity", {"carrier": "electronic", "temperature": "25 °C"}, "condition 'carrier' applies to"),
])
def test_a_wrong_carrier_is_refused_naming_the_field(name, conditions, message):
    value = "0.4 eV" if name == "activation_energy" else "1e-4 S/cm"
    with pytest.raises(RecordError) as err:
        build_property({"sample": "S1", "name": name, "value": value, "conditions": conditions}, {"notebook": "NB"})
    assert message in str(err.value) and "carrier" in err.value.field


def test_vocabulary_lists_the_carrier_condition():
    from click.testing import CliRunner

    from ionbase.service.cli import main

    res = CliRunner().invoke(main, ["vocab", "--json"])
    assert res.exit_code == 0, res.output
    import json

    assert "ionic" in json.dumps(json.loads(res.stdout)["conditions"]["carrier"])


def test_stating_the_carrier_later_updates_the_value_instead_of_adding_one(store, tmp_path):
    """An activation energy imported before the carrier condition existed, imported again with
    ``carrier: ionic``: the same property (its id leaves ``carrier`` out), now ionic; a second copy
    would have stayed beside it as an unknown-carrier value. Two values of one sample that differ
    only in carrier are refused, naming what tells two properties apart."""
    def run(*props: dict) -> None:
        doc = {"source": {"notebook": "NB-CARRIER-ID"},
               "materials": [{"key": "MAN", "formula": "Mg3AsN", "family": "antiperovskite"}],
               "samples": [{"label": "S", "material": "MAN"}], "properties": list(props)}
        (tmp_path / "id.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
        Importer(store, ImportOptions()).run([tmp_path / "id.yaml"])

    run(_ea("S", "0.41 eV", None))
    (first,) = store.db.properties.find({"name": "activation_energy"})
    run(_ea("S", "0.41 eV", "ionic"))
    (again,) = store.db.properties.find({"name": "activation_energy"})
    assert again["_id"] == first["_id"] and again["conditions"]["carrier"] == "ionic"
    from ionbase.ingest.errors import ImportFailed

    with pytest.raises(ImportFailed) as err:
        run(_ea("S", "0.41 eV", "ionic"), _ea("S", "1.1 eV", "electronic"))
    assert "duplicate natural key" in str(err.value) and "not 'carrier'" in str(err.value)
    electronic = {**_ea("S", "1.1 eV", "electronic"), "conditions": {"method": "DC", "carrier": "electronic"}}
    run(_ea("S", "0.41 eV", "ionic"), electronic)
    assert sorted(p["value"] for p in store.db.properties.find({"name": "activation_energy"})) == [0.41, 1.1]
