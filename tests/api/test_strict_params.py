"""Strict parameters: every endpoint refuses what it does not know; flags are read where documented.

The operations are taken from the app's own OpenAPI document, so a new endpoint is covered
without editing this file. /samples filters are checked on the seed data (seed_data/).
"""

from __future__ import annotations

import io
import re

import pytest

from tests.api.conftest import API_DATA, assert_error
from tests.api.test_errors_security import IMPORT_DOC

UNKNOWN = "bogus_param"
COLLECTIONS = ("materials", "samples", "routes", "measurements", "structures", "properties", "import_batches")


def _counts(store) -> dict[str, int]:
    return {c: store.db[c].count_documents({}) for c in COLLECTIONS}


def _operations(client) -> list[tuple[str, str, dict]]:
    spec = client.get("/api/v1/openapi.json").get_json()
    ops = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            if method in ("get", "post", "put", "patch", "delete"):
                ops.append((method, path, op))
    return ops


def _url(path: str) -> str:
    # an id of the right form (property ids are routed only as prop-…), but of no document
    return re.sub(r"\{[^}]+\}", "x-no-such-id", path.replace("{property_id}", "prop-no-such-id"))


def test_the_openapi_document_lists_the_operations(client):
    ops = {(m, p) for m, p, _ in _operations(client)}
    assert len(ops) >= 28
    assert {("post", "/api/v1/imports"), ("get", "/api/v1/samples/{sample_id}"), ("get", "/api/v1/health")} <= ops


def test_every_operation_refuses_an_unknown_query_parameter(loaded_rw_app, store, writer_token):
    client = loaded_rw_app.test_client()
    before = _counts(store)
    for method, path, op in _operations(client):
        body = {"json": {}} if "application/json" in (op.get("requestBody") or {}).get("content", {}) else {}
        r = client.open(_url(path), method=method.upper(), query_string={UNKNOWN: "1"},
                        headers={"X-API-Key": writer_token}, **body)
        err = assert_error(r, 400)
        assert UNKNOWN in err["message"] and "query string" in err["message"], (method, path, err)
        assert err["errors"]["query"][UNKNOWN] == ["Unknown field."], (method, path, err)
        assert "400" in op["responses"], (method, path, "the 400 is documented")
    assert _counts(store) == before


def _scalar_query_parameters(op: dict) -> list[str]:
    """The query parameters of an operation that take one value (not an array)."""
    return [p["name"] for p in op.get("parameters", [])
            if p["in"] == "query" and (p.get("schema") or {}).get("type") != "array"]


def test_every_operation_refuses_a_repeated_query_parameter(loaded_rw_app, store, writer_token):
    """A parameter given twice is refused (400, naming it), never read as its first value."""
    client = loaded_rw_app.test_client()
    before = _counts(store)
    checked = 0
    for method, path, op in _operations(client):
        names = _scalar_query_parameters(op)
        if not names:
            continue  # no query parameter: any is unknown (test above)
        body = {"json": {}} if "application/json" in (op.get("requestBody") or {}).get("content", {}) else {}
        for name in names:
            r = client.open(_url(path), method=method.upper(), query_string=[(name, "1"), (name, "2")],
                            headers={"X-API-Key": writer_token}, **body)
            err = assert_error(r, 400)
            assert f"'{name}'" in err["message"] and "given 2 times" in err["message"], (method, path, name, err)
            assert "query string" in err["message"], (method, path, name, err)
            assert err["errors"]["query"] == {name: ["given 2 times; give it once"]}, (method, path, name, err)
            checked += 1
    assert checked >= 20
    assert _counts(store) == before


@pytest.mark.parametrize("query", ["filter=value%3E1&filter=value%3C0", "filter=value%3C0&filter=value%3E1",
                                   "page_limit=3&page_limit=3", "page_limit=3&sort=value&page_limit=5&page_limit=7"])
def test_a_repeated_filter_is_refused_whatever_the_order(client, query):
    """The defect: the first of two filters was used silently (50 rows one way round, 3 the other)."""
    name = query.split("=")[0]
    err = assert_error(client.get("/api/v1/properties", query_string=query), 400)
    times = query.count(f"{name}=")
    assert f"parameter '{name}' given {times} times in the query string; give it once" in err["message"], err
    assert err["errors"] == {"query": {name: [f"given {times} times; give it once"]}}


@pytest.mark.parametrize("path", ["/api/v1/materials", "/api/v1/samples"])
def test_a_list_parameter_still_repeats(client, path):
    """``element`` is a list (fields.List): each value is one element, all must be present."""
    both = client.get(path, query_string=[("element", "Na"), ("element", "Cl"), ("page_limit", "500")])
    assert both.status_code == 200, both.get_json()
    na = client.get(path, query_string={"element": "Na", "page_limit": "500"}).get_json()["data"]
    assert 0 < len(both.get_json()["data"]) < len(na)


