"""One declaration of every document (schemas.documents): each document is validated against it
before it is written, through every builder (the importer) and every job (the runner).

A malformed document is injected after each builder / into each job's output; it must be refused
before it reaches the store (documents counted on the embedded store before and after) with an
error naming the document id and the field.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
import uuid

import pytest
import yaml

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import COLLECTIONS, Importer, ImportOptions
from ionbase.jobs import definitions
from ionbase.jobs.runner import run_jobs
from ionbase.schemas import build as B
from ionbase.schemas.validate import DocumentError, validate_document
from tests.conftest import FIXTURES

LAB = FIXTURES / "lab" / "roundtrip.yaml"


def _property() -> dict:
    return {
        "_id": "prop-0123456789abcdef", "sample": "smp-1", "name": "ionic_conductivity", "value": 1.2e-4,
        "uncertainty": 1e-6, "unit": "S/cm", "entered": {"text": "0.12 mS/cm"},
        "conditions": {"temperature_k": 298.15, "temperature_c": 25.0, "method": "EIS"},
        "temperature_k": 298.15, "temperature_c": 25.0, "origin": "measured", "source": {"notebook": "NB-1"},
        "sample_label": "S1", "material_id": "mat-1", "formula": "Na3InCl6", "reduced_formula": "Na3InCl6",
        "elements": ["Cl", "In", "Na"], "nelements": 3, "family": "halide",
        "synthesis": {"step_types": ["ball_milling"], "n_steps": 1, "milled": True, "annealed": False,
                      "milling_time_h": 4.0, "max_rpm": 500.0, "anneal_ceiling_c": 25.0},
        "content_hash": "abc", "batch_id": "imp-1", "updated_at": dt.datetime(2026, 1, 1),
        "_sample_ref": "S1",  # a builder's scratch key: never stored, not checked
    }


def test_valid_property_passes():
    validate_document("properties", _property())


MALFORMED = [
    ({"value": "1.2e-4"}, "value", "expected number, got str"),  # mongoengine would coerce it; the dict stores a string
    ({"value": float("nan")}, "value", "finite"),
    ({"value": None}, "value", "required"),
    ({"name": "conductivity_magic"}, "name", "is not one of"),
    ({"qualifier": "roughly"}, "qualifier", "is not one of"),
    ({"uncertainty": -1e-6}, "uncertainty", "negative"),
    ({"nelements": True}, "nelements", "expected int, got bool"),
    ({"flags": ["bad_fit"]}, "flags[0]", "is not one of"),
    ({"elements": "Na"}, "elements", "expected a list"),
    ({"colour": "blue"}, "colour", "undeclared field"),
    ({"synthesis": {"milling_time_h": "4 h"}}, "synthesis.milling_time_h", "expected number"),
    ({"synthesis": {"milled": 1}}, "synthesis.milled", "expected bool"),
    ({"conditions": {1: "x"}}, "conditions", "string keys"),
    ({"updated_at": "2026-01-01"}, "updated_at", "expected datetime"),
]


@pytest.mark.parametrize("change, field, words", MALFORMED)
def test_malformed_property_refused_naming_id_and_field(change, field, words):
    doc = {**_property(), **change}
    with pytest.raises(DocumentError) as err:
        validate_document("properties", doc)
    assert err.value.field == field
    assert "prop-0123456789abcdef" in str(err.value) and words in str(err.value)


def test_embedded_validators_run():
    """Site.validate (species occupancies) and Phase's space-group range come from schemas.documents."""
    phase = {"name": "NIC", "space_group_number": 14, "sites": [{"label": "Na1", "species": {"Na": 0.8}}]}
    doc = {"_id": "str-1", "sample": "smp-1", "label": "XRD", "method": "xrd_rietveld", "phases": [phase]}
    validate_document("structures", doc)
    bad = {**doc, "phases": [{**phase, "sites": [{"label": "Na1", "species": {"Na": 1.4}}]}]}
    with pytest.raises(DocumentError, match="occupancy must be in") as err:
        validate_document("structures", bad)
    assert err.value.field == "phases[0].sites[0]"
    with pytest.raises(DocumentError) as err:
        validate_document("structures", {**doc, "phases": [{**phase, "space_group_number": 231}]})
    assert err.value.field == "phases[0].space_group_number"


