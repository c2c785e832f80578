"""Adapter for measurement records: the record itself, or the measurements an instrument file
holds (parser output -> measurement documents): impedance spectra (one per loop) and cycling runs
(capacities converted to mAh/g), with their arrays chunked and the properties they carry."""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from ionbase.ingest.loaders import LoadedFile, RawRecord
from ionbase.ingest.planning import FileReport, content_hash, sha256_file
from ionbase.ingest.references import confined_reference
from ionbase.schemas import build as B

if TYPE_CHECKING:
    from ionbase.ingest.passes import BuildPass


def add_measurement(ctx: "BuildPass", lf: LoadedFile, rec: RawRecord, fr: FileReport) -> None:
    """Build one measurement record (one document per spectrum of its file) and add it to the plan."""
    m = B.build_measurement(rec.data, lf.source, rec.ref)
    smp = ctx.resolve_sample(m.pop("_sample_ref"), m["source"], f"{rec.ref}.sample")
    file_ref = m.pop("_file", None)
    variants = [m]
    if file_ref:
        path = confined_reference(lf.path.parent, file_ref, f"{rec.ref}.file", ctx.max_file_bytes)
        variants = measurements_from_file(m, path, rec.ref)
    for mv in variants:
        entry = _add_variant(ctx, mv, smp, (lf.path.name, rec.row))
        if file_ref:
            entry["loops"] = len(variants)
        fr.note(entry)


def _add_variant(ctx: "BuildPass", mv: dict, smp: dict, where: tuple) -> dict:
    """Add one measurement, its array chunks and its properties; returns its report entry."""
    arrays = mv.pop("_arrays", {}) or {}
    mv["sample"] = smp["_id"]
    mv["_id"] = B.make_id("meas", smp["_id"], mv["label"])
    if arrays:
        mv["array_names"] = sorted(arrays)
        mv["n_points"] = len(next(iter(arrays.values())))
    chunks = B.chunk_arrays(mv["_id"], arrays)
    mv["n_chunks"] = len(chunks)
    for ch in chunks:
        ch["content_hash"] = content_hash(ch)
        ctx.add("measurement_arrays", ch, where)
    mv["content_hash"] = B.stable_hash([content_hash(mv), [c["content_hash"] for c in chunks]])
    ctx.add("measurements", mv, where)
    for p in B.measurement_properties(mv):
        ctx.add("properties", B.denormalize(p, smp, smp["_mat"], smp.get("summary")), where)
    entry = {"kind": mv["kind"], "id": mv["_id"], "sample": smp["label"], "label": mv["label"]}
    if arrays:
        entry["points"] = mv["n_points"]
    if mv.get("file", {}).get("loop") is not None:
        entry["loop"] = mv["file"]["loop"]
    return entry


def measurements_from_file(m: dict, path: Path, ref: str) -> list[dict]:
    """The measurements an instrument file holds, each a copy of the record ``m`` with its data.

    ``ref`` names the record (e.g. "measurements[0]"); errors name its ``file`` (or ``temperature``) field."""
    from ionbase.ingest.parsers import parse_file
    from ionbase.ingest.parsers.errors import ParseError

    fieldname = f"{ref}.file"
    try:  # path comes checked from references.confined_reference (inside the folder, a regular file)
        parsed = parse_file(path)
    except ParseError as exc:
        raise B.RecordError(str(exc), fieldname) from None
    sha = sha256_file(path)
    if parsed.kind == "impedance":
        return spectra_measurements(m, parsed, path, sha, ref)
    if parsed.kind == "cycling":
        return [cycling_measurement(m, parsed, path, sha, fieldname)]
    raise B.RecordError(f"{path.name} is a {parsed.kind} file; reference CIFs from a structures record", fieldname)


def spectra_measurements(m: dict, parsed, path: Path, sha: str, ref: str) -> list[dict]:
    """One impedance_spectrum measurement per spectrum (loop) of the file, at its own temperature
    (:func:`loop_temperature`); a record temperature some loop disagrees with refuses the record."""
    if m["kind"] != "impedance_spectrum":
        raise B.RecordError(f"{path.name} holds impedance spectra but the record's kind is {m['kind']}", f"{ref}.file")
    out, disagree = [], []
    many = len(parsed.records) > 1
    for i, spec in enumerate(parsed.records):
        mv = dict(m)
        loop = spec.loop if spec.loop is not None else i
        if many:
            mv["label"] = f"{m['label']} loop {loop}"
        mv["file"] = {"name": path.name, "sha256": sha, "format": parsed.format, "loop": loop if many else None}
        mv["file"] = {k: v for k, v in mv["file"].items() if v is not None}
        why = loop_temperature(mv, spec, f"{path.name}, loop {loop}" if many else path.name, ref)
        if why:
            disagree.append(f"loop {loop} {why}" if many else why)
        mv["_arrays"] = {
            "frequency": [float(x) for x in spec.frequency_hz],
            "z_real": [float(x) for x in spec.z_real_ohm],
            "z_imag": [float(x) for x in spec.z_imag_ohm],
        }
        mv["array_units"] = {"frequency": "Hz", "z_real": "ohm", "z_imag": "ohm"}
        out.append(mv)
    if disagree:
        t = m["temperature"]["value"]
        column = parsed.records[0].metadata.get("temperature_column", "temperature")
        raise B.RecordError(
            f"{path.name}: the record's temperature {t - 273.15:.2f} °C ({t:.2f} K) disagrees with the file's {column!r} "
            f"column: {'; '.join(disagree[:4])}{f' and {len(disagree) - 4} more loops' if len(disagree) > 4 else ''}; "
            "correct the record's temperature, or leave it out and each spectrum "
            "takes the one its file recorded", f"{ref}.temperature")
    return out