def test_an_unknown_repeated_parameter_is_refused_as_unknown(client):
    err = assert_error(client.get("/api/v1/properties", query_string=[(UNKNOWN, "1"), (UNKNOWN, "2")]), 400)
    assert f"unknown parameter '{UNKNOWN}'" in err["message"], err


def test_every_json_body_refuses_an_unknown_key(loaded_rw_app, writer_token):
    """Operations whose JSON body has a declared schema refuse keys outside it (400, named)."""
    client = loaded_rw_app.test_client()
    checked = 0
    for method, path, op in _operations(client):
        schema = ((op.get("requestBody") or {}).get("content", {}).get("application/json") or {}).get("schema") or {}
        if "$ref" not in schema:
            continue  # POST /imports: the body is an import document, validated by the importer
        r = client.open(_url(path), method=method.upper(), json={"bogus_key": 1}, headers={"X-API-Key": writer_token})
        err = assert_error(r, 400)
        assert "'bogus_key'" in err["message"] and "JSON body" in err["message"], err
        checked += 1
    assert checked >= 1


def test_a_form_body_is_not_read_as_an_empty_json_body(loaded_rw_app, writer_token):
    r = loaded_rw_app.test_client().post("/api/v1/analysis-runs", data={"force": "true"},
                                         headers={"X-API-Key": writer_token})
    err = assert_error(r, 400)
    assert "'force'" in err["message"] and "JSON body" in err["message"]


# ------------------------------------------------------------------ POST /imports flags


def _upload(client, token, form=None, query=None):
    data = {"files": [(io.BytesIO((API_DATA / "records.yaml").read_bytes()), "records.yaml")], **(form or {})}
    return client.post("/api/v1/imports", data=data, content_type="multipart/form-data", query_string=query or {},
                       headers={"X-API-Key": token})


def test_dry_run_as_a_form_field_commits_nothing(rw_app, store, writer_token):
    before = _counts(store)
    r = _upload(rw_app.test_client(), writer_token, form={"dry_run": "true"})
    assert r.status_code == 200, r.get_json()
    report = r.get_json()
    assert report["status"] == "dry_run" and report["dry_run"] is True
    assert report["counts"]["total"]["new"] > 0  # it did validate the records
    assert _counts(store) == before


def test_dry_run_in_query_and_form(rw_app, store, writer_token):
    client = rw_app.test_client()
    before = _counts(store)
    # the same value in both places is fine
    r = _upload(client, writer_token, form={"dry_run": "true"}, query={"dry_run": "true"})
    assert r.status_code == 200 and r.get_json()["status"] == "dry_run"
    # conflicting values are refused, naming the parameter, and nothing is written
    for form, query in (({"dry_run": "true"}, {"dry_run": "false"}), ({"dry_run": "false"}, {"dry_run": "1"})):
        err = assert_error(_upload(client, writer_token, form=form, query=query), 400)
        assert "dry_run" in err["message"] and "dry_run" in err["errors"]
    assert _counts(store) == before
    # dry_run=false as a form field commits
    r = _upload(client, writer_token, form={"dry_run": "false"})
    assert r.status_code == 201 and r.get_json()["status"] == "committed"
    assert store.db.samples.count_documents({}) == 13


def test_unknown_form_fields_and_file_parts_are_refused(rw_app, store, writer_token):
    client = rw_app.test_client()
    before = _counts(store)
    err = assert_error(_upload(client, writer_token, form={"dryrun": "true"}), 400)
    assert "'dryrun'" in err["message"] and "form fields" in err["message"]
    assert "dry_run" in err["message"]  # lists what is accepted
    other = {"attachment": [(io.BytesIO(b"x: 1"), "x.yaml")]}
    err = assert_error(_upload(client, writer_token, form=other), 400)
    assert "'attachment'" in err["message"]
    err = assert_error(_upload(client, writer_token, form={"dry_run": "perhaps"}), 422)
    assert "dry_run" in str(err["errors"])
    assert _counts(store) == before


