"""The trends page and the sample Arrhenius plot draw bounds, derived values and fits as what they are
(a bound as a triangle, never as a measured point; a fit labelled with its carrier, only for its carrier)."""

from __future__ import annotations

from urllib.parse import quote

import pytest
import yaml

from tests.api.test_trend_flags import RECORDS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def flagged(web_settings, web_store, tmp_path_factory):
    """The API test records (bound, extrapolated σ(25 °C), ionic and electronic series), analysed."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.jobs.runner import run_jobs

    path = tmp_path_factory.mktemp("flags") / "lab.yaml"
    path.write_text(yaml.safe_dump(RECORDS, sort_keys=False, allow_unicode=True), encoding="utf-8")
    Importer(web_store, ImportOptions(progress=False)).run([path])
    run_jobs(web_store, web_settings, progress=False)
    return web_store


def _traces(page, selector: str) -> list[dict]:
    page.page.wait_for_selector(f"{selector} .scatterlayer .trace", timeout=20_000)
    return page.page.evaluate(f"() => document.querySelector('{selector}').data.map(t => "
                              "({name: t.name, mode: t.mode, x: t.x, y: t.y, symbol: (t.marker || {}).symbol}))")


def test_trends_page_marks_bounds_and_derived_values(page, flagged):
    page.goto("/trends?property=ionic_conductivity&parameter=milling_time_h&temperature_c=25&group_by=material"
              "&filter=" + quote('sample_label="S-UB" OR sample_label="S-ARR" OR sample_label="S-M"'))
    traces = {t["name"]: t for t in _traces(page, "#trend")}
    assert traces["Mg3AsN (upper bound, not a value)"]["symbol"] == "triangle-down-open"
    assert traces["Mg3AsN (upper bound, not a value)"]["y"] == pytest.approx([1e-8])
    assert traces["Mg3AsN (derived)"]["symbol"] == "diamond-open"
    assert traces["Mg3AsN"]["y"] == pytest.approx([2e-4])  # the only plain value
    rows = page.page.locator("#trend-table tbody tr").all_inner_texts()
    assert "Mg3AsN\tS-UB\t2\t< 1.000e-8\treported, upper bound, EIS" in rows
    assert any(r.startswith("Mg3AsN\tS-ARR\t2\t≈ ") and "derived, approximate, Arrhenius extrapolation" in r for r in rows)
    assert page.errors == [] and page.foreign_hosts() == set()


def test_sample_arrhenius_plot_labels_fits_by_carrier(page, flagged):
    sample = flagged.samples.find_one({"label": "S-ARR"}, {"_id": 1})
    page.goto(f"/samples/{sample['_id']}")
    lines = sorted(t["name"] for t in _traces(page, "#arrhenius") if t["mode"] == "lines")
    assert len(lines) == 2  # one fit per carrier, each drawn once
    assert lines[0].startswith("electronic fit: Ea = 1.00") and lines[1].startswith("ionic fit: Ea = 0.500")
    assert page.errors == [] and page.foreign_hosts() == set()


def test_sample_arrhenius_plot_draws_a_bound_as_a_bound(page, flagged):
    sample = flagged.samples.find_one({"label": "S-UB"}, {"_id": 1})
    page.goto(f"/samples/{sample['_id']}")
    traces = _traces(page, "#arrhenius")
    assert [t["name"] for t in traces] == ["ionic_conductivity (upper bound, not a value)"]
    assert traces[0]["symbol"] == "triangle-down-open"
    assert page.errors == [] and page.foreign_hosts() == set()
