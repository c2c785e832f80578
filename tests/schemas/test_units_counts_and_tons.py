"""A mill's rpm and frequency are counts per time (1 rpm = 1/min = 1/60 Hz), and 'ton' is refused.

pint's rpm is revolution/minute with revolution = 2π rad, so "400 min-1" was stored as 63.66 rpm,
"30 Hz" as 286.5 rpm and a frequency of "120 rpm" as 12.57 Hz; pint's 'ton' is the US short ton,
so "5 ton" was 44.48 kN where "5 t" is 49.03 kN (review, 2026-12-03).
"""

from __future__ import annotations

import pytest

from ionbase.schemas.units import UnitError, convert, parse_value

#: every spelling of a count per time, and how many rpm one of it is
PER_TIME = {"rpm": 1.0, "1/min": 1.0, "min-1": 1.0, "min^-1": 1.0, "Hz": 60.0, "s-1": 60.0}


@pytest.mark.parametrize("src", sorted(PER_TIME))
@pytest.mark.parametrize("dst", sorted(PER_TIME))
def test_every_pair_of_count_rates_converts_both_ways(src, dst):
    assert convert(1.0, src, dst) == pytest.approx(PER_TIME[src] / PER_TIME[dst], rel=1e-12)


@pytest.mark.parametrize("src", sorted(PER_TIME))
def test_rotation_speed_and_frequency_in_every_spelling(src):
    rpm = parse_value(f"120 {src}", "rotation_speed", "steps[0].rpm").value
    hz = parse_value(f"120 {src}", "frequency", "steps[0].frequency").value
    assert rpm == pytest.approx(120 * PER_TIME[src]) and hz == pytest.approx(120 * PER_TIME[src] / 60)


def test_the_reviewers_values():
    assert parse_value("400 min-1", "rotation_speed", "rpm").value == 400.0  # was 63.66
    assert parse_value("30 Hz", "rotation_speed", "rpm").value == 1800.0  # was 286.5
    assert parse_value("120 rpm", "frequency", "frequency").value == 2.0  # was 12.57
    assert parse_value(400, "rotation_speed", "rpm", default_unit="min-1").value == 400.0


@pytest.mark.parametrize("text, rpm", [("400 revolution/min", 400.0), ("2 rps", 120.0), ("6 deg/s", 1.0),
                                       ("1 rad/s", 60 / (2 * 3.141592653589793))])
def test_an_angle_per_time_counts_one_per_turn(text, rpm):
    assert parse_value(text, "rotation_speed", "rpm").value == pytest.approx(rpm, rel=1e-11)


def test_angles_stay_angles():
    assert parse_value("1.5707963267948966 rad", "angle", "alpha").value == pytest.approx(90.0)
    assert parse_value("0.25 turn", "angle", "alpha").value == pytest.approx(90.0)
    assert convert(1.0, "rad", "degree") == pytest.approx(57.29577951308232)
    assert convert(2 * 3.141592653589793, "rad/s", "Hz") == pytest.approx(1.0)  # ω = 2π f
    assert convert(25.0, "degC", "K") == pytest.approx(298.15)  # an offset unit is not multiplied


@pytest.mark.parametrize("text, kind", [("5 ton", "force"), ("5 tons", "force"), ("5 ton_force", "force"),
                                        ("5 force_ton", "force"), ("2 ton/cm^2", "pressure"),
                                        ("2 tons/cm2", "pressure")])
def test_ton_is_refused_naming_the_field(text, kind):
    with pytest.raises(UnitError) as err:
        parse_value(text, kind, "steps[1].force")
    msg = str(err.value)
    assert msg.startswith("steps[1].force: ") and "ambiguous" in msg, msg
    assert "'t' (tonne)" in msg and "'ton_US'" in msg and "'short_ton'" in msg, msg


@pytest.mark.parametrize("text, kn", [("5 t", 49.03325), ("5 tonne", 49.03325), ("5 tonnes", 49.03325),
                                      ("5 short_ton", 44.4822161526), ("5 ton_US", 44.4822161526),
                                      ("5 US_ton", 44.4822161526), ("5 long_ton", 49.8200820909),
                                      ("5 tf", 49.03325), ("49 kN", 49.0)])
def test_explicit_tonnes_and_tons_are_read(text, kn):
    assert parse_value(text, "force", "force").value == pytest.approx(kn, rel=1e-10)


def test_newton_is_not_a_ton():
    assert parse_value("3000 newtons", "force", "force").value == 3.0
