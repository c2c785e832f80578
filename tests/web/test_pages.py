"""Pages in a real browser (headless Chromium): what a person sees, and nothing loaded from another host."""

from __future__ import annotations

import re

import pytest

pytestmark = pytest.mark.slow

SAMPLE = "NaCB11H12-BM-45min"


def _plot_points(page, selector: str) -> int:
    """Data points plotly drew (SVG path markers of scatter traces) inside ``selector``."""
    page.page.wait_for_selector(f"{selector} .scatterlayer .trace", timeout=20_000)
    return page.page.locator(f"{selector} .scatterlayer .points path.point").count()


def _axis_titles(page, selector: str) -> list[str]:
    loc = page.page.locator(f"{selector} .g-xtitle, {selector} .g-ytitle, {selector} .g-y2title")
    return sorted(t.strip() for t in loc.all_text_contents())


def test_search_to_sample_page_with_milling_step_and_plot(page):
    """Search -> result table -> the sample page of NaCB11H12-BM-45min: its milling step and a plot with a point."""
    page.goto("/")
    p = page.page
    assert p.locator("form[role=search] textarea#filter").is_visible()
    p.fill("#filter", f'sample_label="{SAMPLE}"')
    p.select_option("select[name=property]", "ionic_conductivity")
    p.focus("#filter")
    p.keyboard.press("Tab")  # keyboard order: filter box -> first quick filter
    assert p.evaluate("() => document.activeElement.name") == "family"
    p.focus("button[type=submit]")
    with p.expect_navigation():  # wait for the new page, not the one already loaded
        p.keyboard.press("Enter")
    assert p.locator("#results-h").inner_text() == "1 result"
    row = p.locator("table.results tbody tr").first
    cells = row.locator("td").all_inner_texts()
    # the value as stored (4 mS/cm reported -> 0.004 S/cm), with its unit and temperature
    assert cells[0] == SAMPLE and cells[3] == "ionic_conductivity" and cells[4] == "0.004" and cells[6] == "S/cm"
    assert cells[7] == "25"
    assert "elements" not in p.locator(".used-filter").inner_text()  # shows the composed filter
    export = p.locator("a.button", has_text="CSV").get_attribute("href")
    assert export.startswith("/api/v1/export?format=csv&filter=")
    page.shot("search")
    with p.expect_navigation():  # wait for the new page, not the one already loaded
        row.locator("a").first.click()
    assert p.locator("h1").inner_text() == f"Sample {SAMPLE}"
    steps = p.locator("ol.timeline li.step h3").all_inner_texts()
    assert steps == ["1. purchase", "2. drying", "3. ball milling"]
    milling = p.locator("ol.timeline li.step").nth(2).inner_text()
    assert "duration" in milling and "0.75 h" in milling and "entered: 45 min" in milling
    assert "ball to powder ratio\t180\t" in milling  # a ratio: no unit word
    drying = p.locator("ol.timeline li.step").nth(1).inner_text()
    assert "453.15 K" in drying and "entered: 180 °C" in drying  # canonical value, the entered text kept
    assert p.locator("a", has_text="NaCB11H12-pristine").count() == 1  # lineage link to the parent
    assert p.locator("a[href='https://doi.org/10.1002/smt.202300833']").count() >= 1
    assert _plot_points(page, "#arrhenius") == 1  # one conductivity point, 4 mS/cm at 25 °C
    y = p.evaluate("() => document.getElementById('arrhenius').data[0].y[0]")
    assert y == pytest.approx(-2.39794, abs=1e-5)  # log10(0.004)
    assert _axis_titles(page, "#arrhenius") == sorted(["1000/T (1/K)", "log10 σ (σ in S/cm)"])
    page.shot("sample")
    with p.expect_navigation():  # wait for the new page, not the one already loaded
        p.locator("dl.facts a", has_text="NaCB11H12").first.click()  # the material page lists its samples
    assert p.locator("h1").inner_text() == "Material NaCB11H12"
    labels = p.locator("main ul li a").all_inner_texts()
    assert {SAMPLE, "NaCB11H12-pristine", "NaCB11H12-BM-6h"} <= set(labels)
    assert "closo-borate" in p.locator("dl.facts").inner_text()
    page.shot("material")
    assert page.errors == [] and page.foreign_hosts() == set()


