"""GET /api/v1/properties?unit=kJ/mol: an energy per particle shown per mole (issue 9, point 10)."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error, props

EV_IN_KJ_PER_MOL = 96.48533212331001  # N_A * e, exact in the 2019 SI


@pytest.mark.parametrize("unit, per_ev", [("kJ/mol", EV_IN_KJ_PER_MOL), ("kcal/mol", EV_IN_KJ_PER_MOL / 4.184),
                                          ("J/mol", EV_IN_KJ_PER_MOL * 1000)])
def test_activation_energy_in_molar_units(client, unit, per_ev):
    query = 'property="activation_energy" AND sample="NCB-BM-15min"'
    st, body = props(client, filter=query, unit=unit)
    assert st == 200, body
    (d,) = body["data"]
    # stored as "0.45 ± 0.02 eV" in tests/data/api/records.yaml
    assert d["unit"] == unit and body["meta"]["unit"] == unit
    assert d["value"] == pytest.approx(0.45 * per_ev, rel=1e-11)
    assert d["uncertainty"] == pytest.approx(0.02 * per_ev, rel=1e-11)
    assert len(repr(d["uncertainty"]).replace(".", "").lstrip("0")) <= 13  # no float noise


def test_converted_values_carry_no_float_noise(client):
    st, body = props(client, filter='property="ionic_conductivity" AND sample="MAN-A300"', unit="mS/cm")
    assert st == 200, body
    assert [d["value"] for d in body["data"]] == [3e-5]  # 3e-8 S/cm; 3e-8 * 1000 is 2.9999999999999997e-05


def test_molar_unit_refused_for_a_conductivity(client):
    r = client.get("/api/v1/properties", query_string={"filter": 'property="ionic_conductivity"', "unit": "kJ/mol"})
    body = assert_error(r, 400)
    assert "unit" in body["errors"]
