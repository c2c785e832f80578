"""A batch that changes a sample derives again, in the same batch, what the store copied from it
(ingest/cascade.py): the routes of its descendants imported earlier and the ``synthesis`` of every
property of theirs and its own that the batch does not import itself.

Until 2026-12-03 each copy was made only when its own record was imported: importing a parent again
with its anneal fixed left a child imported earlier "annealed at 873 °C" (or with an unknown route),
and the properties of both with the old synthesis, with no error. Each test here failed on that code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ionbase.errors import ImportConflict
from ionbase.ingest import cascade
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.store.rollback import rollback
from tests.ingest.workbook import table_writer

HEAD = "# notebook: NB-CASCADE\n"
STEPS_HEAD = "sample,step,type,duration (h),temperature (°C)\n"


_write = table_writer(HEAD)


def _import(store, paths, **opts):
    return Importer(store, ImportOptions(**opts)).run(paths)


def _by_label(store) -> dict[str, dict]:
    return {s["label"]: s for s in store.samples.find()}


def _synthesis(store) -> dict[str, dict | None]:
    return {p["sample_label"]: p.get("synthesis") for p in store.properties.find()}


def _family(tmp_path: Path, anneal_c: int) -> list[Path]:
    """A1 annealed at ``anneal_c``; its tables only (samples, steps)."""
    return [_write(tmp_path, "a_samples.csv", "label,formula\nA1,Na3InCl6\n"),
            _write(tmp_path, "a_steps.csv", STEPS_HEAD + f"A1,1,annealing,2,{anneal_c}\n")]


def _descendants(tmp_path: Path) -> list[Path]:
    """C2 (milled 2 h, child of A1) and G2 (pressed, child of C2), a conductivity of each and of A1."""
    return [_write(tmp_path, "c_samples.csv", "label,formula,parent\nC2,Na3InCl6,A1\nG2,Na3InCl6,C2\n"),
            _write(tmp_path, "c_steps.csv", "sample,step,type,duration (h)\nC2,1,ball_milling,2\nG2,1,cold_pressing,\n"),
            _write(tmp_path, "props.csv", "sample,property,value,unit,temperature (°C)\n"
                                          "A1,ionic_conductivity,0.5,mS/cm,25\nC2,ionic_conductivity,0.6,mS/cm,25\n"
                                          "G2,ionic_conductivity,0.7,mS/cm,25\n")]


def test_a_parent_imported_again_changes_the_routes_and_synthesis_imported_before(store, settings, tmp_path):
    assert not _import(store, _family(tmp_path, 873) + _descendants(tmp_path)).errors
    assert {k: v["max_anneal_c"] for k, v in _synthesis(store).items()} == {"A1": 873.0, "C2": 873.0, "G2": 873.0}
    report = _import(store, _family(tmp_path, 700))  # the anneal corrected; the descendants' files not given
    assert not report.errors
    assert report.rederived == {"samples_read": 2, "samples": 2, "properties": 3}
    assert report.counts["samples"] == {"new": 0, "changed": 3, "unchanged": 0}
    smp = _by_label(store)
    routes = {r["_id"]: r for r in store.routes.find()}
    assert [(s["type"], s["params"].get("temperature")) for s in routes[smp["G2"]["route"]]["steps"]] == [
        ("annealing", 973.15), ("ball_milling", None), ("cold_pressing", None)]
    for label in ("A1", "C2", "G2"):
        assert smp[label]["summary"]["max_anneal_c"] == 700.0, label
        assert _synthesis(store)[label]["max_anneal_c"] == 700.0, label
    assert [s["type"] for s in smp["G2"]["own_steps"]] == ["cold_pressing"]  # as entered, unchanged
    from ionbase.service.app import create_app

    client = create_app(settings, store=store).test_client()
    got = client.get("/api/v1/properties", query_string={"filter": "max_anneal_c<=750"}).get_json()
    assert sorted(p["sample_label"] for p in got["data"]) == ["A1", "C2", "G2"]  # none matched: 873 °C
    # importing the descendants' own files again now finds nothing to change (the same documents)
    again = _import(store, _family(tmp_path, 700) + _descendants(tmp_path))
    assert again.counts["total"]["changed"] == 0 and again.counts["total"]["new"] == 0
    assert again.rederived == {"samples_read": 0, "samples": 0, "properties": 0}


def test_rolling_the_batch_back_restores_the_routes_it_derived_again(store, tmp_path):
    assert not _import(store, _family(tmp_path, 873) + _descendants(tmp_path)).errors
    before = {s["label"]: (s["route"], s["content_hash"]) for s in store.samples.find()}
    props_before = _synthesis(store)
    report = _import(store, _family(tmp_path, 700))
    assert {k: v["max_anneal_c"] for k, v in _synthesis(store).items()} == {"A1": 700.0, "C2": 700.0, "G2": 700.0}
    rollback(store, report.batch_id)
    assert {s["label"]: (s["route"], s["content_hash"]) for s in store.samples.find()} == before
    assert _synthesis(store) == props_before


def test_a_fixed_steps_row_makes_the_route_known_again_but_not_where_a_sample_own_row_was_refused(store, tmp_path):
    """P1's anneal row refused: P1, C1 (child) and D1 (child, its own milling row refused too) unknown,
    and their properties claimed "0 steps" (``n_steps: 0``). P1 fixed: C1 known, D1 still unknown."""
    samples = _write(tmp_path, "samples.csv", "label,formula,parent\nP1,Na3InCl6,\nC1,Na3InCl6,P1\nD1,Na3InCl6,P1\n")
    steps = _write(tmp_path, "steps.csv", STEPS_HEAD + "P1,1,annealing,1,hot\nC1,1,ball_milling,2,\nD1,1,ball_milling,x,\n")
    props = _write(tmp_path, "props.csv", "sample,property,value,unit,temperature (°C)\n"
                                          "P1,ionic_conductivity,0.5,mS/cm,25\nC1,ionic_conductivity,0.6,mS/cm,25\n"
                                          "D1,ionic_conductivity,0.7,mS/cm,25\n")
    report = _import(store, [samples, steps, props], skip_invalid=True, rejected_dir=tmp_path / "rejects")
    assert sorted((e.row, e.field) for e in report.errors) == [(3, "temperature"), (5, "duration")]
    assert _synthesis(store) == {"P1": None, "C1": None, "D1": None}  # unknown: no "n_steps 0"
    assert {k: v.get("steps_refused") for k, v in _by_label(store).items()} == {"P1": True, "C1": False, "D1": True}
    fixed = [_write(tmp_path, "p_samples.csv", "label,formula\nP1,Na3InCl6\n"),
             _write(tmp_path, "p_steps.csv", STEPS_HEAD + "P1,1,annealing,1,600\n")]
    assert not _import(store, fixed).errors
    smp = _by_label(store)
    assert "route_unknown" not in smp["P1"] and "route_unknown" not in smp["C1"]
    assert smp["C1"]["summary"]["milled"] is True and smp["C1"]["summary"]["max_anneal_c"] == 600.0
    assert smp["D1"]["route_unknown"] is True and smp["D1"]["summary"] == {}
    syn = _synthesis(store)
    assert syn["C1"]["step_types"] == ["annealing", "ball_milling"] and syn["D1"] is None


def test_under_a_parent_the_batch_refuses_the_descendants_stay_as_stored(store, tmp_path):
    """A1 imported again with the anneal changed but a parent no one defines (refused, --skip-invalid):
    C2 and G2 stay as stored (as A1 does), with no error of their own; a new child of C2 in the same
    batch is built from C2 as stored."""
    assert not _import(store, _family(tmp_path, 873) + _descendants(tmp_path)).errors
    before = {s["label"]: s["content_hash"] for s in store.samples.find()}
    files = [_write(tmp_path, "a_samples.csv", "label,formula,parent\nA1,Na3InCl6,ZZ\nN3,Na3InCl6,C2\n"),
             _write(tmp_path, "a_steps.csv", STEPS_HEAD + "A1,1,annealing,2,700\nN3,1,cold_pressing,,\n")]
    report = _import(store, files, skip_invalid=True, rejected_dir=tmp_path / "rejects")
    assert [(e.row, e.field) for e in report.errors] == [(3, "parent")], report.errors
    smp = _by_label(store)
    assert {k: smp[k]["content_hash"] for k in before} == before
    assert smp["N3"]["summary"]["max_anneal_c"] == 873.0 and smp["N3"]["summary"]["n_steps"] == 3


def test_a_material_imported_again_changes_the_copies_of_its_samples_and_properties(store, tmp_path):
    def record(family: str) -> dict:
        return {"ionbase_format": 1, "source": {"notebook": "NB-MAT"},
                "materials": [{"key": "M", "formula": "Na3InCl6", "family": family}],
                "samples": [{"label": "S1", "material": "M"}]}

    first = tmp_path / "first.yaml"
    first.write_text(yaml.safe_dump({**record("halide"), "properties": [
        {"sample": "S1", "name": "ionic_conductivity", "value": 0.5, "unit": "mS/cm", "conditions": {"temperature": "25 °C"}}]}))
    assert not _import(store, [first]).errors
    assert [p["family"] for p in store.properties.find()] == ["halide"]
    second = tmp_path / "second.yaml"
    second.write_text(yaml.safe_dump(record("other")))
    report = _import(store, [second])
    assert not report.errors and report.rederived["properties"] == 1
    assert [s["family"] for s in store.samples.find()] == ["other"]
    assert [p["family"] for p in store.properties.find()] == ["other"]


def test_a_copy_changed_by_another_import_meanwhile_refuses_the_batch(store, tmp_path, monkeypatch):
    """The property re-derived from the version read; another import changes it before the writer holds
    it: writing would undo that change, so the import is refused and nothing of it is visible."""
    assert not _import(store, _family(tmp_path, 873) + _descendants(tmp_path)).errors
    original = cascade.rederive_properties

    def then_changed_elsewhere(bp, materials):
        n = original(bp, materials)
        store.db.properties.update_one({"sample_label": "C2"}, {"$set": {"value": 0.0009, "content_hash": "elsewhere"}})
        return n

    monkeypatch.setattr(cascade, "rederive_properties", then_changed_elsewhere)
    with pytest.raises(ImportConflict, match="changed or removed by another import"):
        _import(store, _family(tmp_path, 700))
    assert {k: v["max_anneal_c"] for k, v in _synthesis(store).items()} == {"A1": 873.0, "C2": 873.0, "G2": 873.0}
    assert {s["summary"]["max_anneal_c"] for s in store.samples.find()} == {873.0}
    assert [p["value"] for p in store.properties.find({"sample_label": "C2"})] == [0.0009]


def _during_the_pass_of_next_import(monkeypatch, run) -> None:
    """Run ``run()`` once, inside the next import's pass, after it has read what it builds from."""
    original = cascade.rederive_properties

    def hook(bp, materials):
        monkeypatch.setattr(cascade, "rederive_properties", original)
        n = original(bp, materials)
        run()
        return n

    monkeypatch.setattr(cascade, "rederive_properties", hook)