def test_measurement_page_nyquist_with_fit_bode_and_zoom(page, web_store):
    """The impedance spectrum: measured points, the fitted circuit overlaid, Bode plot, zoom to the arc."""
    m = web_store.measurements.find_one({"kind": "impedance_spectrum", "label": "EIS-25C"}, {"_id": 1})
    n = len(web_store.measurement_arrays.arrays(m["_id"]).arrays["z_real"])
    page.goto(f"/measurements/{m['_id']}")
    p = page.page
    assert "fitted circuit" in p.locator("#eis-h").inner_text()
    assert _plot_points(page, "#nyquist") == n  # every measured point drawn
    assert p.locator("#nyquist .scatterlayer .trace .js-line").count() >= 1  # the fitted curve
    assert _axis_titles(page, "#nyquist") == sorted(["Z′ (Ω)", "−Z″ (Ω)"])
    assert _axis_titles(page, "#bode") == sorted(["frequency (Hz)", "|Z| (Ω)", "−phase (°)"])
    assert _plot_points(page, "#bode") == 2 * n
    full = p.evaluate("() => document.getElementById('nyquist').layout.xaxis.range[1]")
    p.click("#zoom-arc")
    p.wait_for_function("() => document.getElementById('nyquist').layout.xaxis.autorange === false")
    arc = p.evaluate("() => document.getElementById('nyquist').layout.xaxis.range[1]")
    assert arc < full  # the electrode spike is cut off, the high-frequency arc fills the plot
    fit = p.locator("#fit-h").inner_text()
    assert fit.startswith("Circuit fit R0-p(R1,CPE1)-CPE2") and "poor fit" not in fit
    assert "Lin-KK check: passed" in p.locator("section[aria-labelledby=fit-h] p").inner_text()
    params = {r.split("\t")[0]: r.split("\t")[1:] for r in p.locator("#fit-parameters tbody tr").all_inner_texts()}
    assert params["R1"][0].startswith("20000 ± ") and params["R1"][1] == "ohm"  # the synthetic spectrum's R1 = 20 kOhm
    arcs = [r.split("\t")[:3] for r in p.locator("#arcs tbody tr").all_inner_texts()]
    assert arcs == [["p(R1,CPE1)", "bulk", "20000"], ["CPE2", "electrode", ""]]
    page.shot("measurement")
    rows = p.locator("section[aria-labelledby=derived-h] tbody tr").all_inner_texts()
    assert any(r.startswith("ionic_conductivity\t") and r.rstrip().endswith("eis") for r in rows)
    assert "298.15 K" in p.locator("dl.facts").inner_text() and "± K" not in p.locator("dl.facts").inner_text()
    assert page.errors == [] and page.foreign_hosts() == set()


def test_bad_filter_is_shown_next_to_the_box(page):
    page.goto("/?" + "filter=value%20%3E%3D%3D%201", status=400)  # the page, with the error, as a 400
    alert = page.page.locator("[role=alert]").inner_text()
    assert re.search(r"invalid filter at position \d+", alert)
    page.goto("/?colour=red", status=400)
    assert page.page.locator("[role=alert]").inner_text() == "unknown search parameter(s): colour"


def test_api_docs_render_offline(page):
    """Swagger UI and ReDoc render the operations with scripts served by Ionbase itself."""
    page.goto("/api/v1/docs")
    p = page.page
    p.wait_for_selector(".opblock-summary-path", timeout=30_000)
    paths = p.locator(".opblock-summary-path").all_inner_texts()
    assert "/api/v1/properties" in [x.strip().replace("\u200b", "") for x in paths]
    assert len(paths) >= 20
    page.shot("swagger")
    page.goto("/api/v1/redoc")
    p.wait_for_selector("h1:has-text('Ionbase API')", timeout=30_000)
    assert p.locator("text=Query properties across materials").count() >= 1  # an operation in the menu
    page.shot("redoc")
    assert page.foreign_hosts() == set()


def test_root_and_api_index_answer(page):
    resp = page.goto("/api/v1")
    assert resp.headers["content-type"].startswith("application/json")
    assert page.page.evaluate("() => JSON.parse(document.body.innerText).links.docs") == "/api/v1/docs"
    resp = page.goto("/")
    assert "default-src 'self'" in resp.headers["content-security-policy"]


def test_trends_page_conductivity_against_milling_time(page, web_store):
    """σ(25 °C) against milling time, coloured by material; every point links to its sample."""
    page.goto("/trends")
    p = page.page
    p.select_option("select[name=property]", "ionic_conductivity")
    p.select_option("select[name=parameter]", "milling_time_h")
    p.fill("input[name=temperature_c]", "25")
    with p.expect_navigation():  # wait for the new page, not the one already loaded
        p.click("button[type=submit]")
    assert p.locator("#trend-h").inner_text() == "ionic_conductivity at 25 °C against milling time (h)"
    n = _plot_points(page, "#trend")
    expected = web_store.properties.count({"name": "ionic_conductivity", "temperature_c": {"$gte": 24.5, "$lte": 25.5},
                                           "synthesis.milling_time_h": {"$exists": True}, "material_id": {"$exists": True}})
    assert n == expected >= 3
    assert _axis_titles(page, "#trend") == sorted(["milling time (h)", "ionic_conductivity (S/cm)"])
    rows = p.locator("#trend-table tbody tr").all_inner_texts()
    assert any(r.startswith("NaCB11H12\tNaCB11H12-BM-45min\t0.75\t0.004000\treported") for r in rows)
    page.shot("trends")
    with p.expect_navigation():  # wait for the new page, not the one already loaded
        p.locator("#trend-table a", has_text="NaCB11H12-BM-45min").click()
    assert p.locator("h1").inner_text() == "Sample NaCB11H12-BM-45min"
    assert page.errors == [] and page.foreign_hosts() == set()


