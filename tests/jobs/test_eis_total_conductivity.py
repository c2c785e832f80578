"""Total ionic conductivity from impedance spectra with known truth, through the importer, the job and the CLI.

The spectra (tests/data/eis/synthetic/, written by make_spectra.py from the circuit equations with
0.3 % noise and a fixed seed) are plain instrument CSVs imported with a measurement record giving
the pellet thickness and area. Truth: R_total = R_series + every bulk and grain-boundary arc.
"""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs
from ionbase.service.commands.analysis_cmds import eis

SYNTH = Path(__file__).resolve().parents[1] / "data" / "eis" / "synthetic"
_spec = importlib.util.spec_from_file_location("make_spectra", SYNTH / "make_spectra.py")
make_spectra = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(make_spectra)
TRUTH = make_spectra.TRUTH


def _truth(name: str) -> dict:
    t = TRUTH[name]
    length, area = t["thickness_um"] * 1e-4, t["area_cm2"]
    r_bulk, r_gb = t["arcs"][0][0], t["arcs"][1][0]
    r_total = t["r_series"] + r_bulk + r_gb
    return {"L": length, "A": area, "r_total": r_total, "r_bulk": r_bulk, "r_gb": r_gb,
            "sigma_total": length / (area * r_total), "sigma_bulk": length / (area * r_bulk), "sigma_gb": length / (area * r_gb)}


