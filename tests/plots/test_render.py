"""The pure renderers: valid SVG with readable labels, PNG bytes, errors on unusable data."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from ionbase.service.plots import render

SVG_NS = "{http://www.w3.org/2000/svg}"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def svg_texts(data: bytes) -> list[str]:
    root = ET.fromstring(data)
    assert root.tag == f"{SVG_NS}svg"
    return ["".join(t.itertext()).strip() for t in root.iter(f"{SVG_NS}text")]


def arrhenius_points(ea=0.45, pref=10**2.5, temps=(298.15, 323.15, 348.15, 373.15)):
    return [(t, pref * math.exp(-ea / (render.KB_EV * t))) for t in temps]


def test_arrhenius_svg_has_axes_units_and_fit_legend():
    fit = {"Ea_eV": 0.45, "Ea_stderr_eV": 0.012, "prefactor": 10**2.5, "form": "sigma", "r2": 0.999}
    texts = svg_texts(render.arrhenius_svg(arrhenius_points(), fit))
    assert "1000 / T (K⁻¹)" in texts
    assert "log₁₀(σ / S cm⁻¹)" in texts
    assert "T (°C)" in texts
    legend = [t for t in texts if t.startswith("fit:")]
    assert legend and "0.450 ± 0.012 eV" in legend[0]
    # °C ticks on the top axis cover 25-100 °C
    assert {"40", "60", "80"} <= set(texts)


def test_arrhenius_sigmaT_form_and_segments():
    fit = {"segments": [
        {"Ea_eV": 0.9, "prefactor": 1e8, "form": "sigmaT", "T_min_K": 298, "T_max_K": 330, "label": "low-T"},
        {"Ea_eV": 0.2, "prefactor": 1e2, "form": "sigmaT", "T_min_K": 340, "T_max_K": 400, "label": "high-T"},
    ]}
    texts = svg_texts(render.arrhenius_svg(arrhenius_points(temps=(300, 320, 350, 380, 400)), fit))
    assert any(t.startswith("low-T: Eₐ = 0.9") for t in texts)
    assert any(t.startswith("high-T: Eₐ = 0.2") for t in texts)


def test_arrhenius_without_fit_and_bad_points():
    texts = svg_texts(render.arrhenius_svg([(300, 1e-4), (350, -1.0), (float("nan"), 1e-3), (0, 1e-3)]))
    assert not any(t.startswith("fit") for t in texts)
    with pytest.raises(render.PlotError):
        render.arrhenius_svg([(300, 0.0), (-5, 1e-3)])


def test_png_magic_bytes():
    png = render.arrhenius_svg(arrhenius_points(), None, fmt="png")
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 5000
    with pytest.raises(render.PlotError):
        render.arrhenius_svg(arrhenius_points(), None, fmt="gif")


def _rc_spectrum(n=50):
    f = np.logspace(6, -1, n)
    z = 20 + 2e4 / (1 + 2e4 * 1e-10 * (2j * np.pi * f) ** 0.9) + 1 / (2e-5 * (2j * np.pi * f) ** 0.7)
    return f, z


def test_nyquist_equal_aspect_labels_and_fit():
    f, z = _rc_spectrum()
    data = render.nyquist_svg(z.real, z.imag, z.real * 1.01, z.imag * 1.01, circuit="R0-p(R1,CPE1)-CPE2")
    texts = svg_texts(data)
    assert "Z' (kΩ)" in texts and "−Z'' (kΩ)" in texts
    assert "fit: R0-p(R1,CPE1)-CPE2" in texts
    assert render.nyquist_svg(z.real, z.imag, fmt="png").startswith(PNG_MAGIC)


def test_nyquist_ohm_scale_for_small_impedances():
    texts = svg_texts(render.nyquist_svg([10, 20, 30], [-5, -8, -4]))
    assert "Z' (Ω)" in texts and "fit" not in " ".join(texts)


def test_property_vs_parameter_log_axis_when_values_span_decades():
    groups = {"NaCB11H12": [(0, 1e-9), (6, 9.78e-9), (12, 1e-5, 2e-6), (24, 3e-4)], "Na2B12H12": [(0, 1e-8), (10, 1e-6)]}
    data = render.property_vs_parameter_svg(groups, x_label="milling time (h)", y_label="Ionic conductivity (S/cm)")
    texts = svg_texts(data)
    assert "milling time (h)" in texts and "Ionic conductivity (S/cm)" in texts
    assert {"NaCB11H12", "Na2B12H12"} <= set(texts)
    # log axis with plain-text decade labels
    assert {"10⁻⁸", "10⁻⁶", "10⁻⁴"} <= set(texts)
    lin = svg_texts(render.property_vs_parameter_svg({"a": [(1, 2.0), (2, 3.0)]}, x_label="x (h)", y_label="y (eV)"))
    assert not any(t.startswith("10⁻") for t in lin)
    with pytest.raises(render.PlotError):
        render.property_vs_parameter_svg({"a": [(None, 1.0)]})
