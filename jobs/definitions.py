"""Analysis jobs: what each selects from the store and the pure function that computes it.

A job's ``select`` reads the store and returns items whose ``inputs`` are plain data (numbers,
lists, strings). Its ``compute`` is a module-level pure function of those inputs, so it can run in
a process pool or on a Dask worker, and it returns property values (name, value, uncertainty,
conditions, parameters) that the runner turns into Property documents with provenance.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Iterable

from ionbase.jobs.dc import compute_dc, select_dc  # the DC job (electrode-type dependent)
from ionbase.jobs.items import Item, cell_geometry, sample_filter, temperature_conditions
from ionbase.schemas.priority import priority
from ionbase.schemas.units import to_celsius

#: properties written by jobs that other jobs must not read back as inputs
CONDUCTIVITY_NAMES = {"ionic_conductivity": "ionic", "total_conductivity": "total", "electronic_conductivity": "electronic"}


@dataclass(frozen=True)
class Job:
    name: str
    version: str
    description: str
    writes: tuple[str, ...]
    select: Callable[[Any, list[str] | None], Iterable[Item]]
    compute: Callable[[dict], list[dict]]
    functions: tuple[str, ...] = field(default=())


# ----------------------------------------------------------------------------- Arrhenius


#: where a conductivity point came from, for the Arrhenius series key
#: (whole sub-documents: the embedded store returns dotted projections flat)
_ARRHENIUS_FIELDS = {"_id": 1, "sample": 1, "name": 1, "value": 1, "uncertainty": 1, "temperature_k": 1, "qualifier": 1,
                     "origin": 1, "measurement": 1, "conditions": 1, "source": 1, "provenance": 1, "flags": 1}

#: qualifiers of a conductivity that is not a plain value ("~0.18 mS/cm", the midpoint of "0.1-0.3"):
#: a fit over any such point is itself approximate (compute_arrhenius)
INEXACT_QUALIFIERS = ("approximate", "range")


def _measurement_cells(store, props: list[dict]) -> dict[str, tuple[str, str]]:
    """Measurement id -> cell configuration (electrodes, blocking) for EIS-derived points."""
    ids = sorted({i for p in props if p.get("origin") == "derived" for i in (p.get("provenance") or {}).get("inputs", [])})
    out: dict[str, tuple[str, str]] = {}
    for start in range(0, len(ids), 1000):
        for m in store.measurements.including_pending().find({"_id": {"$in": ids[start : start + 1000]}}, {"_id": 1, "cell": 1}):
            cell = m.get("cell") or {}
            out[m["_id"]] = (cell.get("electrodes") or "", cell.get("blocking") or "")
    return out


def _series_key(p: dict, cells: dict[str, tuple[str, str]]) -> tuple | None:
    """The series a conductivity point belongs to; None when it belongs to none.

    - ``("measurement", id)``: points of one measurement (a ``conductivity_series``) are one series.
    - ``("eis", method, electrodes, blocking)``: conductivities the ``eis`` job derived from spectra
      (one measurement per temperature) form a series per method and cell configuration.
    - ``("pooled", method, cell)``: loose reported/measured points are pooled per method and cell
      (the ``cell`` condition, "" when not stated); a point without a method is pooled with nothing.
    A series is fitted only with >= 3 distinct temperatures (select_arrhenius).
    """
    cond = p.get("conditions") or {}
    method = cond.get("method")
    if p.get("origin") == "derived":
        meas = [i for i in (p.get("provenance") or {}).get("inputs", []) if i in cells]
        if len(meas) != 1:
            return None
        return ("eis", method or "EIS", *cells[meas[0]])
    if p.get("measurement"):
        return ("measurement", p["measurement"])
    if not method:
        return None
    return ("pooled", method, cond.get("cell") or "")


def _series_item_id(sample: str, name: str, key: tuple) -> str:
    """A deterministic, readable item id per (sample, property, series)."""
    from ionbase.schemas.build import stable_hash

    tail = key[1] if key[0] == "measurement" else stable_hash(list(key), 12)
    return f"{sample}:{name}:{key[0]}:{tail}"


def _series_description(key: tuple) -> dict:
    if key[0] == "measurement":
        return {"kind": "measurement", "measurement": key[1]}
    if key[0] == "eis":
        return {"kind": "eis", "method": key[1], "electrodes": key[2] or None, "blocking": key[3] or None}
    return {"kind": "pooled", "method": key[1], "cell": key[2] or None}


def one_value_per_point(pts: list[dict]) -> tuple[list[dict], list[dict]]:
    """A pooled series with one value per point: (points used, duplicates left out).

    Reported values of one sample sharing every condition (temperature, method, cell, ...) and differing
    only in their source location (figure 3a and table 2 at 50 °C) are one measurement stated twice;
    counting both would weigh that temperature twice. The first by ``schemas.priority.priority`` (the export's order) is used; each
    duplicate names the property used instead, its value and its source.
    """
    from ionbase.schemas.build import stable_hash

    same: dict[str, list[dict]] = {}
    for p in pts:
        same.setdefault(stable_hash(p.get("conditions") or {}), []).append(p)
    used, left_out = [], []
    for group in same.values():
        group.sort(key=priority)
        used.append(group[0])
        left_out += [{"property": d["_id"], "temperature_k": d["temperature_k"], "value": d["value"], "used_instead": group[0]["_id"],
                      "source": {k: v for k, v in (d.get("source") or {}).items() if k in ("table", "figure", "section", "page", "quote")},
                      **({"disagrees": True} if _disagree(d, group[0]) else {})}
                     for d in group[1:]]
    return used, left_out


def _disagree(a: dict, b: dict) -> bool:
    """Whether two statements of one point differ by more than they can: twice their combined
    uncertainty, or 10 % (a value read off a figure against the table's) when that is larger. Then
    the fit rests on a choice between them, and says so (flag ``inconsistent_duplicates``)."""
    ua, ub = a.get("uncertainty") or 0.0, b.get("uncertainty") or 0.0
    allowed = max(2 * (ua**2 + ub**2) ** 0.5, 0.1 * max(abs(a["value"]), abs(b["value"])))
    return abs(a["value"] - b["value"]) > allowed


def _arrhenius_item(sample: str, name: str, key: tuple, pts: list[dict]) -> Item | None:
    """The work item of one series; None with fewer than 3 distinct temperatures."""
    left_out: list[dict] = []
    if key[0] == "pooled":
        pts, left_out = one_value_per_point(pts)
    if len({round(p["temperature_k"], 3) for p in pts}) < 3:
        return None
    pts.sort(key=lambda p: (p["temperature_k"], p["_id"]))
    inputs = {"name": name, "series": _series_description(key), "ids": [p["_id"] for p in pts],
              "T": [p["temperature_k"] for p in pts], "sigma": [p["value"] for p in pts],
              "flagged_inputs": [p["_id"] for p in pts if p.get("flags")],
              "approximate_inputs": [{"property": p["_id"], "qualifier": p["qualifier"]} for p in pts
                                     if p.get("qualifier") in INEXACT_QUALIFIERS]}
    if left_out:
        inputs["duplicates"] = sorted(left_out, key=lambda d: d["property"])
        inputs["inconsistent_duplicates"] = [d["property"] for d in inputs["duplicates"] if d.get("disagrees")]
    # the duplicates left out are inputs too: which value is used depends on them
    input_ids = [p["_id"] for p in pts] + [d["property"] for d in inputs.get("duplicates", [])]
    return Item(id=_series_item_id(sample, name, key), sample=sample, inputs=inputs, input_ids=input_ids)


def select_arrhenius(store, sample_ids: list[str] | None) -> Iterable[Item]:
    """One item per conductivity series (sample, carrier, series key) with >= 3 distinct temperatures.

    A fit belongs to one series (see :func:`_series_key`): unrelated values, such as a room-temperature
    conductivity stated with another method, are never pooled into it. Reported and measured values and
    the conductivities of the ``eis`` job are read; Arrhenius outputs never are; bounds are skipped.
    """
    base = {"name": {"$in": list(CONDUCTIVITY_NAMES)}, "temperature_k": {"$gt": 0}, **sample_filter(sample_ids)}
    props = [p for extra in ({"origin": {"$in": ["reported", "measured"]}}, {"origin": "derived", "provenance.job": "eis"})
             for p in store.properties.find({**base, **extra}, _ARRHENIUS_FIELDS)
             if p.get("qualifier") not in ("upper_bound", "lower_bound")]
    cells = _measurement_cells(store, props)
    groups: dict[tuple, list[dict]] = {}
    for p in props:
        key = _series_key(p, cells)
        if key is not None:
            groups.setdefault((p["sample"], p["name"], key), []).append(p)
    for (sample, name, key), pts in sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], [str(k) for k in kv[0][2]])):
        item = _arrhenius_item(sample, name, key, pts)
        if item is not None:
            yield item


def _arrhenius_segments(res, params: dict, flags_of) -> list[dict]:
    """Outputs of a fit with a slope break: the transition temperature and one Ea per segment."""
    seg_flags = [flags_of(seg.r2, seg.n) for seg in res.segments]
    any_flags = sorted({f for fl in seg_flags for f in fl})
    out = [{"name": "phase_transition_temperature", "value": res.break_T_K, "conditions": {"method": "Arrhenius slope break"},
            "parameters": {**params, "break_p_value": res.break_p_value}, "flags": any_flags}]
    for label, seg, flags in zip(("low-T", "high-T"), res.segments, seg_flags):
        out.append({
            "name": "activation_energy", "value": seg.Ea_eV, "uncertainty": seg.Ea_stderr_eV,
            "conditions": {"phase": label, "temperature_range_low_k": seg.T_min_K, "temperature_range_high_k": seg.T_max_K,
                           "temperature_range_low_c": to_celsius(seg.T_min_K), "temperature_range_high_c": to_celsius(seg.T_max_K)},
            "parameters": {**params, "r2": seg.r2, "n": seg.n, "prefactor_S_per_cm": seg.prefactor, "segment": label},
            "flags": flags,
        })
    return out


def _mark_inputs(out: list[dict], params: dict, flags: list[str], inputs: dict) -> list[str]:
    """Mark the fit's outputs with what its inputs were; returns the flags of the series as a whole.

    - flagged points (e.g. poor circuit fits): flag ``flagged_inputs``, ``parameters.flagged_inputs``;
    - approximate points or range midpoints: every output is ``approximate`` (a fit is no more exact
      than its points), flag ``approximate_inputs``, ``parameters.approximate_inputs`` names them;
    - duplicates of a point left out (:func:`one_value_per_point`): ``parameters.duplicates``; one that
      disagrees with the value used: flag ``inconsistent_duplicates``, ``parameters.inconsistent_duplicates``.
    """
    marks = {"flagged_inputs": inputs.get("flagged_inputs"), "approximate_inputs": inputs.get("approximate_inputs"),
             "inconsistent_duplicates": inputs.get("inconsistent_duplicates")}
    marks = {k: v for k, v in marks.items() if v}
    extra = dict(marks, **({"duplicates": inputs["duplicates"]} if inputs.get("duplicates") else {}))
    params.update(extra)
    flags = sorted({*flags, *marks})
    for o in out:
        o["parameters"].update(extra)
        o["flags"] = sorted({*o["flags"], *marks})
        if "approximate_inputs" in marks:
            o["qualifier"] = "approximate"
    return flags


def compute_arrhenius(inputs: dict) -> list[dict]:
    """Fit one series; every output carries the series, the points used and the fit's quality flags."""
    import numpy as np

    from ionbase.analysis.arrhenius import fit_arrhenius, quality_flags

    res = fit_arrhenius(inputs["T"], inputs["sigma"], form="sigma")
    carrier = CONDUCTIVITY_NAMES[inputs["name"]]
    points = [{"property": i, "temperature_k": t, "value": v} for i, t, v in zip(inputs["ids"], inputs["T"], inputs["sigma"])]
    params = {"form": res.form, "carrier": carrier, "n": res.n, "T_min_K": res.T_min_K, "T_max_K": res.T_max_K,
              "series": inputs["series"], "points": points}
    span = {"temperature_range_low_k": res.T_min_K, "temperature_range_high_k": res.T_max_K,
            "temperature_range_low_c": to_celsius(res.T_min_K), "temperature_range_high_c": to_celsius(res.T_max_K)}
    n_temps = len(np.unique(np.round(np.asarray(inputs["T"], float), 3)))
    if res.break_detected:
        out = _arrhenius_segments(res, params, quality_flags)
        flags = out[0]["flags"]
    else:
        flags = quality_flags(res.r2, n_temps)
        out = [
            {"name": "activation_energy", "value": res.Ea_eV, "uncertainty": res.Ea_stderr_eV, "conditions": dict(span),
             "parameters": {**params, "r2": res.r2, "prefactor_S_per_cm": res.prefactor, "prefactor_stderr": res.prefactor_stderr},
             "flags": flags},
            {"name": "conductivity_prefactor", "value": res.prefactor, "uncertainty": res.prefactor_stderr, "conditions": dict(span),
             "parameters": {**params, "r2": res.r2}, "flags": flags},
        ]
    flags = _mark_inputs(out, params, flags, inputs)
    if not any(abs(t - 298.15) < 0.01 for t in inputs["T"]):
        out.append({
            "name": inputs["name"], "value": res.sigma_25C_S_per_cm, "uncertainty": res.sigma_25C_stderr_S_per_cm,
            "conditions": {**temperature_conditions(298.15), "method": "Arrhenius interpolation" if not res.extrapolated else "Arrhenius extrapolation"},
            "qualifier": "approximate" if res.extrapolated or inputs.get("approximate_inputs") else None,
            "parameters": {**params, "extrapolated": res.extrapolated},
            "notes": ("extrapolated outside the measured temperature range" if res.extrapolated else "interpolated within the measured range")
            + ("; approximate: fitted over approximate points or range midpoints" if inputs.get("approximate_inputs") else ""),
            "flags": flags,
        })
    return out


# ----------------------------------------------------------------------------- impedance


def select_eis(store, sample_ids: list[str] | None) -> Iterable[Item]:
    """Impedance spectra with their arrays and cell geometry."""
    query = {"kind": "impedance_spectrum", "n_points": {"$gt": 5}, **sample_filter(sample_ids)}
    # the chunks of a visible measurement, read whatever their batch (as before the typed collections)
    chunks = store.measurement_arrays.including_pending()
    for m in store.measurements.find(query, sort=[("_id", 1)]):
        arrays = chunks.arrays(m["_id"], ("frequency", "z_real", "z_imag"))
        inputs = {
            "measurement": m["_id"],
            **arrays.arrays,
            "circuit": (m.get("payload") or {}).get("circuit"),
            "temperature_k": (m.get("temperature") or {}).get("value"),
            "method": m.get("method") or "EIS",
            **cell_geometry(m.get("cell")),
        }
        yield Item(id=m["_id"], sample=m["sample"], inputs=inputs, input_ids=[m["_id"], *arrays.chunk_ids])


def _series_layers(layers: list[dict] | None) -> dict[str, tuple[float, float]] | None:
    """Separately measured series layers {unique name: (R, u_R)}; two layers of one material both count."""
    if not layers:
        return None
    out: dict[str, tuple[float, float]] = {}
    for layer in layers:
        name, k = layer["name"], 2
        while name in out:
            name, k = f"{layer['name']} #{k}", k + 1
        out[name] = (layer["r"], layer["u"])
    return out


def _eis_outputs(d) -> list[tuple[str, dict]]:
    """(property name, resistance or conductivity dict) for each value the fitted spectrum supports."""
    rows = [("total_resistance", d.total), ("bulk_resistance", d.bulk), ("grain_boundary_resistance", d.grain_boundary),
            ("ionic_conductivity", d.sigma_total), ("bulk_conductivity", d.sigma_bulk),
            ("grain_boundary_conductivity", d.sigma_grain_boundary)]
    return [(name, v) for name, v in rows if v is not None]


def compute_eis(inputs: dict) -> list[dict]:
    """Fit the spectrum and store R_total, R_bulk, R_gb and sigma_total = L/(A R_total), sigma_bulk, sigma_gb.

    All numbers come from analysis.impedance.fit_spectrum(...).resistances, the same function the
    ``ionbase eis fit`` command prints; the assignment uses the pellet geometry. A poor fit (residual,
    Lin-KK, parameter on a bound) is stored with flag "poor_fit", qualifier "approximate", a note and
    parameters.quality.
    """
    from ionbase.analysis.impedance import fit_spectrum

    geometry = {k: inputs[k] for k in ("thickness_cm", "area_cm2", "thickness_stderr", "area_stderr") if k in inputs}
    if ("thickness_cm" in geometry) != ("area_cm2" in geometry):
        geometry = {}  # half a geometry gives no sigma; the assignment then uses C itself (stated below)
    res = fit_spectrum(inputs["frequency"], inputs["z_real"], inputs["z_imag"], circuit=inputs.get("circuit"),
                       series_layers=_series_layers(inputs.get("layers")), **geometry)
    d = res.resistances
    cond = {**temperature_conditions(inputs.get("temperature_k")), "method": inputs.get("method") or "EIS"}
    model = {"R_total_elements": (d.total or {}).get("elements"), "roles": d.roles, "notes": list(d.notes),
             "arcs": [{k: a[k] for k in ("element", "resistor", "resistance_ohm", "capacitance_F", "capacitance_normalized_F",
                                         "apex_frequency_hz", "assignment")} for a in d.arcs],
             "capacitance_normalised_to_cell_constant": d.cell_constant_per_cm is not None}
    params = {"circuit": res.circuit, "residual": res.residual, "kk": res.kk, "measurement": inputs["measurement"],
              "fit_parameters": res.parameters, "resistance_model": model, "quality": d.quality}
    flagged = d.quality["flagged"]
    extra = {"qualifier": "approximate", "notes": "poor fit: " + "; ".join(d.quality["reasons"]),
             "flags": ["poor_fit"]} if flagged else {}
    inexact = inputs.get("geometry_qualifiers")
    out: list[dict] = []
    for name, v in _eis_outputs(d):
        if name.endswith("_resistance"):
            value, unc, p = v["value_ohm"], v["stderr_ohm"], {**params, "elements": v["elements"]}
        else:
            value, unc = v["sigma_S_per_cm"], v["stderr_S_per_cm"]
            p = {**params, "R_ohm": v["resistance_ohm"], "thickness_cm": v["thickness_cm"], "area_cm2": v["area_cm2"],
                 "equation": "sigma = L/(A R)"}
            if name == "ionic_conductivity":
                p.update({"R_total_elements": model["R_total_elements"], "subtracted_layers": d.subtracted_layers})
            if inexact:
                p["geometry_qualifiers"] = inexact
        doc = {"name": name, "value": value, "uncertainty": unc, "conditions": dict(cond), "parameters": p, **extra}
        if inexact and not name.endswith("_resistance"):
            doc["qualifier"] = "approximate"  # sigma = L/(A R) is no more exact than L and A
        out.append(doc)
    if d.bulk_capacitance_F is not None:
        out.append({"name": "bulk_capacitance", "value": d.bulk_capacitance_F, "conditions": dict(cond),
                    "parameters": {**params, "elements": d.bulk["elements"]}, **extra})
    return out


# ----------------------------------------------------------------------------- cycling


def select_cycling(store, sample_ids: list[str] | None) -> Iterable[Item]:
    query = {"kind": "galvanostatic_cycling", **sample_filter(sample_ids)}
    for m in store.measurements.find(query, sort=[("_id", 1)]):
        p = m.get("payload") or {}
        cycles = [c for c in p.get("cycles", []) if "cycle" in c and "discharge_capacity" in c]
        if len(cycles) < 2:
            continue
        cycles.sort(key=lambda c: c["cycle"])
        inputs = {
            "cycle": [c["cycle"] for c in cycles],
            "discharge": [c["discharge_capacity"]["value"] for c in cycles],
            "charge": [c.get("charge_capacity", {}).get("value") for c in cycles],
            "ce": [c.get("coulombic_efficiency", {}).get("value") for c in cycles],
            "temperature_k": (m.get("temperature") or {}).get("value"),
            "c_rate": (p.get("c_rate") or {}).get("value"),
            "current_density": (p.get("current_density") or {}).get("value"),
        }
        yield Item(id=m["_id"], sample=m["sample"], inputs=inputs, input_ids=[m["_id"]])


def compute_cycling(inputs: dict) -> list[dict]:
    import numpy as np

    from ionbase.analysis.cycling import capacity_retention, coulombic_efficiency, cycles_to_soh, mean_ce

    cond: dict[str, Any] = temperature_conditions(inputs.get("temperature_k"))
    for key in ("c_rate", "current_density"):
        if inputs.get(key) is not None:
            cond[key] = inputs[key]
    disch = np.asarray(inputs["discharge"], float)
    cyc = np.asarray(inputs["cycle"], float)
    out = [{"name": "initial_discharge_capacity", "value": float(disch[0]), "conditions": dict(cond), "parameters": {"cycle": float(cyc[0])}}]
    ret = capacity_retention(disch, 0)
    out.append({"name": "capacity_retention", "value": float(ret[-1] * 100), "conditions": {**cond, "cycle_number": int(cyc[-1]), "reference_cycle": int(cyc[0])},
                "parameters": {"reference_cycle": float(cyc[0])}})
    soh = cycles_to_soh(disch, 0.8, 0, cyc)
    if soh.reached:
        out.append({"name": "cycles_to_80_soh", "value": soh.cycle, "conditions": dict(cond), "parameters": soh.to_dict()})
    ce = inputs.get("ce")
    if ce and all(v is not None for v in ce):
        ce_arr = np.asarray(ce, float)
    elif all(v is not None for v in inputs.get("charge", [])):
        ce_arr = coulombic_efficiency(np.asarray(inputs["charge"], float), disch) * 100
    else:
        ce_arr = None
    if ce_arr is not None and len(ce_arr) >= 2:
        mean, sd, n = mean_ce(ce_arr, 1)
        out.append({"name": "mean_coulombic_efficiency", "value": mean, "uncertainty": None if sd != sd else sd,
                    "conditions": dict(cond), "parameters": {"window": [int(cyc[1]), int(cyc[-1])], "n": n}})
    return out


# ----------------------------------------------------------------------------- crystallography


def select_crystallography(store, sample_ids: list[str] | None) -> Iterable[Item]:
    """One item per phase with a refined ``a``: a phase whose cell cannot be completed fails alone,
    with its reason recorded, and the other phases of the structure result are still computed."""
    query = {"phases": {"$elemMatch": {"lattice.a": {"$exists": True}}}, **sample_filter(sample_ids)}
    for st in store.structures.find(query, sort=[("_id", 1)]):
        for i, ph in enumerate(st.get("phases", [])):
            lat = ph.get("lattice") or {}
            if "a" not in lat:
                continue
            phase = {
                "index": i, "name": ph.get("name") or ph.get("formula") or f"phase {i + 1}",
                "formula": ph.get("formula"), "z": ph.get("z"),
                "lattice": {k: [v["value"], v.get("uncertainty") or 0.0] for k, v in lat.items()},
                "space_group_symbol": ph.get("space_group_symbol"),
                "space_group_number": ph.get("space_group_number"),
            }
            yield Item(id=f"{st['_id']}-p{i}", sample=st["sample"], inputs={"phase": phase, "structure": st["_id"]},
                       input_ids=[st["_id"]])


def compute_crystallography(inputs: dict) -> list[dict]:
    """Cell volume (and X-ray density with formula and Z) of one phase; parameters tied by symmetry
    (cubic b = c = a, ...) enter the uncertainty as the one refined variable they are, whether the
    record stores them or not (stored ones must agree, else the item fails naming them)."""
    from ionbase.analysis.crystallography import cell_volume, density
    from ionbase.analysis.errors import InvalidInputError
    from ionbase.schemas.crystal import CrystalError, complete_lattice, lattice_space_group

    ph = inputs["phase"]
    try:  # the rules the CIF and OPTIMADE views complete the same cell with (schemas/crystal.py)
        sg = lattice_space_group(ph)
        lat, ties = complete_lattice(ph["lattice"], sg, fixed=lambda degrees: [degrees, 0.0],
                                     symbol=ph.get("space_group_symbol"))
    except CrystalError as exc:
        raise InvalidInputError(f"{exc}; cell volume and density not computed") from None
    free = {k: (None if k in ties else lat[k][0]) for k in ("b", "c", "beta", "gamma")}
    v = cell_volume(lat["a"][0], free["b"], free["c"], lat["alpha"][0], free["beta"], free["gamma"],
                    a_err=lat["a"][1], b_err=lat["b"][1], c_err=lat["c"][1],
                    alpha_err=lat["alpha"][1], beta_err=lat["beta"][1], gamma_err=lat["gamma"][1])
    cond = {"phase": ph["name"]}
    params = {"structure": inputs["structure"], "lattice": lat, "tied": ties,
              "space_group_number": sg.int_number if sg is not None else None,
              "crystal_system": sg.crystal_system if sg is not None else None}
    out = [{"name": "cell_volume", "value": v.value, "uncertainty": v.stderr or None, "conditions": cond, "parameters": params}]
    if ph.get("formula") and ph.get("z"):
        d = density(ph["formula"], ph["z"], v.value, v.stderr)
        out.append({"name": "density", "value": d.value, "uncertainty": d.stderr or None, "conditions": cond,
                    "parameters": {**params, "formula": ph["formula"], "z": ph["z"]}})
    return out


# ----------------------------------------------------------------------------- the registry

JOBS: dict[str, Job] = {
    j.name: j
    for j in (
        Job("crystallography", "3", "Cell volume and X-ray density from refined lattice parameters",
            ("cell_volume", "density"), select_crystallography, compute_crystallography,
            ("analysis.crystallography.cell_volume", "analysis.crystallography.density")),
        Job("eis", "2", "Equivalent-circuit fit of impedance spectra; R_total (R0 + bulk and grain-boundary arcs), "
            "R_bulk, R_gb and sigma = L/(A R) for each (ionic_conductivity is the total)",
            ("total_resistance", "bulk_resistance", "grain_boundary_resistance", "bulk_capacitance", "ionic_conductivity",
             "bulk_conductivity", "grain_boundary_conductivity"), select_eis, compute_eis,
            ("analysis.impedance.fit_spectrum", "analysis.eis_resistances.spectrum_resistances",
             "analysis.conductivity.conductivity", "analysis.stacks.subtract_series_layers")),
        Job("dc", "2", "Transport numbers (ion-blocking electrodes) and Bruce-Vincent t+ (reversible electrodes) "
            "from DC polarization; electronic conductivity from steady-state I-V (ion-blocking electrodes)",
            ("ionic_transport_number", "electronic_transport_number", "cation_transference_number", "electronic_conductivity"),
            select_dc, compute_dc,
            ("analysis.dc.ion_transport_number", "analysis.dc.bruce_vincent", "analysis.dc.electronic_conductivity")),
        Job("cycling", "1", "Capacity retention, cycles to 80 % SOH and mean coulombic efficiency",
            ("initial_discharge_capacity", "capacity_retention", "cycles_to_80_soh", "mean_coulombic_efficiency"),
            select_cycling, compute_cycling,
            ("analysis.cycling.capacity_retention", "analysis.cycling.cycles_to_soh", "analysis.cycling.mean_ce")),
        Job("arrhenius", "3", "Arrhenius fit of each conductivity-vs-temperature series: Ea, prefactor, sigma(25 °C)",
            ("activation_energy", "conductivity_prefactor", "ionic_conductivity", "phase_transition_temperature"),
            select_arrhenius, compute_arrhenius, ("analysis.arrhenius.fit_arrhenius", "analysis.arrhenius.quality_flags")),
    )
}


def compute_item(job_name: str, inputs: dict) -> tuple[bool, Any]:
    """Run one item's pure computation; never raises (the runner records failures per item)."""
    try:
        return True, JOBS[job_name].compute(inputs)
    except Exception as exc:  # recorded per item, the batch goes on
        return False, f"{type(exc).__name__}: {exc}"


def compute_chunk(job_name: str, inputs: list[dict]) -> list[tuple[bool, Any]]:
    """compute_item over a chunk: one task per chunk keeps scheduler overhead per item small."""
    return [compute_item(job_name, i) for i in inputs]