def _import(store, tmp_path, circuit: dict[str, str] | None = None, approximate_thickness: bool = False):
    circuit = circuit or {}
    thickness = {name: f"{TRUTH[name]['thickness_um']} µm" for name in TRUTH}
    if approximate_thickness:
        thickness = {name: {"value": TRUTH[name]["thickness_um"], "unit": "µm", "qualifier": "approximate"} for name in TRUTH}
    for name in TRUTH:
        shutil.copy(SYNTH / f"{name}.csv", tmp_path / f"{name}.csv")
    doc = {
        "source": {"notebook": "NB-EIS-SYNTH"},
        "materials": [{"key": "LPSC", "formula": "Li6PS5Cl", "family": "sulfide"}],
        "samples": [{"label": name, "material": "LPSC"} for name in TRUTH],
        "measurements": [{
            "sample": name, "kind": "impedance_spectrum", "label": f"EIS {name}", "temperature": "25 °C",
            "file": f"{name}.csv",
            "cell": {"electrodes": "Au|SE|Au", "blocking": "ion", "thickness": thickness[name],
                     "area": f"{TRUTH[name]['area_cm2']} cm**2"},
            **({"circuit": circuit[name]} if name in circuit else {}),
        } for name in TRUTH],
    }
    (tmp_path / "lab.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    Importer(store, ImportOptions()).run([tmp_path / "lab.yaml"])


def _eis_props(store, label: str) -> dict[str, dict]:
    props = store.db.properties.find({"sample_label": label, "origin": "derived", "provenance.job": "eis"})
    return {p["name"]: p for p in props}


def _cli(name: str, *extra: str) -> tuple[dict, str]:
    t = _truth(name)
    args = ["fit", str(SYNTH / f"{name}.csv"), "--thickness-cm", repr(t["L"]), "--area-cm2", repr(t["A"]), *extra]
    as_json = CliRunner().invoke(eis, [*args, "--json"])
    text = CliRunner().invoke(eis, args)
    assert as_json.exit_code == 0 and text.exit_code == 0, as_json.output + text.output
    return json.loads(as_json.output)["resistances"], text.output


def test_bulk_arc_beyond_window_total_includes_r0(store, settings, tmp_path):
    """(a) bulk arc far above 1 MHz: R0 carries it; one grain-boundary arc; blocking spike."""
    _import(store, tmp_path)
    result = run_jobs(store, settings, job_names=["eis"])
    assert result["failed"] == 0, result["errors"]
    t, props = _truth("bulk_beyond_window"), _eis_props(store, "bulk_beyond_window")
    sigma = props["ionic_conductivity"]
    assert sigma["value"] == pytest.approx(t["sigma_total"], rel=0.03)
    # the old answer L/(A R_gb) is 1.4x the truth: the check above tells them apart
    assert t["sigma_gb"] / sigma["value"] > 1.35
    assert props["total_resistance"]["value"] == pytest.approx(t["r_total"], rel=0.03)
    assert props["grain_boundary_resistance"]["value"] == pytest.approx(t["r_gb"], rel=0.03)
    assert props["grain_boundary_conductivity"]["value"] == pytest.approx(t["sigma_gb"], rel=0.03)
    assert "bulk_conductivity" not in props and "bulk_resistance" not in props and "bulk_capacitance" not in props
    # uncertainty propagated from the fit (covariance of R0 and R1) and stated provenance
    assert 0 < sigma["uncertainty"] < 0.01 * sigma["value"]
    par = sigma["provenance"]["parameters"]
    assert par["R_total_elements"] == ["R0", "R1"] and par["R_ohm"] == pytest.approx(t["r_total"], rel=0.03)
    assert par["thickness_cm"] == pytest.approx(t["L"]) and par["area_cm2"] == pytest.approx(t["A"])
    arcs = {a["element"]: a["assignment"] for a in par["resistance_model"]["arcs"]}
    assert arcs == {"p(R1,CPE1)": "grain_boundary", "CPE2": "electrode"}
    assert "carries the bulk resistance" in par["resistance_model"]["roles"]["R0"]
    assert par["quality"]["flagged"] is False and sigma.get("qualifier") is None
    # the CLI prints the same numbers
    cli, text = _cli("bulk_beyond_window")
    assert cli["sigma_total"]["sigma_S_per_cm"] == pytest.approx(sigma["value"], rel=1e-9)
    assert cli["sigma_total"]["stderr_S_per_cm"] == pytest.approx(sigma["uncertainty"], rel=1e-6)
    assert cli["total"]["value_ohm"] == pytest.approx(props["total_resistance"]["value"], rel=1e-9)
    assert cli["sigma_bulk"] is None
    assert f"{sigma['value']:.6g}" in text and "sigma_bulk" not in text
    assert f"{props['total_resistance']['value']:.6g}" in text


def test_resolved_bulk_and_grain_boundary_arcs(store, settings, tmp_path):
    """(b) bulk (28 pF) and grain-boundary (3 nF) arcs inside 7 MHz - 0.1 Hz, blocking spike."""
    _import(store, tmp_path)
    assert run_jobs(store, settings, job_names=["eis"])["failed"] == 0
    t, props = _truth("bulk_resolved"), _eis_props(store, "bulk_resolved")
    assert props["ionic_conductivity"]["value"] == pytest.approx(t["sigma_total"], rel=0.03)
    assert props["bulk_conductivity"]["value"] == pytest.approx(t["sigma_bulk"], rel=0.03)
    assert props["grain_boundary_conductivity"]["value"] == pytest.approx(t["sigma_gb"], rel=0.03)
    assert props["bulk_resistance"]["value"] == pytest.approx(t["r_bulk"], rel=0.03)
    assert props["total_resistance"]["value"] == pytest.approx(t["r_total"], rel=0.03)
    assert props["bulk_capacitance"]["value"] == pytest.approx(TRUTH["bulk_resolved"]["arcs"][0][1], rel=0.1)
    par = props["ionic_conductivity"]["provenance"]["parameters"]
    assert par["R_total_elements"] == ["R0", "R1", "R2"]
    assert {a["element"]: a["assignment"] for a in par["resistance_model"]["arcs"]} == {
        "p(R1,CPE1)": "bulk", "p(R2,CPE2)": "grain_boundary", "CPE3": "electrode"}
    assert props["bulk_conductivity"]["provenance"]["parameters"]["R_ohm"] == pytest.approx(props["bulk_resistance"]["value"])
    cli, text = _cli("bulk_resolved")
    for key, name in (("sigma_total", "ionic_conductivity"), ("sigma_bulk", "bulk_conductivity"),
                      ("sigma_grain_boundary", "grain_boundary_conductivity")):
        assert cli[key]["sigma_S_per_cm"] == pytest.approx(props[name]["value"], rel=1e-9)
        assert f"{props[name]['value']:.6g}" in text


def test_poor_fit_is_flagged_not_stored_as_fine(store, settings, tmp_path):
    """A one-arc circuit forced on the two-arc spectrum fits badly: every value says so."""
    _import(store, tmp_path, circuit={"bulk_resolved": "R0-p(R1,CPE1)-CPE2"})
    assert run_jobs(store, settings, job_names=["eis"])["failed"] == 0
    props = _eis_props(store, "bulk_resolved")
    assert props, "values are stored, flagged"
    for p in props.values():
        q = p["provenance"]["parameters"]["quality"]
        assert q["flagged"] is True and any("residual" in r for r in q["reasons"])
        assert p["qualifier"] == "approximate" and p["notes"].startswith("poor fit: circuit fit RMS relative residual")
        assert p["flags"] == ["poor_fit"]  # the same flag the Arrhenius job sets: `flags HAS "poor_fit"` finds both
    _, text = _cli("bulk_resolved", "--circuit", "R0-p(R1,CPE1)-CPE2")
    assert "POOR FIT" in text
    # the good spectrum of the same batch is not flagged
    good = _eis_props(store, "bulk_beyond_window")["ionic_conductivity"]
    assert good["provenance"]["parameters"]["quality"]["flagged"] is False and not good.get("flags")


def test_approximate_geometry_makes_sigma_approximate(store, settings, tmp_path):
    """A pellet thickness given as approximate: sigma = L/(A R) says so; the resistances do not change."""
    _import(store, tmp_path, approximate_thickness=True)
    assert run_jobs(store, settings, job_names=["eis"])["failed"] == 0
    props = _eis_props(store, "bulk_resolved")
    t = _truth("bulk_resolved")
    sigma = props["ionic_conductivity"]
    assert sigma["value"] == pytest.approx(t["sigma_total"], rel=0.03)
    assert sigma["qualifier"] == "approximate"
    assert sigma["provenance"]["parameters"]["geometry_qualifiers"] == {"thickness": "approximate"}
    assert props["total_resistance"].get("qualifier") in (None, "exact")