def test_a_repeated_form_field_is_refused_and_files_repeat(rw_app, store, writer_token):
    """In the form fields too a flag is given once; ``files`` is a list and takes one part per file."""
    client = rw_app.test_client()
    before = _counts(store)
    for value in (["true", "false"], ["true", "true"]):
        err = assert_error(_upload(client, writer_token, form={"dry_run": value}), 400)
        assert "parameter 'dry_run' given 2 times in the multipart form fields; give it once" in err["message"], err
        assert err["errors"] == {"multipart": {"dry_run": ["given 2 times; give it once"]}}
    err = assert_error(_upload(client, writer_token, query=[("skip_invalid", "1"), ("skip_invalid", "0")]), 400)
    assert "'skip_invalid' given 2 times in the query string" in err["message"], err
    assert _counts(store) == before
    data = {"files": [(io.BytesIO((API_DATA / "records.yaml").read_bytes()), "a/records.yaml"),
                      (io.BytesIO(b"ionbase_format: 1\nsource: {notebook: TWO}\nmaterials: [{key: L, formula: LiCl}]\n"),
                       "b.yaml")],
            "dry_run": "true"}
    r = client.post("/api/v1/imports", data=data, content_type="multipart/form-data", headers={"X-API-Key": writer_token})
    assert r.status_code == 200, r.get_json()
    assert len(r.get_json()["files"]) == 2
    assert _counts(store) == before


def test_json_body_dry_run_goes_in_the_query_string(rw_app, store, writer_token):
    """docs/api.md: with a JSON body the flags are query parameters; a body key is not a flag."""
    client = rw_app.test_client()
    before = _counts(store)
    r = client.post("/api/v1/imports", json=dict(IMPORT_DOC, dry_run=True), headers={"X-API-Key": writer_token})
    err = assert_error(r, 422)
    assert "dry_run" in str(err["errors"])
    r = client.post("/api/v1/imports", json=IMPORT_DOC, query_string={"dry_run": "1"}, headers={"X-API-Key": writer_token})
    assert r.status_code == 200 and r.get_json()["status"] == "dry_run"
    assert _counts(store) == before


def test_skip_invalid_as_a_form_field(rw_app, store, writer_token):
    bad = b"ionbase_format: 1\nsource: {notebook: FORM-1}\nmaterials: [{key: L, formula: LiCl}]\n" \
          b"samples: [{label: ok, material: L}, {label: bad, material: NOPE}]\n"
    client = rw_app.test_client()
    data = {"files": [(io.BytesIO(bad), "b.yaml")]}
    assert_error(client.post("/api/v1/imports", data=dict(data), content_type="multipart/form-data",
                             headers={"X-API-Key": writer_token}), 422)
    data = {"files": [(io.BytesIO(bad), "b.yaml")], "skip_invalid": "true"}
    r = client.post("/api/v1/imports", data=data, content_type="multipart/form-data", headers={"X-API-Key": writer_token})
    assert r.status_code == 201, r.get_json()
    assert [s["label"] for s in store.db.samples.find({})] == ["ok"]


# ------------------------------------------------------------------ filters


def test_garbage_filter_is_400_on_every_list_endpoint(client):
    checked = []
    for method, path, op in _operations(client):
        names = {p["name"] for p in op.get("parameters", []) if p["in"] == "query"}
        if method != "get" or not ({"page_limit", "filter"} & names):
            continue
        query = {"filter": "garbage((("}
        if path.startswith("/api/v1/trends/synthesis"):
            query.update(property="ionic_conductivity", parameter="milling_time_h")
        elif path.startswith("/api/v1/trends/composition"):
            query.update(property="ionic_conductivity", series="Na3-xIn1-xZrxCl6")
        err = assert_error(client.get(_url(path), query_string=query), 400)
        if "filter" in names:
            assert err["errors"]["filter"]["position"] == 7, (path, err)
        else:
            assert "unknown parameter 'filter'" in err["message"], (path, err)
        checked.append(path)
    assert {"/api/v1/samples", "/api/v1/structures", "/api/v1/properties", "/api/v1/export"} <= set(checked)


def test_sample_filter_unknown_field_is_400(client):
    err = assert_error(client.get("/api/v1/samples", query_string={"filter": "value>1"}), 400)
    assert "unknown field 'value'" in err["errors"]["filter"]["message"]
    assert "milling_time_h" in err["errors"]["filter"]["message"]  # lists the sample fields


@pytest.fixture()
def seed_client(seeded_settings, seeded_store):
    from ionbase.service.app import create_app

    return create_app(seeded_settings, store=seeded_store).test_client()


def _labels(client, text, **extra):
    out, query = [], {"filter": text, "page_limit": 3, **extra}
    url = "/api/v1/samples"
    for _ in range(50):  # follow the cursor: paging through a filtered list
        r = client.get(url, query_string=query)
        assert r.status_code == 200, r.get_json()
        body = r.get_json()
        out += [s["label"] for s in body["data"]]
        if not body["meta"]["next_cursor"]:
            return sorted(out)
        query = {**query, "page_cursor": body["meta"]["next_cursor"]}
    raise AssertionError("too many pages")