def test_trends_page_requires_a_temperature(page):
    page.goto("/trends?property=ionic_conductivity&parameter=milling_time_h&temperature_c=&group_by=material", status=400)
    assert "choose the measurement temperature" in page.page.locator("[role=alert]").inner_text()
    assert page.page.locator("#trend").count() == 0


BAD_RECORDS = """ionbase_format: 1
source: {doi: 10.9999/ionbase.web-test}
materials:
  - {key: WEB-NaCl, formula: NaCl, family: halide}
samples:
  - {label: WEB-S1, material: WEB-NaCl}
properties:
  - {sample: WEB-S1, name: ionic_conductivity, value: 1 mS/m/K, conditions: {temperature: 25 °C}}
"""


def test_import_page_error_inline_then_dry_run_commit_and_rollback(page, web_settings, web_store, tmp_path):
    """A unit error is shown with file, row and field; the fixed file passes a dry run, commits with a
    writer key, appears in the batch list and is rolled back from it."""
    from ionbase.service.keys import create_key, server_secret

    _, token = create_key(web_store, "web-test", "writer", server_secret(web_settings))
    bad, good = tmp_path / "bad.yaml", tmp_path / "good.yaml"
    bad.write_text(BAD_RECORDS, encoding="utf-8")
    good.write_text(BAD_RECORDS.replace("1 mS/m/K", "1 mS/cm"), encoding="utf-8")
    page.goto("/import")
    p = page.page
    p.fill("#api-key", token)
    p.set_input_files("#files", str(bad))
    p.click("#dry-run")
    p.wait_for_selector("#issues:not([hidden]) tbody tr")
    issue = p.locator("#issues tbody tr").first.locator("td").all_inner_texts()
    assert issue[:3] == ["bad.yaml", "8", "properties[0].value"]
    assert "'mS/m/K' is not a unit of conductivity" in issue[3]
    assert p.locator("#report-status").inner_text() == "1 invalid record(s); nothing was written"
    assert p.locator("#commit").is_disabled()
    page.shot("import-error")

    p.set_input_files("#files", str(good))
    p.click("#dry-run")
    p.wait_for_selector("#counts:not([hidden]) tbody tr")
    counts = {r.split("\t")[0]: r.split("\t")[1:] for r in p.locator("#counts tbody tr").all_inner_texts()}
    assert counts["samples"] == ["1", "0", "0"] and counts["properties"] == ["1", "0", "0"]
    assert web_store.samples.find_one({"label": "WEB-S1"}) is None  # a dry run writes nothing
    p.click("#commit")
    p.wait_for_selector("#report-status:has-text('Committed as batch')")
    batch = p.locator("#report-status").inner_text().split("batch ")[1].rstrip(".")
    prop = web_store.properties.find_one({"sample_label": "WEB-S1"})
    assert prop["value"] == pytest.approx(1e-3) and prop["unit"] == "S/cm"  # 1 mS/cm stored canonically
    row = p.locator("#batches tbody tr", has_text=batch)
    row.wait_for()
    assert "committed" in row.inner_text()
    page.shot("import-committed")
    row.get_by_role("button", name=f"Roll back batch {batch}").click()
    p.wait_for_selector(f"#report-status:has-text('Batch {batch} rolled back')")
    assert web_store.samples.find_one({"label": "WEB-S1"}) is None
    p.wait_for_selector(f"#batches tbody tr:has-text('{batch}'):has-text('rolled_back')")
    # the browser logs the refused dry run (422) and nothing else
    assert page.errors == ["Failed to load resource: the server responded with a status of 422 (UNPROCESSABLE ENTITY)"]
    assert page.foreign_hosts() == set()


KB_EV = 8.617333262e-5


