"""GET /api/v1/properties: filters, sort, sparse fields, totals, cursor pages, units, expand."""

from __future__ import annotations

import pytest

from tests.api.conftest import assert_error, props


def labels(body):
    return [d["sample_label"] for d in body["data"]]


def test_example_filter(client):
    st, body = props(client, filter='property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 '
                                    'AND elements HAS "Na" AND milling_time_h>=0.2 AND max_anneal_c<=300')
    assert st == 200, body
    # NCB-BM-1h (4e-3) matches; NCB-BM-15min has 0.25 h >= 0.2 too; LiCl has no Na
    assert sorted(labels(body)) == ["NCB-BM-15min", "NCB-BM-1h"]
    for d in body["data"]:
        assert d["value"] >= 1e-4 and "Na" in d["elements"] and d["unit"] == "S/cm"


def test_never_annealed_counts_as_below_any_anneal_bound(client):
    st, body = props(client, filter='property="ionic_conductivity" AND temperature_c=25 AND max_anneal_c<=300 AND elements HAS "Mg"')
    assert st == 200
    # MAN-milled was never annealed; MAN-A300 annealed at 300 °C; MAN-A600 excluded
    assert sorted(labels(body)) == ["MAN-A300", "MAN-milled"]
    st, body = props(client, filter='property="ionic_conductivity" AND max_anneal_c<=300 AND annealed="true" AND elements HAS "Mg"')
    assert labels(body) == ["MAN-A300"]
    st, body = props(client, filter='property="ionic_conductivity" AND max_anneal_c>300')
    assert sorted(set(labels(body))) == ["MAN-A600"]


def test_sort_and_sparse_fields(client):
    st, body = props(client, filter='property="ionic_conductivity"', sort="-value,temperature_c", fields="name,value,sample_label",
                     page_limit=100)
    assert st == 200
    values = [d["value"] for d in body["data"]]
    assert values == sorted(values, reverse=True)
    assert all(set(d) == {"name", "value", "sample_label"} for d in body["data"])
    assert "total" not in body["meta"]


def test_total_only_when_asked(client):
    st, body = props(client, filter='property="ionic_conductivity" AND temperature_c=25', include_total="true", page_limit=2)
    assert st == 200
    assert body["meta"]["total"] == 13
    assert body["meta"]["returned"] == 2 and body["meta"]["more_data_available"] is True


def test_cursor_pages_cover_everything_once(client):
    seen = []
    params = {"filter": 'property="ionic_conductivity"', "sort": "-value", "page_limit": 3}
    st, body = props(client, **params)
    while True:
        assert st == 200, body
        seen += [d["id"] for d in body["data"]]
        if not body["meta"]["more_data_available"]:
            assert body["meta"]["next"] is None
            break
        assert body["meta"]["next"].startswith("/api/v1/properties?")
        st, body = props(client, **params, page_cursor=body["meta"]["next_cursor"])
    st, full = props(client, filter=params["filter"], sort="-value", page_limit=1000)
    assert seen == [d["id"] for d in full["data"]]
    assert len(seen) == len(set(seen)) == 17


def test_next_link_is_followable(client):
    st, body = props(client, sort="temperature_c", page_limit=5)
    nxt = body["meta"]["next"]
    r = client.get(nxt.replace("http://localhost", ""))
    assert r.status_code == 200
    assert not set(d["id"] for d in r.get_json()["data"]) & set(d["id"] for d in body["data"])


def test_cursor_with_nullable_sort_key(client):
    """temperature_c is missing on many properties: keyset paging must still visit each doc once."""
    for sort in ("temperature_c", "-temperature_c", "x,-value", "-x"):
        ids, cursor = [], None
        while True:
            params = {"sort": sort, "page_limit": 4, **({"page_cursor": cursor} if cursor else {})}
            st, body = props(client, **params)
            assert st == 200, body
            ids += [d["id"] for d in body["data"]]
            cursor = body["meta"]["next_cursor"]
            if not cursor:
                break
        st, full = props(client, sort=sort, page_limit=1000)
        assert ids == [d["id"] for d in full["data"]], sort


def test_pagination_stays_correct_while_inserting(loaded_rw_app, store):
    """Documents inserted between pages never cause duplicates or skips of existing documents."""
    client = loaded_rw_app.test_client()
    params = {"filter": 'property="ionic_conductivity"', "sort": "-value", "page_limit": 4}
    st, body = props(client, **params)
    original = [d["id"] for d in props(client, **{**params, "page_limit": 1000})[1]["data"]]
    seen = [d["id"] for d in body["data"]]
    template = store.db.properties.find_one({"name": "ionic_conductivity"})
    n = 0
    while body["meta"]["next_cursor"]:
        # insert one that sorts before the cursor and one after it
        for value in (1.0, 1e-12):
            n += 1
            doc = dict(template, _id=f"prop-inserted-{n}", value=value)
            store.db.properties.insert_one(doc)
        st, body = props(client, **params, page_cursor=body["meta"]["next_cursor"])
        assert st == 200
        seen += [d["id"] for d in body["data"]]
    assert len(seen) == len(set(seen)), "duplicates across pages"
    assert set(original) <= set(seen), "skipped documents"
    # documents inserted after the cursor position (small values) are picked up
    assert any(i.startswith("prop-inserted") for i in seen)