# labels and synthesis as the seed files state them (seed_data/*.yaml)
@pytest.mark.parametrize("text,labels", [
    # NaCB11H12 milled 30 min to 2 h (Small Methods 2024): 15 min and 4 h, 6 h are outside
    ('family="closo-borate" AND milling_time_h>=0.5 AND milling_time_h<=2',
     ["NaCB11H12-BM-1h", "NaCB11H12-BM-2h", "NaCB11H12-BM-30min", "NaCB11H12-BM-45min"]),
    # Na3-xIn1-xZrxCl6 (JMCA 2024): never annealed above 250 °C = the as-milled series and the 200 °C anneal;
    # the Zr MOF UiO-66 pellet (Mater. Horiz. 2025) was never annealed either
    ('elements HAS "Zr" AND max_anneal_c<=250',
     ["MOFsSE-UiO66-pellet", "Na2.05In0.05Zr0.95Cl6-BM", "Na2.1In0.1Zr0.9Cl6-BM", "Na2.1In0.1Zr0.9Cl6-BM-A200-1h", "Na2.2In0.2Zr0.8Cl6-BM",
      "Na2.3In0.3Zr0.7Cl6-BM", "Na2.5In0.5Zr0.5Cl6-BM", "Na2.7In0.7Zr0.3Cl6-BM", "Na2.9In0.9Zr0.1Cl6-BM"]),
    ('elements HAS "Zr" AND max_anneal_c<=250 AND annealed="true"', ["Na2.1In0.1Zr0.9Cl6-BM-A200-1h"]),
    # Mg3AsN (Mater. Horiz. 2025): annealed at 600 °C, including the hot-pressed child
    ('elements HAS ALL "Mg","As","N" AND max_anneal_c=600',
     ["Mg3AsN-BM400-3h-A600-12h", "Mg3AsN-BM400-3h-A600-12h-HP100", "Mg3AsN-BM400-3h-A600-20h"]),
    ('elements HAS "Mg" AND hot_pressed="true"', ["Mg3AsN-BM400-3h-A600-12h-HP100", "Mg3AsN-BM400-3h-HP100"]),
    # Na2B12H12-SiO2 (JMCA 2026): milled 8 h
    ('elements HAS "Na" AND milling_time_h>=8 AND milling_time_h<9', ["Na2B12H12-SiO2A380-35vol-BM8h"]),
    # an OR runs as a union of flat branches, paged with one cursor
    ('max_rpm=500 OR milling_time_h=0.25',
     ["NaCB11H12-BM-15min", "Na2.05In0.05Zr0.95Cl6-BM", "Na2.1In0.1Zr0.9Cl6-BM", "Na2.1In0.1Zr0.9Cl6-BM-A200-1h",
      "Na2.1In0.1Zr0.9Cl6-BM-A330-1h", "Na2.2In0.2Zr0.8Cl6-BM", "Na2.3In0.3Zr0.7Cl6-BM", "Na2.5In0.5Zr0.5Cl6-BM",
      "Na2.7In0.7Zr0.3Cl6-BM", "Na2.9In0.9Zr0.1Cl6-BM"]),
])
def test_samples_filter_on_seed_data(seed_client, text, labels):
    assert _labels(seed_client, text) == sorted(labels)


def test_samples_filter_combines_with_list_parameters(seed_client):
    assert _labels(seed_client, "milling_time_h>=4", family="closo-borate") == ["NaCB11H12-BM-4h", "NaCB11H12-BM-6h"]


def test_samples_without_properties_are_found(seed_client, seeded_store):
    """The point of /samples?filter: samples with no property at all are found by their synthesis.

    Na2B12H12-SiO2 composites milled 4 h and 8 h (JMCA 2026) have no property documents in the seed.
    """
    text = 'family="nanocomposite" AND milling_time_h>=4'
    labels = _labels(seed_client, text)
    assert labels == sorted(["Na2B12H12-SiO2A90-35vol-BM4h", "Na2B12H12-SiO2A200-35vol-BM4h",
                             "Na2B12H12-SiO2A300-35vol-BM4h", "Na2B12H12-SiO2A380-35vol-BM4h",
                             "Na2B12H12-SiO2SBA15-35vol-BM4h", "Na2B12H12-SiO2A380-35vol-BM8h"])
    ids = [s["_id"] for s in seeded_store.db.samples.find({"label": {"$in": labels}})]
    without = [i for i in ids if seeded_store.db.properties.count_documents({"sample": i}) == 0]
    assert len(without) >= 2, "some of these samples have no property documents"
    body = seed_client.get("/api/v1/properties", query_string={"filter": text, "page_limit": 1000}).get_json()
    assert not set(without) & {p["sample"] for p in body["data"]}
