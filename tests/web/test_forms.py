"""The search and trend forms without a browser: filters composed from quick filters, refusals, links."""

from __future__ import annotations

import re

import pytest

from ionbase.errors import InvalidRequest, UnknownParameter
from ionbase.service.web.search_form import EXAMPLES, check_fields, compose_filter


def test_quick_filters_compose_one_optimade_filter():
    form = {"filter": 'value>1e-4 OR value<1e-9', "family": "halide", "elements": "Na, In", "property": "ionic_conductivity",
            "temperature_c": "25", "max_anneal_c": "300", "milled": "1", "hot_pressed": ""}
    assert compose_filter(form) == ('(value>1e-4 OR value<1e-9) AND property="ionic_conductivity" AND family="halide" '
                                    'AND elements HAS ALL "Na","In" AND temperature_c=25 AND max_anneal_c<=300 AND milled="true"')
    assert compose_filter({"filter": " value>1 "}) == "value>1"
    assert compose_filter({}) == ""


@pytest.mark.parametrize("form, field", [({"elements": "Na, xx"}, "elements"), ({"temperature_c": "25 C"}, "temperature_c"),
                                         ({"max_anneal_c": "hot"}, "max_anneal_c")])
def test_bad_quick_filter_values_are_refused_naming_the_field(form, field):
    with pytest.raises(InvalidRequest) as exc:
        compose_filter(form)
    assert field in exc.value.errors


def test_unknown_search_field_is_refused():
    with pytest.raises(UnknownParameter, match="colour"):
        check_fields({"filter": "", "colour": "red"})


@pytest.fixture()
def client(seeded_store, app_client_for):
    return app_client_for(seeded_store)


def _alerts(html: str) -> list[str]:
    return re.findall(r'role="alert">(.*?)</p>', html)


def test_every_example_query_runs_and_matches_the_api(client):
    for _, text in EXAMPLES:
        page = client.get("/", query_string={"filter": text})
        assert page.status_code == 200 and _alerts(page.text) == [], text
        total = client.get("/api/v1/properties", query_string={"filter": text, "include_total": "true"}).json["meta"]["total"]
        assert f'<h2 id="results-h">{total} result' in page.text, text


def test_search_pages_and_sorts_like_the_api(client):
    q = {"property": "ionic_conductivity", "sort": "-value", "page_limit": "5"}
    page = client.get("/", query_string=q).text
    api = client.get("/api/v1/properties", query_string={"filter": 'property="ionic_conductivity"', "sort": "-value",
                                                          "page_limit": 5}).json
    labels = re.findall(r'<td><a href="/samples/[^"]+">([^<]+)</a></td>', page)
    assert labels == [d["sample_label"] for d in api["data"]]
    nxt = re.search(r'<a href="([^"]+)">Next page</a>', page).group(1).replace("&amp;", "&")
    page2 = client.get(nxt).text
    api2 = client.get(api["meta"]["next"]).json
    assert re.findall(r'<td><a href="/samples/[^"]+">([^<]+)</a></td>', page2) == [d["sample_label"] for d in api2["data"]]


def test_export_buttons_download_the_same_selection(client):
    page = client.get("/", query_string={"family": "closo-borate"}).text
    href = re.search(r'<a class="button" href="([^"]+)">CSV</a>', page).group(1).replace("&amp;", "&")
    r = client.get(href)
    body, rows = r.get_data(), r.headers["X-Ionbase-Rows"]  # a streamed body: read before the next request
    r.close()
    assert r.status_code == 200 and r.mimetype == "text/csv"
    direct = client.get("/api/v1/export", query_string={"format": "csv", "filter": 'family="closo-borate"'})
    direct_body = direct.get_data()
    direct.close()
    assert body == direct_body and rows == direct.headers["X-Ionbase-Rows"] != "0"
    pq = re.search(r'<a class="button" href="([^"]+)">Parquet</a>', page).group(1).replace("&amp;", "&")
    r = client.get(pq)
    assert r.get_data()[:4] == b"PAR1"
    r.close()


def test_vendor_assets_only_the_listed_files(client):
    assert client.get("/assets/vendor/plotly/plotly.min.js").status_code == 200
    assert client.get("/assets/vendor/swagger-ui/index.html").status_code == 404
    assert client.get("/assets/vendor/plotly/../../__init__.py").status_code == 404
    redoc = client.get("/assets/vendor/redoc/redoc.standalone.js").data
    assert b"cdn.redoc.ly" not in redoc and b"/assets/web/favicon.svg" in redoc


def test_sample_page_links_the_cif_of_a_refinement(client, seeded_store):
    """A structure result with a unit cell has a CIF download on the sample page (the seed's Mg3AsN
    refinements print a cell without atom positions: a cell-only CIF that says so)."""
    st = next(s for s in seeded_store.db.structures.find()
              if any((ph.get("lattice") or {}).get("a") for ph in s.get("phases") or []) and "Mg3AsN" in str(s))
    html = client.get(f"/samples/{st['sample']}").get_data(as_text=True)
    link = f"/api/v1/structures/{st['_id']}?format=cif"
    assert f'href="{link}"' in html and "Download CIF" in html
    cif = client.get(link)
    assert cif.status_code == 200
    a = st["phases"][0]["lattice"]["a"]["value"]
    assert re.search(rf"_cell_length_a\s+{a:g}", cif.get_data(as_text=True))
