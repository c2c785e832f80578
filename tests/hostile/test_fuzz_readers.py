"""Property-based tests: arbitrary bytes or strings either parse or raise the module's own error.

The instrument parsers raise ParseError, the lab-file and table readers LoadError, the unit parser
UnitError; anything else (IndexError, KeyError, UnicodeDecodeError, zlib.error, RecursionError, ...)
is a traceback for the user and fails here. Inputs are random and random mutations of the real files.
"""

from __future__ import annotations

import math
import os
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ionbase.ingest.loaders import LoadError, load_lab_file
from ionbase.ingest.parsers import ParseError, parse_file, registry
from ionbase.schemas import registry as vocab
from ionbase.schemas.units import UnitError, parse_unit, parse_value

REPO = Path(__file__).resolve().parents[2]
EIS = REPO / "tests" / "data" / "eis" / "impedance_py"
REAL_INSTRUMENT = sorted(p for p in EIS.iterdir() if p.suffix not in ("", ".md") and p.name != "LICENSE") + [
    REPO / "tests" / "data" / "instrument" / n for n in ("Na3InCl6_like_P21n.cif", "cycling_summary.csv", "synthetic_GCPL_3cycles.mpt")]
REAL_TABLES = sorted((REPO / "templates").glob("*.csv")) + [REPO / "templates" / "ionbase-template.xlsx"]
REAL_RECORDS = [REPO / "tests" / "data" / "lab" / "roundtrip.yaml", REPO / "tests" / "data" / "api" / "records.yaml"]
#: IONBASE_FUZZ_EXAMPLES=1000 for a longer search than the default suite's
FUZZ = settings(max_examples=int(os.environ.get("IONBASE_FUZZ_EXAMPLES", "60")), deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@st.composite
def mutated(draw, sources: list[Path]):
    """A real file with a few bytes replaced, inserted or cut away (and its suffix)."""
    path = draw(st.sampled_from(sources))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        op = draw(st.sampled_from(["replace", "insert", "cut"]))
        chunk = draw(st.binary(min_size=1, max_size=8))
        if op == "replace":
            data[pos:pos + len(chunk)] = chunk
        elif op == "insert":
            data[pos:pos] = chunk
        else:
            del data[pos:]
    return path.suffix, bytes(data)


def _write(suffix: str, data: bytes) -> Path:
    folder = Path(tempfile.mkdtemp(prefix="ionbase-fuzz-"))
    path = folder / f"f{suffix}"
    path.write_bytes(data)
    return path


def _parse_instrument(path: Path) -> None:
    try:
        parsed = parse_file(path)
    except ParseError:
        return
    for rec in parsed.records:  # what parsed must be finite and in range (ingest/parsers/ranges.py)
        freq = getattr(rec, "frequency_hz", None)
        if freq is not None:
            assert len(freq) and all(0 < f <= 1e12 for f in freq) and all(math.isfinite(z) for z in rec.z_real_ohm)


@FUZZ
@given(mutated(REAL_INSTRUMENT))
def test_instrument_parsers_on_mutated_real_files(item):
    _parse_instrument(_write(*item))


@FUZZ
@given(st.sampled_from(sorted({s for cls in registry.classes() for s in cls.suffixes} | {".csv", ".txt"})),
       st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(lambda t: t.encode("utf-8"))))
def test_instrument_parsers_on_arbitrary_bytes(suffix, data):
    _parse_instrument(_write(suffix, data))


@FUZZ
@given(st.sampled_from(list(registry.classes())), st.text(max_size=1500))
def test_each_text_format_from_str(cls, text):
    if not hasattr(cls, "from_str"):
        return
    try:
        obj = cls.from_str(text, filename="fuzz")
        obj.records()
    except ParseError:
        pass


def _load_table(path: Path) -> None:
    try:
        loaded = load_lab_file(path, 200 * 1024 * 1024)
        list(loaded.streamed())  # streamed tables are read on the second pass: read them too
    except LoadError:
        pass


@FUZZ
@given(mutated(REAL_TABLES))
def test_table_readers_on_mutated_templates(item):
    _load_table(_write(*item))


@FUZZ
@given(st.sampled_from([".csv", ".xlsx", ".yaml", ".json", ".jsonl"]),
       st.one_of(st.binary(max_size=3000), st.text(max_size=3000).map(lambda t: t.encode("utf-8"))))
def test_table_and_record_readers_on_arbitrary_bytes(suffix, data):
    _load_table(_write(suffix, data))


@FUZZ
@given(mutated(REAL_RECORDS))
def test_record_readers_on_mutated_files(item):
    _load_table(_write(*item))


_NUMBERS = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**400, 10**400),
                     st.sampled_from(["1e400", "-1e400", "nan", "inf", "1e308", "-0", "1e-400"]))
_UNITS = st.sampled_from(["", "K", "°C", "degC", "mS/cm", "S/cm", "eV", "kJ/mol", "Å", "nm", "Hz", "h", "%", "ohm",
                          "mAh/g", "C", "t", "bogus", "1/0", "**", "m^999999"])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(sorted(vocab.QUANTITIES)),
       st.one_of(st.text(max_size=60), st.builds(lambda n, u: f"{n} {u}", _NUMBERS, _UNITS), _NUMBERS,
                 st.dictionaries(st.sampled_from(["value", "unit", "uncertainty", "range", "qualifier"]),
                                 st.one_of(_NUMBERS, _UNITS, st.lists(_NUMBERS, max_size=3)), max_size=4)))
def test_unit_parser_parses_in_range_or_raises_unit_error(kind, raw):
    try:
        v = parse_value(raw, kind, "f")
    except UnitError:
        return
    assert math.isfinite(v.value) and v.value in vocab.VALID_RANGES[kind]
    assert v.uncertainty is None or (math.isfinite(v.uncertainty) and v.uncertainty >= 0)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=40))
def test_parse_unit_parses_or_raises_unit_error(text):
    try:
        parse_unit(text)
    except UnitError:
        pass


@pytest.mark.parametrize("raw", [{"value": 1, "unit": []}, {"value": 1, "unit": ["S/cm"]}, {"range": [1, 2], "unit": [1]},
                                 {"value": 1, "unit": "S/cm", "qualifier": ["~"]}])
def test_non_text_unit_or_qualifier_is_a_unit_error(raw):
    """Found by the fuzzer in CI: a list as a mapping's unit raised TypeError (or was silently ignored)."""
    with pytest.raises(UnitError, match="must be text"):
        parse_value(raw, "conductivity", "value")
