"""What the Arrhenius fit's inputs were (reviewer's imp2 and tests/data/export/trust.yaml), through the
real importer, job runner and export:

- a fit over approximate points ("~0.18 mS/cm") or range midpoints is itself approximate, flagged
  ``approximate_inputs`` and names those points;
- one conductivity stated at two source locations (figure 3a and table 2 at 50 °C) is one point of a
  pooled series, not two: the table's value (it states an uncertainty) is used, the figure's is listed
  as a duplicate left out.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import yaml

from ionbase.analysis.arrhenius import fit_arrhenius
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

TRUST = Path(__file__).parents[1] / "data" / "export" / "trust.yaml"


def derived(store, name: str) -> list[dict]:
    return list(store.db.properties.find({"name": name, "provenance.job": "arrhenius"}).sort("_id", 1))


def write_points(path: Path, values: dict[float, str]) -> Path:
    props = [{"sample": "Q-A", "name": "ionic_conductivity", "value": v, "conditions": {"temperature": f"{t} °C", "method": "EIS"},
              "source": {"table": "1"}} for t, v in values.items()]
    path.write_text(yaml.safe_dump({
        "ionbase_format": 1, "source": {"notebook": "REV-NB-2 p. 1"},
        "materials": [{"key": "LYC", "formula": "Li3YCl6", "family": "halide"}],
        "samples": [{"label": "Q-A", "material": "LYC"}], "properties": props}, allow_unicode=True, sort_keys=False))
    return path


def test_fit_over_approximate_and_range_points_is_approximate(store, settings, tmp_path, app_client_for):
    """25 / 40 °C plain, 60 °C "~0.18 mS/cm", 80 °C a range: Ea, prefactor and sigma(25 °C) are all
    approximate, flagged and name the two points (before: qualifier none, exported as "=")."""
    path = write_points(tmp_path / "q.yaml", {25: "0.031 mS/cm", 40: "0.072 mS/cm", 60: "~0.18 mS/cm", 80: "0.3-0.5 mS/cm"})
    Importer(store, ImportOptions()).run([path])
    result = run_jobs(store, settings, job_names=["arrhenius"])
    assert result["failed"] == 0, result["errors"]
    inexact = {p["_id"]: p["qualifier"] for p in store.db.properties.find({"name": "ionic_conductivity", "qualifier": {"$in": ["approximate", "range"]}})}
    assert sorted(inexact.values()) == ["approximate", "range"]
    outputs = derived(store, "activation_energy") + derived(store, "conductivity_prefactor")
    assert len(outputs) == 2
    for o in outputs:
        assert o["qualifier"] == "approximate" and "approximate_inputs" in o["flags"], o
        named = {a["property"]: a["qualifier"] for a in o["provenance"]["parameters"]["approximate_inputs"]}
        assert named == inexact
    assert derived(store, "ionic_conductivity") == []  # 25 °C measured: no sigma(25 °C) is derived
    rows = [json.loads(line) for line in app_client_for(store).get("/api/v1/export", query_string={"format": "jsonl"}).data.splitlines()]
    quals = {r.get("conductivity_prefactor_qualifier") for r in rows if r.get("conductivity_prefactor_S_per_cm") is not None}
    assert quals == {"~"}


def test_sigma_25c_of_an_approximate_series_is_approximate(store, settings, tmp_path):
    """Interpolated sigma(25 °C) from a series with one approximate point is approximate too."""
    path = write_points(tmp_path / "q.yaml", {20: "0.02 mS/cm", 40: "0.072 mS/cm", 60: "~0.18 mS/cm"})
    Importer(store, ImportOptions()).run([path])
    run_jobs(store, settings, job_names=["arrhenius"])
    (s25,) = derived(store, "ionic_conductivity")
    assert s25["qualifier"] == "approximate" and s25["conditions"]["method"] == "Arrhenius interpolation"
    assert "approximate_inputs" in s25["flags"] and "approximate" in s25["notes"]


def test_one_value_stated_twice_is_one_point(store, settings, tmp_path):
    """trust.yaml: 50 °C from figure 3a (4.0e-5) and from table 2 (4.2e-5 +- 0.3e-5). The fit uses four
    points, the table's at 50 °C, and lists the figure's as a duplicate (before: five points, 50 °C twice)."""
    shutil.copy(TRUST, tmp_path / "trust.yaml")
    Importer(store, ImportOptions()).run([tmp_path / "trust.yaml"])
    result = run_jobs(store, settings, job_names=["arrhenius"])
    assert result["failed"] == 0, result["errors"]
    (ea,) = derived(store, "activation_energy")
    params = ea["provenance"]["parameters"]
    pts = {p["source"].get("figure") or "table " + p["source"]["table"]: p
           for p in store.db.properties.find({"name": "ionic_conductivity", "origin": "reported", "sample_label": "T-A",
                                               "temperature_k": pytest.approx(323.15, abs=0.01).expected})}
    table, figure = pts["table 2"], pts["3a"]
    used = [p["property"] for p in params["points"]]
    assert params["n"] == 4 and len(used) == 4 and table["_id"] in used and figure["_id"] not in used
    assert params["duplicates"] == [{"property": figure["_id"], "temperature_k": pytest.approx(323.15), "value": 4.0e-5,
                                     "used_instead": table["_id"], "source": {"figure": "3a"}}]
    assert sorted(ea["provenance"]["inputs"]) == sorted(used + [figure["_id"]])  # the choice depends on both
    fit = fit_arrhenius([p["temperature_k"] for p in params["points"]], [p["value"] for p in params["points"]])
    assert ea["value"] == pytest.approx(fit.Ea_eV, rel=1e-12)
    assert "qualifier" not in ea or ea["qualifier"] in (None, "exact")
    assert "inconsistent_duplicates" not in (ea.get("flags") or []), "4.0e-5 and 4.2(3)e-5 agree: one point"


def test_two_statements_of_a_point_that_disagree_flag_the_fit(store, settings, tmp_path):
    """The same 50 °C point stated as 4.0e-5 in table 1 and 9.0e-5 in figure 2: the fit uses one of
    them (the table's, which states an uncertainty) and says it rests on that choice."""
    path = write_points(tmp_path / "q.yaml", {25: "1.0e-5 S/cm", 50: {"value": 4.0e-5, "uncertainty": 0.2e-5, "unit": "S/cm"},
                                              75: "1.3e-4 S/cm", 100: "3.6e-4 S/cm"})
    doc = yaml.safe_load(path.read_text())
    doc["properties"].append({"sample": "Q-A", "name": "ionic_conductivity", "value": "9.0e-5 S/cm",
                              "conditions": {"temperature": "50 °C", "method": "EIS"}, "source": {"figure": "2"}})
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False))
    Importer(store, ImportOptions()).run([path])
    assert run_jobs(store, settings, job_names=["arrhenius"])["failed"] == 0
    for ea in derived(store, "activation_energy") + derived(store, "conductivity_prefactor"):
        assert "inconsistent_duplicates" in ea["flags"], ea["flags"]
        (dup,) = ea["provenance"]["parameters"]["duplicates"]
        assert dup["value"] == 9.0e-5 and dup["disagrees"] is True
        assert ea["provenance"]["parameters"]["inconsistent_duplicates"] == [dup["property"]]