def _new_child_and_property_of_c2(tmp_path: Path) -> list[Path]:
    return [_write(tmp_path, "n_samples.csv", "label,formula,parent\nN3,Na3InCl6,C2\n"),
            _write(tmp_path, "n_steps.csv", "sample,step,type,duration (h)\nN3,1,ball_milling,1\n"),
            _write(tmp_path, "n_props.csv", "sample,property,value,unit,temperature (°C)\nC2,ionic_conductivity,0.9,mS/cm,30\n")]


def test_a_child_added_by_another_import_while_the_route_is_derived_again_refuses_the_batch(store, tmp_path, monkeypatch):
    """While the fix of A1 derives C2 again, another import adds a child of C2 and a property of C2,
    built from C2 as stored (873 °C): they would have kept 873 °C once the fix committed (review,
    2026-12-03). The fix is refused instead; run again, it derives them too."""
    assert not _import(store, _family(tmp_path, 873) + _descendants(tmp_path)).errors
    other = tmp_path / "other"
    other.mkdir()
    _during_the_pass_of_next_import(monkeypatch, lambda: _import(store, _new_child_and_property_of_c2(other)))
    with pytest.raises(ImportConflict, match="children of sample .* changed while this import derived them again"):
        _import(store, _family(tmp_path, 700))
    assert {s["summary"]["max_anneal_c"] for s in store.samples.find()} == {873.0}
    assert {p["synthesis"]["max_anneal_c"] for p in store.properties.find()} == {873.0}
    report = _import(store, _family(tmp_path, 700))
    assert report.rederived["samples"] == 3 and report.rederived["properties"] == 4
    assert {s["summary"]["max_anneal_c"] for s in store.samples.find()} == {700.0}
    assert {p["synthesis"]["max_anneal_c"] for p in store.properties.find()} == {700.0}


