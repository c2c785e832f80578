"""A record may name what an earlier, committed batch stored: a material by formula, a parent
sample (its route is prepended), the sample of a property. The adapters resolve them through the
store's typed collections (ingest/adapt_samples.py)."""

from __future__ import annotations

import textwrap

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions


def _import(store, path, **opts):
    return Importer(store, ImportOptions(**opts)).run([path])


def _write(path, text):
    path.write_text(textwrap.dedent(text))
    return path


def test_parent_material_and_sample_resolved_from_a_committed_batch(store, tmp_path):
    first = _write(tmp_path / "first.yaml", """\
        source: {doi: 10.1/resolve}
        samples:
          - label: P
            material: Mg3AsN
            steps:
              - {type: ball_milling, rpm: 300, duration: "12 h"}
        """)
    assert _import(store, first).status == "committed"
    parent = store.samples.find_one({"label": "P"})
    material_ids = {m["_id"] for m in store.materials.find({})}

    second = _write(tmp_path / "second.yaml", """\
        source: {doi: 10.1/resolve}
        samples:
          - label: C
            parent: P
            material: Mg3AsN
            steps:
              - {type: annealing, temperature: "600 °C", duration: "12 h"}
        properties:
          - {sample: P, name: ionic_conductivity, value: "2.5e-4 S/cm", conditions: {temperature: "25 °C"}}
        """)
    report = _import(store, second)
    assert report.status == "committed"
    child = store.samples.find_one({"label": "C"})
    assert child["parent"] == parent["_id"]
    # the material named by formula is the one the first batch stored, not a second document
    assert child["material"] == parent["material"] and {m["_id"] for m in store.materials.find({})} == material_ids
    route = store.routes.get(child["route"])
    assert [s["type"] for s in route["steps"]] == ["ball_milling", "annealing"]
    assert route["steps"][0]["params"]["rpm"] == pytest.approx(300.0)
    prop = store.properties.find_one({"sample": parent["_id"], "name": "ionic_conductivity"})
    assert prop["value"] == pytest.approx(2.5e-4)


def test_unknown_parent_is_refused_naming_the_field(store, tmp_path):
    bad = _write(tmp_path / "orphan.yaml", """\
        source: {doi: 10.1/resolve-missing}
        samples:
          - {label: C, parent: NOPE, material: Mg3AsN}
        """)
    with pytest.raises(ImportFailed) as err:
        _import(store, bad)
    [issue] = err.value.issues
    assert "parent sample 'NOPE' not found" in issue.message and issue.field.endswith(".parent")
