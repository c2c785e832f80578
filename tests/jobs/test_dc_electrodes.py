"""DC polarization and steady-state I-V values follow the recorded electrode type (cell ``blocking``).

With ion-blocking electrodes (Au|SE|Au) ions cannot cross the electrode, so at steady state only
electrons carry current: t_e = Iss/I0, t_ion = (I0 - Iss)/I0, and the I-V slope is the electronic
conductance. With non-blocking Li|SE|Li electrodes Li+ crosses freely, Iss is the cation current
limited by concentration polarisation and interfaces (Bruce-Vincent), and the I-V slope is the ionic
(total) conductance. A value whose meaning needs the other electrode type is never derived.
"""

from __future__ import annotations

import pytest
import yaml

from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.jobs.runner import run_jobs

#: Li|SE|Li, 10 mV: Bruce-Vincent t+ = Iss (dV - I0 R0) / (I0 (dV - Iss Rss)) = 8e-6 * 9e-3 / (1e-5 * 9.04e-3)
T_PLUS = 8e-6 * (10e-3 - 10e-6 * 100) / (10e-6 * (10e-3 - 8e-6 * 120))
BV = {"applied_voltage": "10 mV", "initial_current": "10 µA", "steady_state_current": "8 µA",
      "initial_resistance": "100 ohm", "steady_state_resistance": "120 ohm"}
#: 500 µm, 1 cm², 10 nA per volt: sigma_e = dI/dV * L / A = 1e-8 S * 0.05 cm / 1 cm² = 5e-10 S/cm
IV_BLOCKING = [{"voltage": f"{v} V", "current": f"{v * 1e-8:.3g} A"} for v in (0.1, 0.2, 0.3, 0.4)]
#: Li|SE|Li, 1 mS per volt: the slope is the Li+ (total) conductance, 5e-5 S/cm if read as sigma_e
IV_REVERSIBLE = [{"voltage": f"{v} V", "current": f"{v * 1e-3:.3g} A"} for v in (0.01, 0.02, 0.03, 0.04)]
GEOMETRY = {"thickness": "500 µm", "area": "1 cm**2"}


def _measurement(sample: str, kind: str, cell: dict, **payload) -> dict:
    return {"sample": sample, "kind": kind, "label": f"{kind} {sample}", "temperature": "25 °C", "method": "DC",
            "cell": cell, **payload}


def _import(store, tmp_path) -> None:
    samples = ["Li-BV", "Au-CA", "Li-IV", "Au-IV", "unknown-CA"]
    doc = {
        "source": {"notebook": "NB-DC-ELECTRODES"},
        "materials": [{"key": "LPSC", "formula": "Li6PS5Cl", "family": "sulfide"}],
        "samples": [{"label": s, "material": "LPSC"} for s in samples],
        "measurements": [
            _measurement("Li-BV", "dc_polarization", {"electrodes": "Li|SE|Li", "blocking": "none"}, **BV),
            # same currents and resistances, ion-blocking Au: Iss is electronic, 0.5 µA of 10 µA
            _measurement("Au-CA", "dc_polarization", {"electrodes": "Au|SE|Au", "blocking": "ion"},
                         **{**BV, "steady_state_current": "0.5 µA"}),
            _measurement("Li-IV", "iv_steady_state", {"electrodes": "Li|SE|Li", "blocking": "none", **GEOMETRY},
                         points=IV_REVERSIBLE),
            _measurement("Au-IV", "iv_steady_state", {"electrodes": "Au|SE|Au", "blocking": "ion", **GEOMETRY},
                         points=IV_BLOCKING),
            _measurement("unknown-CA", "dc_polarization", {"electrodes": "SS|SE|SS"}, **BV),
        ],
    }
    (tmp_path / "dc.yaml").write_text(yaml.safe_dump(doc, sort_keys=False, allow_unicode=True))
    Importer(store, ImportOptions()).run([tmp_path / "dc.yaml"])


def _dc_props(store, label: str) -> dict[str, dict]:
    props = store.db.properties.find({"sample_label": label, "origin": "derived", "provenance.job": "dc"})
    return {p["name"]: p for p in props}


def _errors(result: dict) -> dict[str, str]:
    return {e["item"]: e["error"] for e in result["errors"] if e["job"] == "dc"}