def test_sample_arrhenius_plot_draws_the_stored_fit(page, web_settings, web_store, tmp_path):
    """Ideal Arrhenius data (Ea = 0.45 eV, A = 500 S/cm) at 4 temperatures: the analysis job fits it and
    the page draws the points and the stored fit line through them, with Ea in the legend."""
    import math

    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.jobs.runner import run_jobs

    temps = [300.0, 325.0, 350.0, 375.0]
    rows = "\n".join(f"  - {{sample: WEB-ARR, name: ionic_conductivity, value: {500 * math.exp(-0.45 / (KB_EV * t)):.6e} S/cm, "
                     f"conditions: {{temperature: {t} K, method: EIS}}}}" for t in temps)
    (tmp_path / "arr.yaml").write_text("ionbase_format: 1\nsource: {doi: 10.9999/ionbase.web-arrhenius}\n"
                                       "materials:\n  - {key: WEB-LiX, formula: Li3InCl6, family: halide}\n"
                                       "samples:\n  - {label: WEB-ARR, material: WEB-LiX}\n"
                                       f"properties:\n{rows}\n", encoding="utf-8")
    Importer(web_store, ImportOptions(progress=False)).run([tmp_path / "arr.yaml"])
    run_jobs(web_store, web_settings, progress=False)
    sample = web_store.samples.find_one({"label": "WEB-ARR"}, {"_id": 1})
    ea = web_store.properties.find_one({"sample": sample["_id"], "name": "activation_energy", "origin": "derived"})
    assert ea["value"] == pytest.approx(0.45, rel=1e-6)
    page.goto(f"/samples/{sample['_id']}")
    p = page.page
    _plot_points(page, "#arrhenius")
    traces = p.evaluate("() => document.getElementById('arrhenius').data.map(t => ({name: t.name, x: t.x, y: t.y, mode: t.mode}))")
    measured = next(t for t in traces if t["name"] == "ionic_conductivity (reported)")
    assert sorted(measured["x"]) == pytest.approx(sorted(1000 / t for t in temps))
    line = next(t for t in traces if t["mode"] == "lines")
    assert line["name"].startswith("ionic fit: Ea = 0.450 ± ") and line["name"].endswith(" eV")
    # the line spans the fitted range and passes through the ideal points
    assert min(line["x"]) == pytest.approx(1000 / 375) and max(line["x"]) == pytest.approx(1000 / 300)
    for x, y in zip(line["x"], line["y"]):
        assert y == pytest.approx(math.log10(500) - 0.45 / (KB_EV * 1000 / x) / math.log(10), abs=1e-6)
    # the job's interpolated sigma(25 °C) is drawn as a derived point, apart from the reported ones
    derived = next(t for t in traces if t["name"] == "ionic_conductivity (derived)")
    assert derived["x"] == pytest.approx([1000 / 298.15])
    assert p.locator("#arrhenius-fits").inner_text() == ""
    page.shot("sample-arrhenius")
    assert page.errors == [] and page.foreign_hosts() == set()


def test_cycling_measurement_capacity_and_efficiency_against_cycle(page, web_store, tmp_path):
    """A per-cycle summary file (tests/data/instrument/cycling_summary.csv) imported through a record:
    its measurement page plots charge/discharge capacity and coulombic efficiency against cycle."""
    import shutil

    from ionbase.ingest.importer import Importer, ImportOptions

    from tests.web.conftest import REPO

    shutil.copy(REPO / "tests" / "data" / "instrument" / "cycling_summary.csv", tmp_path / "cycling_summary.csv")
    (tmp_path / "lab.yaml").write_text(
        "source: {notebook: NB-WEB-CYC}\n"
        "samples:\n  - {label: WEB-C1, material: LiNi0.8Mn0.1Co0.1O2}\n"
        "measurements:\n  - {sample: WEB-C1, kind: galvanostatic_cycling, label: web-summary, file: cycling_summary.csv}\n",
        encoding="utf-8")
    Importer(web_store, ImportOptions(progress=False)).run([tmp_path / "lab.yaml"])
    m = web_store.measurements.find_one({"label": "web-summary"}, {"_id": 1, "payload": 1})
    cycles = m["payload"]["cycles"]
    page.goto(f"/measurements/{m['_id']}")
    p = page.page
    assert _plot_points(page, "#cycling") == 3 * len(cycles)
    data = p.evaluate("() => document.getElementById('cycling').data.map(t => ({name: t.name, y: t.y}))")
    by_name = {t["name"]: t["y"] for t in data}
    assert by_name["discharge capacity"] == [181.2, 182.9, 182.7, 182.4]  # the file's values, as stored
    assert by_name["coulombic efficiency"] == [c["coulombic_efficiency"]["value"] for c in cycles]
    assert _axis_titles(page, "#cycling") == sorted(["cycle", f"capacity ({cycles[0]['discharge_capacity']['unit']})",
                                                     "coulombic efficiency (%)"])
    assert "notebook NB-WEB-CYC" in p.locator("dl.facts").inner_text()
    page.shot("cycling")
    assert page.errors == [] and page.foreign_hosts() == set()
