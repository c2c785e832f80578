"""Energies per mole, the rounding rule, and a quantity joined from value/unit/uncertainty (schemas.units)."""

from __future__ import annotations

import math

import pytest

from ionbase.schemas.build import RecordError, build_property
from ionbase.schemas.units import UnitError, convert, convert_difference, join_quantity, parse_value, round_sig

# 1 eV per particle = N_A * e = 6.02214076e23 / mol * 1.602176634e-19 J (both exact in the 2019 SI)
EV_IN_KJ_PER_MOL = 96.48533212331001


def test_kj_per_mol_is_an_energy_per_particle_via_avogadro():
    assert convert(1.0, "eV", "kJ/mol") == pytest.approx(EV_IN_KJ_PER_MOL, rel=1e-14)
    assert convert(96.485, "kJ/mol", "eV") == pytest.approx(0.99999655778, rel=1e-10)
    assert convert(1.0, "kcal/mol", "eV") == pytest.approx(4.184 / EV_IN_KJ_PER_MOL, rel=1e-14)
    assert convert(1000.0, "J/mol", "meV") == pytest.approx(1e3 / EV_IN_KJ_PER_MOL, rel=1e-14)
    v = parse_value("30 ± 1.5 kJ/mol", "energy", "Ea")
    assert (v.value, v.uncertainty, v.unit) == (round_sig(30 / EV_IN_KJ_PER_MOL), round_sig(1.5 / EV_IN_KJ_PER_MOL), "eV")
    assert v.entered == {"text": "30 ± 1.5 kJ/mol"}


def test_molar_units_are_refused_where_no_energy_is_meant():
    with pytest.raises(UnitError, match="not a unit of conductivity"):
        parse_value("30 kJ/mol", "conductivity", "sigma")
    with pytest.raises(UnitError, match="not a unit of energy"):
        parse_value("30 mol", "energy", "Ea")
    with pytest.raises(UnitError):
        convert(1.0, "kJ/mol", "S/cm")


def test_rounding_rule_removes_conversion_noise_only():
    assert 4.1 * 1e-3 != 4.1e-3 and parse_value("4.1 mS/cm", "conductivity", "s").value == 4.1e-3
    assert parse_value("0.1 mS/cm", "conductivity", "s").value == 1e-4
    assert parse_value("0.1 mS/m", "conductivity", "s").value == 1e-6  # 0.1 * 1e-5 is 1.0000000000000002e-06
    v = parse_value({"value": 0.5, "unit": "eV", "uncertainty": 0.1}, "energy", "e")
    assert repr(v.uncertainty) == "0.1"
    assert parse_value("0.6 ± 0.1 S/m", "conductivity", "s").uncertainty == 1e-3
    assert parse_value("25.1 °C", "temperature", "t").value == 298.25
    assert parse_value("1.23456789012345 S/cm", "conductivity", "s").value == 1.23456789012  # 12 significant digits
    assert round_sig(None) is None and round_sig(0.09999999999999964) == 0.1


def test_uncertainty_is_converted_as_a_difference():
    assert convert_difference(0.5, "degC", "K") == 0.5
    assert convert_difference(20, "uS/cm", "S/cm") == pytest.approx(2e-5, rel=1e-15)
    v = parse_value({"value": 25, "unit": "°C", "uncertainty": "0.5 K"}, "temperature", "t")
    assert (v.value, v.uncertainty) == (298.15, 0.5)
    with pytest.raises(UnitError, match="not in a unit of the value"):
        parse_value({"value": 0.5, "unit": "mS/cm", "uncertainty": "1 ohm"}, "conductivity", "s")


def test_join_quantity_refuses_a_unit_or_uncertainty_given_twice():
    assert join_quantity("4.2(3)", {"unit": "mS/cm"}) == "4.2(3) mS/cm"
    assert join_quantity({"value": 0.5, "unit": "mS/cm"}, {"uncertainty": 0.1, "unit": None}) == {"value": 0.5, "unit": "mS/cm", "uncertainty": 0.1}
    with pytest.raises(UnitError, match="unit is given twice"):
        join_quantity("0.5 mS/cm", {"unit": "S/cm"})
    with pytest.raises(UnitError, match="unit given both"):
        join_quantity({"value": 0.5, "unit": "mS/cm"}, {"unit": "S/cm"})
    with pytest.raises(UnitError, match="unit is given twice"):
        parse_value({"value": "0.5 mS/cm", "unit": "S/cm"}, "conductivity", "s")