def test_cursor_from_other_query_is_rejected(client):
    st, body = props(client, sort="-value", page_limit=2)
    r = client.get("/api/v1/properties", query_string={"sort": "value", "page_cursor": body["meta"]["next_cursor"]})
    assert_error(r, 400)
    r = client.get("/api/v1/properties", query_string={"page_cursor": "garbage"})  # base64 alphabet, not a cursor
    assert_error(r, 400)
    r = client.get("/api/v1/properties", query_string={"page_cursor": "garbage!!"})  # outside the documented pattern
    assert_error(r, 422)


def test_unit_conversion(client):
    st, base = props(client, filter='property="ionic_conductivity" AND sample="NCB-BM-15min" AND temperature_c=25')
    st, body = props(client, filter='property="ionic_conductivity" AND sample="NCB-BM-15min" AND temperature_c=25', unit="mS/cm")
    assert st == 200, body
    d0, d1 = base["data"][0], body["data"][0]
    assert d1["unit"] == "mS/cm" and body["meta"]["unit"] == "mS/cm"
    assert d1["value"] == pytest.approx(d0["value"] * 1000)
    assert d1["uncertainty"] == pytest.approx(d0["uncertainty"] * 1000)


def test_unit_conversion_rejects_mixed_or_bad_units(client):
    r = client.get("/api/v1/properties", query_string={"filter": 'sample="NCB-BM-15min"', "unit": "mS/cm"})
    body = assert_error(r, 400)  # activation energy (eV) cannot be expressed in mS/cm
    assert "unit" in body["errors"]
    r = client.get("/api/v1/properties", query_string={"unit": "furlongs/fortnight^7"})
    assert_error(r, 400)
    st, body = props(client, filter='property="activation_energy"', unit="meV")
    assert st == 200 and all(d["unit"] == "meV" and d["value"] > 100 for d in body["data"])


def test_expand_sample_shows_how_it_was_made(client):
    st, body = props(client, filter='property="ionic_conductivity" AND sample="MAN-A600" AND temperature_c=25', expand="sample")
    assert st == 200
    exp = body["data"][0]["sample_expanded"]
    assert exp["label"] == "MAN-A600" and exp["parent"]
    assert [s["type"] for s in exp["steps"]] == ["ball_milling", "annealing"]
    assert body["data"][0]["synthesis"]["max_anneal_c"] == 600.0


def test_property_by_id_and_fields_listing(client):
    st, body = props(client, page_limit=1)
    pid = body["data"][0]["id"]
    r = client.get(f"/api/v1/properties/{pid}")
    assert r.status_code == 200 and r.get_json()["id"] == pid
    assert_error(client.get("/api/v1/properties/nope"), 404)
    r = client.get("/api/v1/properties/fields")
    names = {f["name"] for f in r.get_json()["data"]}
    assert {"property", "value", "milling_time_h", "max_anneal_c", "x", "series"} <= names


@pytest.mark.parametrize("filter_,status", [
    ("bogus=1", 400), ("value >", 400), ('value="x"', 400), ("", 200),
])
def test_filter_status(client, filter_, status):
    r = client.get("/api/v1/properties", query_string={"filter": filter_})
    assert r.status_code == status
    if status == 400:
        body = assert_error(r, 400)
        assert "filter" in body["errors"]


def test_page_json_is_the_cleaned_documents(api_app, client):
    """The view dumps stored values with orjson; the same page through clean() (as the search page
    gets it) must read back identical: ids renamed, datetimes as ISO 8601 with "Z", nothing else changed."""
    import json

    from ionbase.service.properties.schemas import PropertyQueryArgs
    from ionbase.service.properties.views import property_page

    query = {"page_limit": "1000", "expand": "sample"}
    st, body = props(client, **query)
    assert st == 200 and body["data"]
    with api_app.test_request_context("/api/v1/properties", query_string=query):
        cleaned, meta = property_page(PropertyQueryArgs().load(query))
    assert body == json.loads(json.dumps({"data": cleaned, "meta": meta}))
    assert any(d.get("updated_at", "").endswith("Z") for d in body["data"])  # a datetime went through orjson
