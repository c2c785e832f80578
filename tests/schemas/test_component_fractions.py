"""A composite's component fractions are percent and add up to 100 %: fractions of 1 (0.65 and 0.35,
stored as 0.65 vol% and 0.35 vol%) are refused naming the field (review, 2026-12-03)."""

from __future__ import annotations

import pytest

from ionbase.schemas.build_common import RecordError
from ionbase.schemas.build_records import build_material


def _material(*fractions, bases=("vol", "vol")) -> dict:
    comps = [{"formula": f, "fraction": x, "basis": b} for f, x, b in zip(("Na2B12H12", "SiO2", "C"), fractions, bases)]
    return build_material({"key": "NBH-SiO2", "formula": "Na2B12H12", "components": comps}, {"notebook": "NB"},
                          "materials[0]")


def _refused(*fractions, bases=("vol", "vol", "vol")) -> RecordError:
    with pytest.raises(RecordError) as err:
        _material(*fractions, bases=bases)
    return err.value


def test_fractions_of_one_are_refused_naming_the_field():
    err = _refused(0.65, 0.35)
    assert err.field == "materials[0].components[*].fraction"
    assert "add up to 1 (0.65 + 0.35)" in str(err) and "fractions of 1" in str(err) and "percent" in str(err)
    assert "fractions of 1" in str(_refused(0.6, 0.3, 0.1))


@pytest.mark.parametrize("fractions, stored", [
    ((65, 35), [65.0, 35.0]),
    (("65 %", "35 %"), [65.0, 35.0]),
    (("65 vol%", "35 vol%"), [65.0, 35.0]),
    (({"value": 0.65, "unit": "-"}, {"value": 0.35, "unit": "-"}), [65.0, 35.0]),  # a fraction with its unit
    ((33, 33, 33), [33.0, 33.0, 33.0]),  # three thirds rounded to whole numbers
    ((33.3, 33.3, 33.4), [33.3, 33.3, 33.4]),
    ((65, 34.6), [65.0, 34.6]),  # within 0.5 percentage points
])
def test_percent_fractions_adding_up_to_100_are_stored(fractions, stored):
    doc = _material(*fractions, bases=("vol",) * len(fractions))
    assert [c["fraction"] for c in doc["components"]] == stored


def test_a_sum_away_from_100_is_refused():
    err = _refused(65, 30)
    assert err.field == "materials[0].components[*].fraction"
    assert "add up to 95 % (65 + 30), not 100 %" in str(err)
    assert "add up to 99 %" in str(_refused(65.0, 34.0))  # written to 0.1: 1 point is not rounding


def test_every_component_or_none_has_a_fraction():
    err = _refused(65, None)
    assert err.field == "materials[0].components[1].fraction" and "the balance too" in str(err)
    doc = _material(None, None)
    assert [c.get("fraction") for c in doc["components"]] == [None, None]


def test_fractions_in_one_basis():
    assert "different bases (vol, wt)" in str(_refused(65, 35, bases=("vol", "wt")))
    assert "is in wt% but the component's basis is 'vol'" in str(_refused("65 wt%", "35 wt%"))