@pytest.mark.parametrize("rec", [
    {"value": "0.5 mS/cm", "uncertainty": 0.1},
    {"value": {"value": 0.5, "unit": "mS/cm"}, "uncertainty": 0.1},
    {"value": 0.5, "unit": "mS/cm", "uncertainty": 0.1},
    {"value": "0.5 ± 0.1 mS/cm"},
    {"value": {"value": 0.5, "unit": "mS/cm", "uncertainty": "100 µS/cm"}},
])
def test_property_record_forms_agree(rec):
    doc = build_property({"sample": "S1", "name": "ionic_conductivity", "conditions": {"temperature": "25 °C"}, **rec},
                         {"notebook": "NB"})
    assert (doc["value"], doc["uncertainty"], doc["unit"]) == (5e-4, 1e-4, "S/cm")


def test_property_record_with_unit_twice_is_an_error_naming_the_field():
    with pytest.raises(RecordError) as err:
        build_property({"sample": "S1", "name": "activation_energy", "value": {"value": 0.5, "unit": "eV"}, "unit": "meV"},
                       {"notebook": "NB"}, "properties[2]")
    assert err.value.field == "properties[2].value" and "unit given both" in err.value.message


def test_text_range_gives_a_standard_uncertainty():
    """'0.20-0.40 eV': midpoint, the range kept, and u = half-width/sqrt 3 (GUM 4.3.7, rectangular), the
    same kind of uncertainty as '0.30(6) eV' states; the half-width itself (0.10) overstated it by 73 %."""
    v = parse_value("0.20-0.40 eV", "energy", "Ea")
    assert v.value == pytest.approx(0.30) and v.range == (0.20, 0.40) and v.qualifier == "range"
    assert v.uncertainty == pytest.approx(0.1 / math.sqrt(3), rel=1e-9)
    mapped = parse_value({"value": 0.30, "range": [0.20, 0.40], "qualifier": "range", "unit": "eV"}, "energy", "Ea")
    assert mapped.uncertainty is None  # a mapping states its uncertainty itself, or none


@pytest.mark.parametrize(("unit", "target", "factor"), [
    ("mAh/mAh", "percent", 100.0), ("Ah/Ah", "1", 1.0), ("g/mAh", "g/C", 1 / 3.6), ("mWh/cm2", "J/m^2", 36000.0),
    ("µAh", "C", 0.0036), ("mAh/g", "A*h/kg", 1.0),
])
def test_compact_capacity_units_are_one_factor(unit, target, factor):
    """'mAh' is one unit (mA*h) wherever it stands; 'mAh/mAh' is 1, not h^2, and 'g/mAh' is g/(mA*h)."""
    assert convert(1.0, unit, target) == pytest.approx(factor, rel=1e-12)


@pytest.mark.parametrize(("text", "value"), [
    ("1.2e-4 S cm-1", 1.2e-4), ("1.2 mS cm-1", 1.2e-3), ("1.2 mS cm−1", 1.2e-3), ("1.2 mS·cm−1", 1.2e-3),
    ("1.2 S.cm-1", 1.2), ("1.2 S m-1", 1.2e-2),
])
def test_papers_negative_exponents(text, value):
    """Papers write 'S cm-1' (and 'S·cm−1' with a Unicode minus); it was refused as an unknown unit."""
    v = parse_value(text, "conductivity", "sigma")
    assert v.unit == "S/cm" and v.value == pytest.approx(value, rel=1e-12) and v.entered == {"text": text}


def test_papers_exponents_in_other_quantities():
    assert convert(1.0, "kJ mol-1", "eV") == pytest.approx(1 / EV_IN_KJ_PER_MOL, rel=1e-12)
    assert convert(1.0, "mA cm-2", "A/cm^2") == pytest.approx(1e-3, rel=1e-12)
    assert convert(1.0, "mAh g-1", "mA*h/g") == pytest.approx(1.0, rel=1e-12)


@pytest.mark.parametrize(("raw", "message"), [
    ("1-3e-4 S/cm", "only one end has an exponent"),  # was 0.50015 S/cm, range (1.0, 0.0003)
    ("1e-4-3 S/cm", "only one end has an exponent"),
    ("3e-4-1e-4 S/cm", "the low end comes first"),
    ({"value": 2e-4, "range": [3e-4, 1e-4], "unit": "S/cm"}, "the low end comes first"),
])
def test_a_range_that_cannot_be_read_one_way_is_refused(raw, message):
    with pytest.raises(UnitError, match=message):
        parse_value(raw, "conductivity", "sigma")
    assert parse_value("1e-4-3e-4 S/cm", "conductivity", "sigma").range == (1e-4, 3e-4)