@pytest.fixture()
def dc_run(store, settings, tmp_path):
    _import(store, tmp_path)
    return run_jobs(store, settings, job_names=["dc"])


def test_reversible_cell_gives_bruce_vincent_only(store, dc_run):
    props = _dc_props(store, "Li-BV")
    assert set(props) == {"cation_transference_number"}, "t_ion = (I0-Iss)/I0 = 0.20 is not a Li|SE|Li quantity"
    t = props["cation_transference_number"]
    assert t["value"] == pytest.approx(T_PLUS, rel=1e-9) and t["value"] == pytest.approx(0.796, abs=5e-4)
    par = t["provenance"]["parameters"]
    assert par["blocking"] == "none" and par["electrodes"] == "Li|SE|Li"
    assert "ion-blocking" in par["not_derived"]["ionic_transport_number"]
    assert "ion-blocking" in par["not_derived"]["electronic_transport_number"]


def test_ion_blocking_cell_gives_transport_numbers_only(store, dc_run):
    props = _dc_props(store, "Au-CA")
    assert set(props) == {"ionic_transport_number", "electronic_transport_number"}
    assert props["ionic_transport_number"]["value"] == pytest.approx(0.95, rel=1e-12)
    assert props["electronic_transport_number"]["value"] == pytest.approx(0.05, rel=1e-9)
    why = props["ionic_transport_number"]["provenance"]["parameters"]["not_derived"]["cation_transference_number"]
    assert "non-blocking" in why and "ion-blocking" in why


def test_iv_slope_is_electronic_only_with_ion_blocking_electrodes(store, dc_run):
    sigma = _dc_props(store, "Au-IV")["electronic_conductivity"]
    assert sigma["value"] == pytest.approx(5e-10, rel=1e-9)
    assert sigma["provenance"]["parameters"]["blocking"] == "ion"
    # the Li|SE|Li slope (5e-5 S/cm as sigma_e before) is the ionic conductance: not stored as electronic
    assert _dc_props(store, "Li-IV") == {}
    err = [e for e in _errors(dc_run).values() if "iv_steady_state" in e]
    assert len(err) == 1 and "electronic_conductivity" in err[0] and "non-blocking" in err[0]


def test_unknown_electrodes_derive_nothing_and_say_why(store, dc_run):
    assert _dc_props(store, "unknown-CA") == {}
    errors = _errors(dc_run)
    assert dc_run["jobs"]["dc"]["failed"] == 2 and dc_run["jobs"]["dc"]["computed"] == 3
    unknown = [e for e in errors.values() if "not recorded" in e]
    assert len(unknown) == 1
    assert "ionic_transport_number" in unknown[0] and "cation_transference_number" in unknown[0]
    state = store.db.job_items.find_one({"job": "dc", "state": "failed", "error": {"$regex": "not recorded"}})
    assert state is not None and state["outputs"] == []


def test_reversible_cell_without_interface_resistances_derives_nothing():
    """Li|SE|Li without R0 and Rss: Bruce-Vincent cannot be applied and Iss/I0 is not a transport number."""
    from ionbase.analysis.errors import InsufficientDataError
    from ionbase.jobs.dc import compute_dc

    inputs = {"kind": "dc_polarization", "temperature_k": 298.15, "method": "DC", "electrodes": "Li|SE|Li",
              "blocking": "none", "initial_current": [10e-6, 0.0], "steady_state_current": [8e-6, 0.0]}
    with pytest.raises(InsufficientDataError, match="R0 and Rss") as exc:
        compute_dc(inputs)
    assert "ionic_transport_number" in str(exc.value)


@pytest.mark.parametrize("blocking", ["electron", "mixed", None])
def test_electrode_requirement_refuses_other_electrodes(blocking):
    """Only ion-blocking cells give transport numbers and sigma_e; only reversible ones give t+."""
    from ionbase.analysis.dc import electrode_requirement

    assert electrode_requirement("ion_transport_number", "ion") is None
    assert electrode_requirement("electronic_conductivity", "ion") is None
    assert electrode_requirement("bruce_vincent", "none") is None
    for analysis in ("ion_transport_number", "electronic_conductivity", "bruce_vincent"):
        why = electrode_requirement(analysis, blocking)
        assert why and ("not recorded" in why) == (blocking is None)