def test_an_import_built_on_a_sample_another_import_changed_meanwhile_is_refused(store, tmp_path, monkeypatch):
    """The child of C2 and the property of C2 are built from C2 as stored (873 °C); the fix of A1
    commits before they do: they would read 873 °C under a parent at 700 °C. Refused instead."""
    assert not _import(store, _family(tmp_path, 873) + _descendants(tmp_path)).errors
    fix = tmp_path / "fix"
    fix.mkdir()
    _during_the_pass_of_next_import(monkeypatch, lambda: _import(store, _family(fix, 700)))
    with pytest.raises(ImportConflict, match="copy from .* was changed or removed by another import meanwhile"):
        _import(store, _new_child_and_property_of_c2(tmp_path))
    assert store.samples.find_one({"label": "N3"}) is None
    assert {s["summary"]["max_anneal_c"] for s in store.samples.find()} == {700.0}
    assert not _import(store, _new_child_and_property_of_c2(tmp_path)).errors
    assert {p["synthesis"]["max_anneal_c"] for p in store.properties.find()} == {700.0}
    assert _by_label(store)["N3"]["summary"]["max_anneal_c"] == 700.0


def test_a_table_that_names_a_material_by_formula_alone_keeps_what_another_table_declared(store, tmp_path):
    """A colleague's samples table with only label and formula re-declared the material without its
    family: the family was erased from the material, and (with the cascade) from every sample and
    property of it (review, 2026-12-03). A formula alone now refers to the committed material."""
    first = [_write(tmp_path, "fam.csv", "label,formula,family,series,x\nP1,Na3InCl6,halide,Na3-xInCl6,0.5\n"),
             _write(tmp_path, "fam_props.csv", "sample,property,value,unit,temperature (°C)\nP1,ionic_conductivity,0.5,mS/cm,25\n")]
    assert not _import(store, first).errors
    report = _import(store, [_write(tmp_path, "q.csv", "label,formula\nQ1,Na3InCl6\n")])
    assert not report.errors and report.counts["materials"]["changed"] == 0
    assert {s["label"]: s.get("family") for s in store.samples.find()} == {"P1": "halide", "Q1": "halide"}
    (prop,) = store.properties.find()
    assert (prop["family"], prop["series_name"], prop["series_value"]) == ("halide", "Na3-xInCl6", 0.5)
    assert _import(store, first).counts["total"]["changed"] == 0
    # a table that declares some of the material's fields keeps the others (it erased the family too)
    series_only = _write(tmp_path, "series.csv", "label,formula,series,x\nQ2,Na3InCl6,Na3-xInCl6,0.5\n")
    blank = _write(tmp_path, "blank.csv", "label,formula,family,series\nQ3,Na3InCl6,,Na3-xInCl6\n")
    for table in (series_only, blank):
        assert not _import(store, [table]).errors
        assert {s.get("family") for s in store.samples.find()} == {"halide"}, table.name
        assert store.materials.find_one({"formula": "Na3InCl6"})["series"]["nominal"] == 0.5
    assert _import(store, first).counts["total"]["changed"] == 0
    # a formula alone still creates the material when none is stored
    assert not _import(store, [_write(tmp_path, "new.csv", "label,formula\nL1,Li3YCl6\n")]).errors
    assert store.materials.find_one({"formula": "Li3YCl6"}) is not None