def test_fast_path_refuses_what_the_walk_refuses():
    """schemas.validate's compiled fast path (_ok_document) and the walk with messages
    (_check_document) refuse the same malformed documents and pass the same valid ones."""
    from ionbase.schemas.validate import DOCUMENT_CLASSES, _check_document, _Invalid, _ok_document

    def walk_ok(coll: str, doc: dict) -> bool:
        try:
            _check_document(DOCUMENT_CLASSES[coll], doc)
        except _Invalid:
            return False
        return True

    phase = {"name": "NIC", "space_group_number": 14, "sites": [{"label": "Na1", "species": {"Na": 0.8}}]}
    structure = {"_id": "str-1", "sample": "smp-1", "label": "XRD", "method": "xrd_rietveld", "phases": [phase]}
    valid = [("properties", {k: v for k, v in _property().items() if k != "_sample_ref"}), ("structures", structure)]
    malformed = [("properties", {k: v for k, v in {**_property(), **change}.items() if k != "_sample_ref"})
                 for change, _field, _words in MALFORMED]
    malformed += [("structures", {**structure, "phases": [{**phase, "sites": [{"label": "Na1", "species": {"Na": 1.4}}]}]}),
                  ("structures", {**structure, "phases": [{**phase, "space_group_number": 231}]}),
                  ("structures", {**structure, "phases": [None]}), ("structures", {**structure, "phases": "NIC"})]
    for coll, doc in valid:
        assert _ok_document(DOCUMENT_CLASSES[coll], doc) and walk_ok(coll, doc)
    for coll, doc in malformed:
        assert not _ok_document(DOCUMENT_CLASSES[coll], doc) and not walk_ok(coll, doc), doc


def test_nested_number_check_agrees_with_its_walk():
    """schemas.ranges: the quick scan (_suspect) finds a problem exactly when the walk with
    messages (_walk) does: non-finite floats at any depth, in arrays, and nesting too deep."""
    import random

    from ionbase.schemas.ranges import MAX_DEPTH, _suspect, _walk

    rng = random.Random(5)
    leaves = [1, "s", None, True, 2.5, float("nan"), float("-inf"), [], {}, [1.0, 2.0], [1.0, float("nan")]]

    def nested(depth: int):
        r = rng.random()
        if r < 0.3 or depth > MAX_DEPTH + 3:
            return rng.choice(leaves)
        if r < 0.65:
            return {f"k{i}": nested(depth + 1) for i in range(rng.randint(0, 3))}
        return [nested(depth + 1) for _ in range(rng.randint(0, 3))]

    def chain(n: int, leaf):
        for i in range(n):
            leaf = {"a": leaf} if i % 2 else [leaf, "x"]
        return leaf

    cases = [nested(0) for _ in range(1500)]
    cases += [chain(n, leaf) for n in range(MAX_DEPTH - 2, MAX_DEPTH + 3) for leaf in leaves]
    found = [_suspect(c) for c in cases]
    assert any(found) and not all(found)
    assert found == [next(_walk(c, ""), None) is not None for c in cases]


def test_validation_cost_per_property():
    """Measured on the shared 2-core machine: about 50-100 µs per property document (mongoengine's
    ``Property._from_son(doc).validate()`` cost 280-370 µs there, and coerces numeric strings)."""
    doc = _property()
    n = 2000
    t0 = time.perf_counter()
    for _ in range(n):
        validate_document("properties", doc)
    per_doc = (time.perf_counter() - t0) / n
    print(f"validate_document(properties): {per_doc * 1e6:.0f} µs/doc")
    assert per_doc < 1e-3  # generous: a shared 2-core machine


# ------------------------------------------------------------------ builders, through the importer

def _counts(db) -> dict[str, int]:
    return {c: db[c].count_documents({}) for c in COLLECTIONS}


def _corrupt(monkeypatch, name: str, change) -> None:
    """Wrap builder ``name`` of schemas.build (what the importer calls) so its output is malformed."""
    original = getattr(B, name)

    def wrapped(*args, **kwargs):
        out = original(*args, **kwargs)
        change(out)
        return out

    monkeypatch.setattr(B, name, wrapped)


def _set_first_phase_sg(out):
    out["phases"][0]["space_group_number"] = 231