#: how far (K) a record's stated temperature may lie from the temperature an instrument file recorded
#: for a spectrum: the accuracy of the thermocouple or Pt100 beside the cell (type K class 1: +-1.5 K)
#: plus the sample lagging the oven at equilibrium (~0.5 K); wider by the record's stated uncertainty
#: and by half the loop's own spread of readings (a drift during the sweep)
TEMPERATURE_TOLERANCE_K = 2.0


def loop_temperature(mv: dict, spec, where: str, ref: str) -> str | None:
    """Set or check the temperature of the spectrum ``mv`` against the one its file recorded.

    Without a file temperature the record's (or none) stands. Without a record temperature the
    spectrum takes the file's mean for its loop (each loop its own). With both, they must agree within
    :data:`TEMPERATURE_TOLERANCE_K` (+ the record's uncertainty + half the loop's spread): the record's
    value is kept and the file's reading is stored beside it (``file.temperature_k``). Returns why they
    disagree ("reads 60.00 °C, 35.00 K apart, ..."), None when they agree or there is nothing to compare.
    """
    t_file = spec.temperature_k
    if t_file is None:
        return None
    column = spec.metadata.get("temperature_column", "temperature")
    if not math.isfinite(t_file):
        raise B.RecordError(f"{where}: the file's {column!r} column has no number for this spectrum", f"{ref}.file")
    mv["file"]["temperature_k"] = round(t_file, 6)
    stated = mv.get("temperature")
    if stated is None:
        mv["temperature"] = {"value": round(t_file, 6), "unit": "K", "entered": {"file": mv["file"]["name"], "column": column}}
        return None
    low, high = spec.metadata.get("temperature_range_k") or (t_file, t_file)
    tolerance = TEMPERATURE_TOLERANCE_K + (stated.get("uncertainty") or 0.0) + (high - low) / 2
    apart = abs(stated["value"] - t_file)
    if apart <= tolerance:
        return None
    return f"reads {t_file - 273.15:.2f} °C ({apart:.2f} K off, {tolerance:.2f} K allowed)"


def _capacity(value: float, scale: float, unit: str) -> dict | None:
    """A capacity in mAh/g keeping the file's value and unit; NaN (not given) is None."""
    if value != value:
        return None
    return {"value": float(value) * scale, "unit": "mAh/g", "entered": {"value": float(value), "unit": unit}}


def cycling_measurement(m: dict, parsed, path: Path, sha: str, fieldname: str) -> dict:
    """One galvanostatic_cycling measurement with its cycles' capacities in the payload."""
    if m["kind"] != "galvanostatic_cycling":
        raise B.RecordError(f"{path.name} holds cycling data but the record's kind is {m['kind']}", fieldname)
    cyc = parsed.records[0]
    mv = dict(m)
    mv["file"] = {"name": path.name, "sha256": sha, "format": parsed.format}
    payload = dict(mv.get("payload", {}))
    scale = specific_capacity_scale(cyc.capacity_unit, cyc.metadata, payload, fieldname, path.name)
    payload["cycles"] = [
        B._drop_none({
            "cycle": int(c),
            "charge_capacity": _capacity(q, scale, cyc.capacity_unit),
            "discharge_capacity": _capacity(d, scale, cyc.capacity_unit),
            "coulombic_efficiency": {"value": float(e), "unit": "%"} if e == e else None,
        })
        for c, q, d, e in zip(cyc.cycle, cyc.charge_capacity, cyc.discharge_capacity, cyc.coulombic_efficiency)
    ]
    mv["payload"] = payload
    return mv


def specific_capacity_scale(unit: str, metadata: dict, payload: dict, fieldname: str, filename: str) -> float:
    """Factor taking a cycling file's capacities to mAh/g; absolute capacities need the active mass,
    from the record's ``mass_loading`` or the file's "Characteristic mass"."""
    from ionbase.schemas.units import UnitError, convert, parse_value

    unit = unit.replace("mA.h", "mA*h").replace("A.h", "A*h")
    try:
        return convert(1.0, unit, "mA*h/g")
    except UnitError:
        pass
    try:
        per_mass = convert(1.0, unit, "mA*h")
    except UnitError:
        raise B.RecordError(f"{filename}: capacity unit {unit!r} is neither a capacity nor a specific capacity", fieldname) from None
    mass_text = payload.get("mass_loading") or metadata.get("Characteristic mass")
    if not mass_text:
        raise B.RecordError(f"{filename} gives capacities in {unit}; give the active mass as 'mass_loading' (e.g. '2.0 mg')", fieldname)
    try:
        mass_g = parse_value(str(mass_text), "mass", "mass_loading").value
    except UnitError as exc:
        raise B.RecordError(str(exc), fieldname) from None
    if mass_g <= 0:
        raise B.RecordError(f"active mass must be positive, got {mass_text!r}", fieldname)
    return per_mass / mass_g
