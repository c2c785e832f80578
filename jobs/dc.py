"""The ``dc`` job: DC polarization and steady-state I-V values the recorded electrode type supports.

Which quantity a DC measurement gives depends on its electrodes (``cell.blocking``, see
``analysis.dc.electrode_requirement``): transport numbers t_ion = (I0 - Iss)/I0, t_e = Iss/I0 and the
electronic conductivity from a steady-state I-V slope only with ion-blocking electrodes; the
Bruce-Vincent cation transference number only with non-blocking (reversible) electrodes. A value
whose meaning needs another (or an unrecorded) electrode type is not derived; why is recorded.
"""

from __future__ import annotations

from typing import Any, Iterable

from ionbase.jobs.items import Item, cell_geometry, sample_filter, temperature_conditions


def select_dc(store, sample_ids: list[str] | None) -> Iterable:
    """DC polarizations with I0 and Iss, and I-V series of >= 3 points with the pellet geometry."""
    query = {"kind": {"$in": ["dc_polarization", "iv_steady_state"]}, **sample_filter(sample_ids)}
    for m in store.measurements.find(query, sort=[("_id", 1)]):
        p = m.get("payload") or {}
        cell = m.get("cell") or {}
        inputs: dict[str, Any] = {"kind": m["kind"], "temperature_k": (m.get("temperature") or {}).get("value"),
                                  "method": m.get("method"), "electrodes": cell.get("electrodes"),
                                  "blocking": cell.get("blocking"), **cell_geometry(cell)}
        if m["kind"] == "dc_polarization":
            if not (p.get("initial_current") and p.get("steady_state_current")):
                continue
            for key in ("applied_voltage", "initial_current", "steady_state_current", "initial_resistance", "steady_state_resistance"):
                if p.get(key):
                    inputs[key] = [p[key]["value"], p[key].get("uncertainty") or 0.0]
        else:
            pts = [pt for pt in p.get("points", []) if "voltage" in pt and "current" in pt]
            if len(pts) < 3 or "thickness_cm" not in inputs or "area_cm2" not in inputs:
                continue
            inputs["V"] = [pt["voltage"]["value"] for pt in pts]
            inputs["I"] = [pt["current"]["value"] for pt in pts]
        yield Item(id=m["_id"], sample=m["sample"], inputs=inputs, input_ids=[m["_id"]])


def _dc_polarization_outputs(inputs: dict, cond: dict, not_derived: dict[str, str]) -> list[dict]:
    """Transport numbers (ion-blocking electrodes only) and Bruce-Vincent t+ (reversible electrodes only)."""
    from ionbase.analysis.dc import bruce_vincent, electrode_requirement, ion_transport_number

    blocking = inputs.get("blocking")
    (i0, ui0), (iss, uiss) = inputs["initial_current"], inputs["steady_state_current"]
    params = {"I0_A": i0, "Iss_A": iss, "electrodes": inputs.get("electrodes"), "blocking": blocking}
    out = []
    why = electrode_requirement("ion_transport_number", blocking)
    if why is None:
        t = ion_transport_number(i0, iss, i0_stderr=ui0, iss_stderr=uiss)
        p = {**params, "equation": "t_ion = (I0 - Iss)/I0"}
        out.append({"name": "ionic_transport_number", "value": t.value, "uncertainty": t.stderr, "conditions": dict(cond), "parameters": p})
        out.append({"name": "electronic_transport_number", "value": 1 - t.value, "uncertainty": t.stderr, "conditions": dict(cond), "parameters": p})
    else:
        not_derived["ionic_transport_number"] = not_derived["electronic_transport_number"] = why
    has_bv = all(k in inputs for k in ("applied_voltage", "initial_resistance", "steady_state_resistance"))
    why = electrode_requirement("bruce_vincent", blocking)
    if why is None and has_bv:
        dv, r0, rss = inputs["applied_voltage"], inputs["initial_resistance"], inputs["steady_state_resistance"]
        bv = bruce_vincent(dv[0], i0, iss, r0[0], rss[0], delta_V_stderr=dv[1], i0_stderr=ui0, iss_stderr=uiss,
                           r0_stderr=r0[1], rss_stderr=rss[1])
        out.append({"name": "cation_transference_number", "value": bv.value, "uncertainty": bv.stderr,
                    "conditions": {**cond, "method": "Bruce-Vincent"},
                    "parameters": {**params, "dV_V": dv[0], "R0_ohm": r0[0], "Rss_ohm": rss[0],
                                   "equation": "t+ = Iss (dV - I0 R0)/(I0 (dV - Iss Rss))"}})
    elif why is None:
        not_derived["cation_transference_number"] = "Bruce-Vincent needs the applied voltage and the interfacial resistances R0 and Rss"
    elif has_bv:
        not_derived["cation_transference_number"] = why
    return out


def _iv_outputs(inputs: dict, cond: dict, not_derived: dict[str, str]) -> list[dict]:
    """Electronic conductivity from the steady-state I-V slope, with ion-blocking electrodes only."""
    from ionbase.analysis.dc import electrode_requirement, electronic_conductivity

    why = electrode_requirement("electronic_conductivity", inputs.get("blocking"))
    if why is not None:
        not_derived["electronic_conductivity"] = why
        return []
    res = electronic_conductivity(inputs["V"], inputs["I"], inputs["thickness_cm"], inputs["area_cm2"],
                                  thickness_stderr=inputs.get("thickness_stderr", 0.0), area_stderr=inputs.get("area_stderr", 0.0))
    return [{"name": "electronic_conductivity", "value": res.sigma_e_S_per_cm, "uncertainty": res.stderr_S_per_cm,
             "conditions": {**cond, "method": "steady-state I-V"},
             "parameters": {"dI_dV_S": res.conductance_S, "r2": res.r2, "n": res.n, "electrodes": inputs.get("electrodes"),
                            "blocking": inputs.get("blocking")}}]


def compute_dc(inputs: dict) -> list[dict]:
    """The DC values the recorded electrode type (cell ``blocking``) supports; never one that needs another.

    What is not derived, and why, is in each output's ``parameters.not_derived``; an item from which
    nothing can be derived fails with that reason (recorded in its job state and the run's errors).
    """
    from ionbase.analysis.errors import InsufficientDataError

    cond = {**temperature_conditions(inputs.get("temperature_k")), "method": inputs.get("method") or "DC polarization"}
    not_derived: dict[str, str] = {}
    outputs = _dc_polarization_outputs if inputs["kind"] == "dc_polarization" else _iv_outputs
    out = outputs(inputs, cond, not_derived)
    if not out:
        reasons = "; ".join(f"{name}: {why}" for name, why in not_derived.items())
        raise InsufficientDataError(f"nothing derived from this {inputs['kind']} measurement: {reasons}")
    if not_derived:
        for o in out:
            o["parameters"] = {**o["parameters"], "not_derived": dict(not_derived)}
    return out