def _set_chunk(chunks):
    for c in chunks:
        c["chunk"] = -1


# builder -> (how its output is corrupted, collection, field named in the error)
BUILDERS = {
    "build_property": (lambda d: d.update(qualifier="roughly"), "properties", "qualifier"),
    "build_measurement": (lambda d: d.update(method=["EIS"]), "measurements", "method"),
    "chunk_arrays": (_set_chunk, "measurement_arrays", "chunk"),
    "build_structure": (_set_first_phase_sg, "structures", "phases[0].space_group_number"),
}
# the documents the importer assembles itself from checked records: a failure refuses the batch
ASSEMBLED = {
    "build_material": (lambda d: d.update(family="martian"), "materials", "family"),
    "build_sample": (lambda d: d.update(tags="annealed"), "samples", "tags"),
    "build_route": (lambda d: d["summary"].update(milling_time_h="12 h"), "routes", "summary.milling_time_h"),
}


@pytest.mark.parametrize("builder", sorted(BUILDERS))
def test_malformed_record_document_refused(store, monkeypatch, tmp_path, builder):
    change, coll, field = BUILDERS[builder]
    _corrupt(monkeypatch, builder, change)
    before = _counts(store.db)
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run([LAB])
    assert _counts(store.db) == before
    issues = [i for i in err.value.issues if i.field == field]
    assert issues and all(f"{coll} document " in i.message for i in issues), err.value.issues
    assert issues[0].file == LAB.name and issues[0].row is not None
    # skipping invalid records: everything else is written, never the malformed document
    report = Importer(store, ImportOptions(skip_invalid=True, rejected_dir=str(tmp_path))).run([LAB])
    assert report.status == "committed"
    assert store.db.samples.count_documents({}) > 0
    assert store.db[coll].count_documents({}) == before[coll] + report.counts[coll]["new"]
    for doc in store.db[coll].find():
        validate_document(coll, doc)


@pytest.mark.parametrize("builder", sorted(ASSEMBLED))
def test_malformed_assembled_document_refuses_batch(store, monkeypatch, builder):
    change, coll, field = ASSEMBLED[builder]
    _corrupt(monkeypatch, builder, change)
    before = _counts(store.db)
    for options in (ImportOptions(), ImportOptions(skip_invalid=True)):
        with pytest.raises(ImportFailed) as err:
            Importer(store, options).run([LAB])
        assert _counts(store.db) == before
        (issue,) = err.value.issues
        assert issue.field == field and issue.message.startswith(f"{coll} document ") and issue.file == LAB.name


# ------------------------------------------------------------------ jobs, through the runner

#: one item for every job: a refined structure (crystallography), an impedance spectrum with its cell
#: (eis), a DC polarization (dc), a cycling run (cycling), a conductivity series (arrhenius)
JOB_RECORDS = {
    "source": {"doi": "10.1000/validation-test"},
    "materials": [{"key": "NIC", "formula": "Na3InCl6", "family": "halide"}],
    "samples": [{"label": "A", "material": "NIC", "steps": [{"type": "ball_milling", "rpm": 500, "duration": "10 h"}]}],
    "structures": [{"sample": "A", "method": "xrd_rietveld", "phases": [
        {"name": "NIC", "formula": "Na3InCl6", "z": 2, "space_group": {"symbol": "P21/n", "number": 14},
         "lattice": {"a": "6.40 Å", "b": "6.75 Å", "c": "9.61 Å", "beta": "91.4 degree"}}]}],
    "measurements": [
        {"sample": "A", "kind": "impedance_spectrum", "label": "EIS 25 C", "temperature": "25 °C",
         "cell": {"electrodes": "Au|SE|Au", "blocking": "ion", "thickness": "500 µm", "area": "0.785 cm**2"},
         "frequency": [1e6, 1e5, 1e4, 1e3, 100.0, 10.0, 1.0],
         "z_real": [102.0, 180.0, 900.0, 1500.0, 1610.0, 1700.0, 1900.0],
         "z_imag": [-10.0, -300.0, -600.0, -200.0, -150.0, -400.0, -1200.0]},
        {"sample": "A", "kind": "dc_polarization", "label": "DC 0.1 V", "temperature": "25 °C",
         "applied_voltage": "0.1 V", "initial_current": "10 µA", "steady_state_current": "0.2 µA"},
        {"sample": "A", "kind": "galvanostatic_cycling", "label": "Na|SE|Na", "current_density": "0.1 mA/cm**2",
         "cycles": [{"cycle": 1, "discharge_capacity": "100 mA*h/g", "charge_capacity": "101 mA*h/g"},
                    {"cycle": 2, "discharge_capacity": "99 mA*h/g", "charge_capacity": "100 mA*h/g"}]},
        {"sample": "A", "kind": "conductivity_series", "label": "sigma(T)", "carrier": "ionic", "method": "EIS",
         "points": [{"temperature": f"{t} °C", "conductivity": f"{c} mS/cm"} for t, c in ((25, 0.1), (40, 0.2), (60, 0.5))]},
    ],
}


