"""Every registry quantity has a valid physical range, checked on every input path and on job outputs.

A value outside it (1e308, -1 eV, below 0 K, a frequency of -1 Hz in an instrument file) is refused
naming file, row and field; nothing is written.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ionbase.ingest.errors import ImportFailed
from ionbase.ingest.importer import Importer, ImportOptions
from ionbase.ingest.parsers import ParseError, read_spectra
from ionbase.schemas import registry
from ionbase.schemas.units import UnitError, parse_value
from ionbase.schemas.validate import DocumentError, validate_document

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_CSV = REPO / "tests" / "data" / "eis" / "impedance_py" / "exampleData.csv"
HEAD = "source: {doi: 10.1/ranges}\nsamples:\n  - {label: S1, material: Na3InCl6}\n"


def test_every_quantity_and_override_has_a_range():
    assert set(registry.VALID_RANGES) == set(registry.QUANTITIES)
    assert set(registry.PROPERTY_RANGES) <= set(registry.PROPERTIES)
    for kind, rng in registry.VALID_RANGES.items():
        assert rng.low < rng.high, kind


@pytest.mark.parametrize("raw,kind", [
    ("1e308 °C", "temperature"), ("-5 K", "temperature"), ("0 K", "temperature"), ("-300 °C", "temperature"),
    ("1e308 Å", "lattice_length"), ("-1 eV", "energy"), ("2e3 S/cm", "conductivity"), ("0 S/cm", "conductivity"),
    ("-1 Hz", "frequency"), ("2e12 Hz", "frequency"), ("181 deg", "angle"), ("1e400 h", "duration"),
    ({"value": 1, "uncertainty": "1e400"}, "energy"), ({"value": 1, "uncertainty": float("inf")}, "energy"),
    ({"value": 0.5, "range": [0.1, 1e308]}, "energy"),
])
def test_parse_value_refuses_out_of_range(raw, kind):
    with pytest.raises(UnitError) as err:
        parse_value(raw, kind, "f")
    assert str(err.value).startswith("f: ")


@pytest.mark.parametrize("raw,kind,value", [
    ("25 °C", "temperature", 298.15), ("1000 S/cm", "conductivity", 1000.0), ("1e12 Hz", "frequency", 1e12),
    ("4.2(3) Å", "lattice_length", 4.2), ("5 eV", "energy", 5.0),
])
def test_range_ends_are_accepted(raw, kind, value):
    assert parse_value(raw, kind, "f").value == pytest.approx(value)


def _refused(store, tmp_path, files: dict[str, str]) -> list[str]:
    for name, text in files.items():
        (tmp_path / name).write_text(text)
    with pytest.raises(ImportFailed) as err:
        Importer(store, ImportOptions()).run([tmp_path / n for n in files])
    assert store.db.samples.count_documents({}) == 0 and store.db.import_batches.count_documents({}) == 0
    return [str(i) for i in err.value.issues]


@pytest.mark.parametrize("body,words", [
    ("properties:\n  - {sample: S1, name: activation_energy, value: '-1 eV'}\n",
     "bad.yaml, row 5 (properties[0]), field 'properties[0].value': -1 eV"),
    ("properties:\n  - {sample: S1, name: activation_energy, value: '7 eV'}\n", "valid range of activation_energy, (0, 5] eV"),
    ("properties:\n  - {sample: S1, name: ionic_conductivity, value: '1 mS/cm', conditions: {temperature: '1e308 °C'}}\n",
     "field 'properties[0].conditions.temperature'"),
    ("properties:\n  - {sample: S1, name: lattice_a, value: 1e308 Å}\n", "1e+308 Å"),
    ("properties:\n  - {sample: S1, name: ionic_transport_number, value: 1.5}\n", "of ionic_transport_number, [0, 1]"),
    ("measurements:\n  - {sample: S1, kind: impedance_spectrum, frequency: [1.0, -1.0], z_real: [1.0, 2.0], z_imag: [0.0, 0.0]}\n",
     "field 'measurements[0].frequency[1]'"),
])
def test_yaml_values_out_of_range_name_file_row_field(store, tmp_path, body, words):
    issues = _refused(store, tmp_path, {"bad.yaml": HEAD + body})
    assert any(words in i for i in issues), issues


def _instrument(tmp_path: Path, rows: list[str] | None) -> dict[str, str]:
    lines = EXAMPLE_CSV.read_text().splitlines()
    if rows is not None:
        lines[: len(rows)] = rows
    (tmp_path / "spec.csv").write_text("\n".join(lines if rows is None or rows else []) + "\n")
    return {"bad.yaml": HEAD + "measurements:\n  - {sample: S1, kind: impedance_spectrum, file: spec.csv}\n"}


@pytest.mark.parametrize("first_rows,words", [
    (["-1,0.05,-0.02"], "frequency value -1.0 at point 1 is outside the valid range (0, 1e+12]"),
    (["3e-3,0.05,-0.02", "1e308,0.04,-0.01"], "frequency value 1e+308 at point 2"),
    (["3e-3,nan,-0.02"], "z_real value nan at point 1 is not a finite number"),
    (["3e-3,0.05,inf"], "z_imag value inf"),
])
def test_instrument_arrays_out_of_range(store, tmp_path, first_rows, words):
    files = _instrument(tmp_path, first_rows)
    with pytest.raises(ParseError) as err:
        read_spectra(tmp_path / "spec.csv")
    assert words in str(err.value) and err.value.file.endswith("spec.csv") and err.value.field
    issues = _refused(store, tmp_path, files)
    assert any("spec.csv" in i and words in i and "bad.yaml, row 5" in i for i in issues), issues


def test_real_instrument_file_still_reads(tmp_path):
    shutil.copy(EXAMPLE_CSV, tmp_path / "ok.csv")
    spec = read_spectra(tmp_path / "ok.csv")[0]
    assert len(spec) > 10 and spec.frequency_hz.min() > 0


PROP = {"_id": "p1", "sample": "s1", "name": "activation_energy", "value": 0.4, "unit": "eV", "origin": "derived"}


def test_job_outputs_out_of_range_are_refused_before_written():
    validate_document("properties", PROP)
    for bad, field in (({"value": 7.0}, "value"), ({"value": -0.1}, "value"),
                       ({"provenance": {"parameters": {"r2": float("nan")}}}, "provenance.parameters.r2"),
                       ({"temperature_k": -3.0}, "temperature_k")):
        with pytest.raises(DocumentError) as err:
            validate_document("properties", {**PROP, **bad})
        assert err.value.field == field, (bad, str(err.value))


def test_stored_arrays_are_checked_too():
    doc = {"_id": "m:0", "measurement": "m", "chunk": 0, "arrays": {"frequency": [1.0, 1e308], "z_real": [1.0, 2.0]}}
    with pytest.raises(DocumentError, match="frequency value 1e\\+308"):
        validate_document("measurement_arrays", doc)


def test_docs_list_every_range():
    text = (REPO / "docs" / "valid-ranges.md").read_text()
    for kind, rng in registry.VALID_RANGES.items():
        assert f"| {kind} | {registry.QUANTITIES[kind].display_unit or '1'} | {rng} |" in text, kind
    for prop, rng in registry.PROPERTY_RANGES.items():
        assert f"| {prop} |" in text and str(rng) in text, prop


def test_job_output_out_of_range_fails_its_item_with_the_reason(store, settings, tmp_path):
    """Three conductivities rising 1e10-fold over 20 K: each is in range, the Arrhenius Ea (~13 eV) is not."""
    from ionbase.jobs.runner import run_jobs

    points = ", ".join(f"{{temperature: {t} K, conductivity: {s} S/cm}}" for t, s in ((300, "1e-12"), (310, "1e-7"), (320, "1e-2")))
    (tmp_path / "steep.yaml").write_text(HEAD + "measurements:\n  - {sample: S1, kind: conductivity_series, carrier: ionic, "
                                         f"method: EIS, points: [{points}]}}\n")
    Importer(store, ImportOptions()).run([tmp_path / "steep.yaml"])
    result = run_jobs(store, settings, job_names=["arrhenius"], progress=False)
    assert result["failed"] == 1, result
    (error,) = result["errors"]
    assert "activation_energy" in error["error"] and "valid range" in error["error"], error
    assert store.db.properties.count_documents({"origin": "derived"}) == 0


@pytest.mark.parametrize("name,value,ok", [
    ("electronic_conductivity", "1.1e5 S/cm", True),  # lithium metal
    ("ionic_conductivity", "1.1e5 S/cm", False),
    ("conductivity_prefactor", "5e4 S/cm", True),  # a typical Arrhenius sigma0
    ("activation_energy", "6 eV", False),
    ("band_gap", "0 eV", True),
])
def test_a_property_range_applies_where_the_value_is_parsed(name, value, ok):
    from ionbase.schemas.build import RecordError, build_property

    rec = {"sample": "S1", "name": name, "value": value, "conditions": {"temperature": "25 °C"}}
    if ok:
        assert build_property(rec, {"doi": "10.1/x"})["value"] > -1
    else:
        with pytest.raises(RecordError, match=f"valid range of {name}"):
            build_property(rec, {"doi": "10.1/x"})
