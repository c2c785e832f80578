"""The hot path (service/hot.py) answers plain property queries exactly as Flask does, and leaves the rest to Flask.

Every request of the corpus is sent twice over the API test database: to the app as shipped (hot path
in front) and to Flask alone (``HotReads.flask``). Status, headers (names, values and order) and body
must be identical, and the hot path must have answered exactly the requests it is meant to take.
"""

from __future__ import annotations

import json
import urllib.parse

import pytest
from werkzeug.test import Client

EXAMPLE = 'property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4'

#: (query parameters, extra headers, answered by the hot path)
CORPUS = [
    ({}, {}, True),
    ({"filter": EXAMPLE}, {}, True),
    ({"filter": EXAMPLE, "sort": "-value"}, {}, True),
    ({"filter": 'elements HAS "Na"', "sort": "-value,temperature_c", "page_limit": "3"}, {}, True),
    ({"filter": EXAMPLE, "fields": "sample_label,value"}, {}, True),
    ({"filter": EXAMPLE, "unit": "mS/cm"}, {}, True),
    ({"filter": EXAMPLE, "unit": "mS/cm", "fields": "sample_label,value"}, {}, True),
    ({"filter": EXAMPLE, "expand": "sample", "page_limit": "2"}, {}, True),
    ({"filter": EXAMPLE, "include_total": "true", "page_limit": "2"}, {}, True),
    ({"filter": 'sample STARTS WITH "NCB"', "page_limit": "1"}, {}, True),
    ({"filter": 'family="halide"', "sort": "x"}, {}, True),
    ({"filter": "value > 1 AND bogus = 1"}, {}, False),  # bad filter: 400 from Flask's error table
    ({"filter": EXAMPLE, "unit": "eV"}, {}, False),  # unit that does not fit: 400
    ({"filter": "value >"}, {}, False),
    ({"bogus": "1"}, {}, False),  # unknown parameter: 400 naming it
    ([("filter", "value>1"), ("filter", "value<0")], {}, False),  # repeated parameter: 400 naming it
    ({"page_limit": "0"}, {}, False),  # failing validator: 422
    ({"page_limit": "x"}, {}, False),
    ({"expand": "nothing"}, {}, False),
    ({"page_cursor": "not-a-cursor"}, {}, False),
    ({"filter": 'sample_label="$where"'}, {}, False),  # '$' is refused by the guards
    ({"filter": EXAMPLE}, {"X-API-Key": "ib_unknown"}, False),  # a key sent is checked by Flask
    ({"filter": EXAMPLE}, {"Origin": "http://elsewhere.example"}, False),
    ({"filter": "x" * 9000}, {}, False),  # over-long URL: 414
]


def _both(api_app):
    hot = api_app.wsgi_app
    return hot, Client(api_app), Client(hot.flask)


def _answer(client: Client, query: str, headers: dict, method: str = "GET", path: str = "/api/v1/properties"):
    r = client.open(path, method=method, query_string=query, headers=headers)
    return r.status_code, list(r.headers.items()), r.get_data()


@pytest.mark.parametrize(("params", "headers", "hot"), CORPUS, ids=[str(i) for i in range(len(CORPUS))])
def test_same_answer_as_flask(api_app, params, headers, hot):
    path, shipped, flask_only = _both(api_app)
    query = urllib.parse.urlencode(params)
    before = path.answered
    got = _answer(shipped, query, headers)
    want = _answer(flask_only, query, headers)
    assert got == want, (params, got[:2], want[:2])
    assert path.answered - before == int(hot), f"answered by the hot path: expected {hot} for {params}"
    if hot:
        assert got[0] == 200


def test_a_repeated_parameter_is_refused_by_flask(api_app):
    """A key given twice goes to Flask, which refuses it (400), in either order (service/params.py)."""
    path, shipped, flask_only = _both(api_app)
    for pairs in ([("filter", "value>1"), ("filter", "value<0")], [("filter", "value<0"), ("filter", "value>1")],
                  [("filter", EXAMPLE), ("page_limit", "2"), ("page_limit", "2")]):
        before = path.answered
        got = _answer(shipped, urllib.parse.urlencode(pairs), {})
        assert got == _answer(flask_only, urllib.parse.urlencode(pairs), {})
        assert got[0] == 400 and b"given 2 times" in got[2], got
        assert path.answered == before


def test_following_every_page_gives_flasks_pages(api_app):
    """Cursor pages: the next-page URL the hot path writes is the one Flask writes, page after page."""
    path, shipped, flask_only = _both(api_app)
    query = urllib.parse.urlencode({"filter": 'property="ionic_conductivity"', "sort": "-value", "page_limit": "2"})
    pages = 0
    while query is not None:
        got, want = _answer(shipped, query, {}), _answer(flask_only, query, {})
        assert got == want
        meta = json.loads(got[2])["meta"]
        query = urllib.parse.urlsplit(meta["next"]).query if meta["next"] else None
        pages += 1
    assert pages >= 3


def test_other_methods_paths_and_mounts_go_to_flask(api_app):
    path, shipped, flask_only = _both(api_app)
    before = path.answered
    for method, url in (("HEAD", "/api/v1/properties"), ("POST", "/api/v1/properties"), ("GET", "/api/v1/properties/"),
                        ("GET", "/api/v1/properties/fields")):
        assert _answer(shipped, "", {}, method, url) == _answer(flask_only, "", {}, method, url), (method, url)
    assert path.answered == before
    mounted = {"SCRIPT_NAME": "/ionbase"}  # behind a proxy prefix: the next-page URL keeps it
    got = shipped.get("/api/v1/properties", query_string="page_limit=1", environ_overrides=mounted)
    want = flask_only.get("/api/v1/properties", query_string="page_limit=1", environ_overrides=mounted)
    assert got.get_data() == want.get_data() and got.get_json()["meta"]["next"].startswith("/ionbase/api/v1/properties?")
    assert path.answered == before + 1


def test_guarded_servers_leave_every_request_to_flask(api_settings, api_store):
    """With keys required for reads, or a rate limit, the guards run in Flask for every request."""
    from ionbase.service.app import create_app

    for change in ({"read_requires_key": True}, {"rate_limit_per_minute": 1000}):
        app = create_app(api_settings.with_(**change), store=api_store)
        before = app.wsgi_app.answered
        status = app.test_client().get("/api/v1/properties", query_string={"filter": EXAMPLE}).status_code
        assert status == (401 if "read_requires_key" in change else 200)
        assert app.wsgi_app.answered == before, change