@pytest.fixture(scope="module")
def seeded(base_settings, server_uri, tmp_path_factory):
    from ionbase.store import open_store

    path = tmp_path_factory.mktemp("validation") / "jobs.yaml"
    path.write_text(yaml.safe_dump(JOB_RECORDS, allow_unicode=True), encoding="utf-8")
    s = base_settings.with_(mongodb_uri=server_uri, db_name=f"val_{uuid.uuid4().hex[:8]}", workers=1)
    st = open_store(s)
    Importer(st, ImportOptions()).run([path])
    yield st, s
    st.client.drop_database(s.db_name)
    st.client.close()


# job -> (a malformed output beside a good one, the field named in the error)
JOB_OUTPUTS = {
    "crystallography": ({"name": "cell_volume", "value": 100.0, "qualifier": "roughly"}, "qualifier"),
    "eis": ({"name": "total_resistance", "value": 100.0, "uncertainty": -1.0}, "uncertainty"),
    "dc": ({"name": "ionic_transport_number", "value": 0.99, "notes": 3.5}, "notes"),
    "cycling": ({"name": "capacity_retention", "value": 95.0, "conditions": {"temperature_c": "25"}}, "temperature_c"),
    "arrhenius": ({"name": "activation_energy", "value": 0.4, "conditions": {"temperature_k": "298.15"}}, "temperature_k"),
}


@pytest.mark.parametrize("job", sorted(JOB_OUTPUTS))
def test_malformed_job_output_refused(seeded, monkeypatch, job):
    store, settings = seeded
    bad, field = JOB_OUTPUTS[job]
    good = {"name": bad["name"], "value": bad["value"], "conditions": {"method": "test"}}
    monkeypatch.setitem(definitions.JOBS, job, dataclasses.replace(definitions.JOBS[job], compute=lambda inputs: [good, bad]))
    before = _counts(store.db)
    old = store.db.properties.count_documents({"provenance.job": job})  # a failed recompute removes them
    run = run_jobs(store, settings, [job], force=True)
    result = run["jobs"][job]
    assert result["items"] > 0, f"seed_data gives the {job} job nothing to compute: the test would prove nothing"
    assert result["failed"] == result["items"] and result["computed"] == 0 and result["written"] == 0
    # not even the good output of an item with a bad one reached the store
    assert store.db.properties.count_documents({"provenance.run_id": run["run_id"]}) == 0
    assert _counts(store.db) == {**before, "properties": before["properties"] - old}
    states = list(store.db.job_items.find({"job": job}))
    assert len(states) == result["items"]
    for st in states:
        assert st["state"] == "failed" and st["outputs"] == []
        assert st["error"].startswith(f"DocumentError: {field}: properties document prop-"), st["error"]


def test_unknown_property_name_from_a_job_refused(seeded, monkeypatch):
    store, settings = seeded
    monkeypatch.setitem(definitions.JOBS, "crystallography", dataclasses.replace(
        definitions.JOBS["crystallography"], compute=lambda inputs: [{"name": "conductivity_magic", "value": 1.0}]))
    before = _counts(store.db)
    old = store.db.properties.count_documents({"provenance.job": "crystallography"})
    result = run_jobs(store, settings, ["crystallography"], force=True)["jobs"]["crystallography"]
    assert result["items"] > 0 and result["failed"] == result["items"]
    assert _counts(store.db) == {**before, "properties": before["properties"] - old}
    assert all("conductivity_magic" in s["error"] for s in store.db.job_items.find({"job": "crystallography"}))