def test_a_parent_that_would_close_a_cycle_across_imports_is_refused(store, tmp_path):
    """B, then A (child of B), then B again as a child of A: it was accepted, B's route counting its own
    anneal twice (review, 2026-12-03)."""
    b = [_write(tmp_path, "b.csv", "label,formula\nB1,Na3InCl6\n"),
         _write(tmp_path, "b_steps.csv", STEPS_HEAD + "B1,1,annealing,2,500\n")]
    assert not _import(store, b).errors
    assert not _import(store, [_write(tmp_path, "a.csv", "label,formula,parent\nA1,Na3InCl6,B1\n")]).errors
    before = {s["label"]: s["content_hash"] for s in store.samples.find()}
    b[0] = _write(tmp_path, "b.csv", "label,formula,parent\nB1,Na3InCl6,A1\n")
    report = _import(store, b, skip_invalid=True, rejected_dir=tmp_path / "rejects")
    assert [(e.file, e.row, e.field) for e in report.errors] == [("b.csv", 3, "parent")], report.errors
    assert "cycle" in report.errors[0].message
    assert {s["label"]: s["content_hash"] for s in store.samples.find()} == before


def test_a_sample_stored_unknown_before_steps_refused_was_kept_stays_unknown(store, tmp_path):
    """Stored before 2026-12-03, a sample with an unknown route does not say whether its own steps were
    refused: when its parent's route becomes known, it stays unknown rather than read its own steps
    alone (a refused anneal read "never annealed"; review, 2026-12-03)."""
    samples = _write(tmp_path, "samples.csv", "label,formula,parent\nP1,Na3InCl6,\nD1,Na3InCl6,P1\n")
    steps = _write(tmp_path, "steps.csv", STEPS_HEAD + "P1,1,annealing,1,hot\nD1,1,annealing,1,warm\n")
    _import(store, [samples, steps], skip_invalid=True, rejected_dir=tmp_path / "rejects")
    store.db.samples.update_many({}, {"$unset": {"steps_refused": ""}})  # as stored by the earlier code
    fixed = [_write(tmp_path, "p_samples.csv", "label,formula\nP1,Na3InCl6\n"),
             _write(tmp_path, "p_steps.csv", STEPS_HEAD + "P1,1,ball_milling,4,\n")]
    assert not _import(store, fixed).errors
    smp = _by_label(store)
    assert "route_unknown" not in smp["P1"] and smp["D1"]["route_unknown"] is True and smp["D1"]["summary"] == {}
