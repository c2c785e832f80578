"""Conformance of every query shape the API emits: nx-27017 (or MONGODB_URI) against mongomock.

The API test records (tests/data/api) are imported into a fresh database on the server (with all
indexes of schemas.documents, which matters: nx-27017 answers some shapes differently on indexed
paths), then copied verbatim into mongomock. Each shape is built by the API's own query functions.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path

import mongomock
import pytest

from ionbase.service.query import cursor as C
from ionbase.service.query.filter import parse_filter
from ionbase.service.query.pipelines import synthesis_paths, trend_points_pipeline, trend_summary_pipeline

API_DATA = Path(__file__).resolve().parents[1] / "data" / "api"
COLLECTIONS = ("materials", "routes", "samples", "structures", "measurements", "measurement_arrays",
               "properties", "import_batches")

FILTERS = [
    'property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 AND elements HAS "Na" '
    "AND milling_time_h>=0.2 AND max_anneal_c<=300",
    'property="ionic_conductivity" AND max_anneal_c<=300',
    "max_anneal_c<300 AND milling_time_h>1",
    'max_anneal_c>=300 AND annealed="true"',
    'annealed="false"',
    "NOT max_anneal_c>300",
    'elements HAS ALL "Na","Cl"',
    'elements HAS ANY "Mg","Li"',
    'elements HAS ONLY "Na","Cl","In","Zr"',
    'NOT elements HAS "Na"',
    "elements LENGTH 3",
    "elements LENGTH > 3",
    'family="halide" OR family="antiperovskite"',
    'NOT (family="halide" OR value < 1e-6)',
    'family != "halide"',
    "x IS KNOWN",
    "x IS UNKNOWN",
    "uncertainty IS KNOWN",
    'series="Na3-xIn1-xZrxCl6" AND x>=0.5',
    'sample STARTS WITH "NCB-BM"',
    'sample CONTAINS "A6"',
    'sample ENDS WITH "-s"',
    'method="EIS"',
    'origin="measured" AND temperature_k>300',
    'step_types HAS "annealing"',
    'step_types HAS ALL "annealing","ball_milling"',
    "nelements>=4 AND value<1e-3",
    "max_rpm>=500",
    "stale=0",
    'qualifier IS UNKNOWN AND doi="10.9999/ionbase.api-test"',
    'id="nope" OR value=4e-3',
    'components HAS "SiO2" AND property="ionic_conductivity"',
]
SORTS = ["-value", "temperature_c", "-temperature_c,value", "x,-value", "milling_time_h,-max_anneal_c", "-id"]


@pytest.fixture(scope="module")
def dbs(base_settings, server_uri):
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.store import open_store

    s = base_settings.with_(mongodb_uri=server_uri, db_name=f"conf_api_{uuid.uuid4().hex[:8]}")
    st = open_store(s)
    Importer(st, ImportOptions()).run([API_DATA / "records.yaml"])
    st.db.import_batches.insert_one({"_id": "imp-hidden", "status": "pending"})
    st.db.properties.insert_one(dict(st.db.properties.find_one({"name": "lattice_a"}), _id="prop-hidden", batch_id="imp-hidden"))
    oracle = mongomock.MongoClient()["conf_api"]
    for coll in COLLECTIONS:
        docs = list(st.db[coll].find({}))
        if docs:
            oracle[coll].insert_many(docs)
    yield st, oracle
    st.client.drop_database(s.db_name)
    st.client.close()


def _ids(cursor):
    return [d["_id"] for d in cursor]


def _backend() -> str:
    return "real MongoDB" if os.environ.get("MONGODB_URI") else "nx-27017"


def _visible(st, q):
    return st.visible(q)


@pytest.mark.parametrize("text", FILTERS)
def test_filter_shapes(dbs, text):
    st, oracle = dbs
    q = _visible(st, parse_filter(text))
    want = sorted(_ids(oracle.properties.find(q)))
    got = sorted(_ids(st.db.properties.find(q)))
    assert got == want, f"{_backend()} differs from mongomock for {text!r}: {q}"


def test_filter_shapes_match_something(dbs):
    st, oracle = dbs
    empty = [t for t in FILTERS if not list(oracle.properties.find(parse_filter(t)))]
    assert empty == [], f"the fixture documents should make each filter match something: {empty}"


@pytest.mark.parametrize("sort", SORTS)
def test_sorted_keyset_pages(dbs, sort):
    """Sort + keyset conditions page through identically on both backends."""
    st, oracle = dbs
    spec = C.parse_sort(sort)
    base = _visible(st, parse_filter('origin="reported" OR origin="measured"'))
    pages = {}
    for name, db in (("oracle", oracle), ("real", st.db)):
        seen, values = [], None
        for _ in range(100):
            q = C.combine(base, C.keyset_condition(spec, values)) if values else base
            docs = list(db.properties.find(q).sort(spec).limit(4))
            if not docs:
                break
            seen += [d["_id"] for d in docs]
            values = [C.get_path(docs[-1], p) for p, _ in spec]
        pages[name] = seen
    full = _ids(oracle.properties.find(base).sort(spec))
    assert pages["oracle"] == full
    assert pages["real"] == pages["oracle"], f"{_backend()} pages differ for sort={sort}"


def test_projection_top_level_keys(dbs):
    st, oracle = dbs
    proj = {"_id": 1, "name": 1, "value": 1, "synthesis": 1}
    q = {"name": "ionic_conductivity"}
    assert list(st.db.properties.find(q, proj).sort("_id", 1)) == list(oracle.properties.find(q, proj).sort("_id", 1))


@pytest.mark.parametrize("parameter,group_by,match", [
    ("milling_time_h", "material", {"name": "ionic_conductivity", "temperature_c": {"$gte": 24.5, "$lte": 25.5}}),
    ("max_anneal_c", "material", {"name": "ionic_conductivity"}),
    ("max_rpm", "family", {"name": "ionic_conductivity"}),
    ("milling_time_h", "series", {"name": "ionic_conductivity"}),  # a single group
])
def test_trend_pipelines(dbs, parameter, group_by, match):
    st, oracle = dbs
    xpath, gpath = synthesis_paths(parameter, group_by)
    m = _visible(st, match)
    for build in (trend_points_pipeline, trend_summary_pipeline):
        pipe = build(m, xpath, gpath)
        want = list(oracle.properties.aggregate(pipe))
        got = list(st.db.properties.aggregate(pipe))
        assert want, "the fixture should produce rows"
        assert got == want, f"{_backend()} differs for {build.__name__}({parameter}, {group_by})"


def test_composition_pipeline(dbs):
    st, oracle = dbs
    m = _visible(st, {"$and": [{"name": "ionic_conductivity"}, {"series_name": "Na3-xIn1-xZrxCl6"}]})
    for build in (trend_points_pipeline, trend_summary_pipeline):
        pipe = build(m, "series_value", "series_name")
        want = list(oracle.properties.aggregate(pipe))
        assert want and list(st.db.properties.aggregate(pipe)) == want


@pytest.mark.parametrize("coll,query,sort", [
    ("materials", {"components": {"$elemMatch": {"formula": "SiO2"}}}, [("_id", 1)]),
    ("materials", {"family": "halide", "elements": {"$all": ["Na", "Zr"]}, "series.name": "Na3-xIn1-xZrxCl6"}, [("_id", 1)]),
    ("routes", {"summary.step_types": {"$in": ["annealing"]}}, [("_id", 1)]),
    ("samples", {"parent": {"$exists": True}}, [("_id", 1)]),
    ("samples", {"label": "MAN-A600", "family": "antiperovskite"}, [("_id", 1)]),
    ("measurements", {"kind": "impedance_spectrum"}, [("_id", 1)]),
    ("measurement_arrays", {"measurement": {"$exists": True}}, [("chunk", 1)]),
    ("properties", {"name": {"$in": ["activation_energy", "conductivity_prefactor"]}}, [("_id", 1)]),
    ("properties", {"name": "ionic_conductivity", "temperature_k": {"$exists": True}}, [("temperature_k", 1), ("_id", 1)]),
    ("properties", {"$and": [{"name": "ionic_conductivity"}, {"material_id": {"$in": ["x", "y"]}}]}, [("_id", 1)]),
    ("import_batches", {}, [("_id", 1)]),
])
def test_resource_shapes(dbs, coll, query, sort):
    st, oracle = dbs
    q = _visible(st, query) if coll != "import_batches" else query
    want = _ids(oracle[coll].find(q).sort(sort))
    got = _ids(st.db[coll].find(q).sort(sort))
    assert got == want, f"{_backend()} differs for {coll} {query}"


def test_list_page_keyset_on_id(dbs):
    st, oracle = dbs
    spec = [("_id", 1)]
    for db in (oracle, st.db):
        first = _ids(db.samples.find({}).sort(spec).limit(5))
        rest = _ids(db.samples.find(C.keyset_condition(spec, [first[-1]])).sort(spec))
        assert first + rest == _ids(db.samples.find({}).sort(spec))


def test_hidden_batches_stay_invisible(dbs):
    st, oracle = dbs
    q = _visible(st, parse_filter('property="lattice_a"'))
    assert "prop-hidden" not in _ids(st.db.properties.find(q))
    assert sorted(_ids(st.db.properties.find(q))) == sorted(_ids(oracle.properties.find(q)))


def test_count_with_filter(dbs):
    st, oracle = dbs
    q = _visible(st, parse_filter('property="ionic_conductivity" AND temperature_c=25'))
    assert st.db.properties.count_documents(q) == oracle.properties.count_documents(q) == 13


@pytest.mark.parametrize("sort", ["-value", "x,-value", "-temperature_c,value"])
@pytest.mark.parametrize("text", FILTERS)
def test_union_of_flat_branches_equals_the_query(dbs, text, sort):
    """What the properties endpoint runs (store.shapes.find_union) equals one find on the oracle."""
    from ionbase.store.shapes import find_union

    st, oracle = dbs
    spec = C.parse_sort(sort)
    q = _visible(st, parse_filter(text))
    want = _ids(oracle.properties.find(q).sort(spec).limit(7))
    assert _ids(find_union(st.db.properties, q, spec, 7)) == want, f"{_backend()} union differs for {text!r}"


@pytest.mark.parametrize("sort", SORTS)
def test_keyset_pages_through_the_union(dbs, sort):
    from ionbase.store.shapes import find_union

    st, oracle = dbs
    spec = C.parse_sort(sort)
    base = _visible(st, parse_filter('origin="reported" OR origin="measured"'))
    seen, values = [], None
    for _ in range(100):
        q = C.combine(base, C.keyset_condition(spec, values)) if values else base
        docs = find_union(st.db.properties, q, spec, 4)
        if not docs:
            break
        seen += [d["_id"] for d in docs]
        values = [C.get_path(docs[-1], p) for p, _ in spec]
    assert seen == _ids(oracle.properties.find(base).sort(spec))


# GET /samples?filter=: the same grammar over sample documents (service.query.fields.SAMPLE_FIELDS)
SAMPLE_FILTERS = [
    "milling_time_h>=1",
    "milling_time_h>=1 AND milling_time_h<=6",
    'max_anneal_c<=300',
    'max_anneal_c<=300 AND annealed="true"',
    "max_anneal_c>300",
    'elements HAS "Na" AND milled="true"',
    'elements HAS ALL "Na","Zr"',
    'elements HAS ANY "Mg","Li"',
    'NOT elements HAS "Na"',
    'family="halide" OR family="antiperovskite"',
    'family="closo-borate" AND milling_time_h<1',
    'label STARTS WITH "NCB-BM"',
    "max_rpm>=500",
    'step_types HAS "annealing"',
    'hot_pressed="false" AND cold_pressed="false"',
    "anneal_time_h>2 OR max_rpm=300",
    "parent IS KNOWN",
    'reduced_formula="Mg3AsN" AND max_anneal_c IS UNKNOWN',
]


@pytest.mark.parametrize("text", SAMPLE_FILTERS)
def test_sample_filter_shapes(dbs, text):
    """Each /samples filter shape: one find and the union of flat branches equal mongomock."""
    from ionbase.store.shapes import find_union

    st, oracle = dbs
    q = _visible(st, parse_filter(text, on="samples"))
    want = _ids(oracle.samples.find(q).sort("_id", 1))
    assert want, f"the fixture samples should match {text!r}"
    assert _ids(st.db.samples.find(q).sort("_id", 1)) == want, f"{_backend()} differs from mongomock for {text!r}: {q}"
    assert _ids(find_union(st.db.samples, q, [("_id", 1)], 100)) == want, f"{_backend()} union differs for {text!r}"


# --------------------------------------------------------------------- the typed collections (ionbase.store.collections)
# What the layer sends is checked against the query it stands for, run unrewritten on the oracle with
# the committed-batches condition: {"$and": [query, {"batch_id": {"$nin": hidden}}]}.


def _intent(st, q):
    return {"$and": [q or {}, {"batch_id": {"$nin": st.hidden_batches()}}]}


@pytest.mark.parametrize("sort", ["-value", "x,-value"])
@pytest.mark.parametrize("text", FILTERS)
def test_layer_page_and_count_equal_the_query(dbs, text, sort):
    st, oracle = dbs
    spec = C.parse_sort(sort)
    q = parse_filter(text)
    assert "prop-hidden" in _ids(oracle.properties.find(q)) or text != 'property="lattice_a"'
    want = _ids(oracle.properties.find(_intent(st, q)).sort(spec).limit(7))
    assert _ids(st.properties.page(q, spec, 7)) == want, f"{_backend()} page differs for {text!r}"
    assert st.properties.count(q) == oracle.properties.count_documents(_intent(st, q))
    assert sorted(_ids(st.properties.find(q))) == sorted(_ids(oracle.properties.find(_intent(st, q))))


def test_layer_hides_the_pending_property_and_opt_out_shows_it(dbs):
    st, oracle = dbs
    q = {"name": "lattice_a"}
    assert "prop-hidden" not in _ids(st.properties.find(q))
    assert "prop-hidden" in _ids(st.properties.including_pending().find(q))
    assert sorted(_ids(st.properties.including_pending().find(q))) == sorted(_ids(oracle.properties.find(q)))


@pytest.mark.parametrize("parameter,group_by,match,flat", [
    ("milling_time_h", "material", {"name": "ionic_conductivity", "temperature_c": {"$gte": 24.5, "$lte": 25.5}}, True),
    ("max_anneal_c", "material", {"name": "ionic_conductivity"}, True),
    ("max_rpm", "family", {"name": "lattice_a"}, True),  # the pending property must not be counted
    # series_name="..." and series_name $exists cannot merge: one flat part and the clash stay in $and
    ("milling_time_h", "series", {"$and": [{"name": "ionic_conductivity"}, {"series_name": "Na3-xIn1-xZrxCl6"}]}, False),
])
def test_layer_aggregate_flattens_the_first_match(dbs, parameter, group_by, match, flat):
    """store.properties.aggregate sends one flat $match (visibility merged in) where the pipelines
    build nested $and; the rows equal the unflattened pipeline on the oracle."""
    st, oracle = dbs
    xpath, gpath = synthesis_paths(parameter, group_by)
    for build in (trend_points_pipeline, trend_summary_pipeline):
        sent = st.properties.query(build(match, xpath, gpath)[0]["$match"])
        assert ("$and" not in sent) is flat, sent
        want = list(oracle.properties.aggregate(build(_intent(st, match), xpath, gpath)))
        assert want, "the fixture should produce rows"
        if match.get("name") == "lattice_a":  # the pending copy would show if visibility were lost
            assert list(oracle.properties.aggregate(build(match, xpath, gpath))) != want
        assert st.properties.aggregate(build(match, xpath, gpath)) == want, f"{_backend()} differs for {build.__name__}"


def test_layer_reassembles_array_chunks_like_the_oracle(dbs):
    """One chunk of a measurement in a pending batch: hidden; the rest concatenated in chunk order."""
    st, oracle = dbs
    extra = [{"_id": "m-conf:1", "measurement": "m-conf", "chunk": 1, "batch_id": "imp-hidden", "arrays": {"frequency": [9.0]}},
             {"_id": "m-conf:0", "measurement": "m-conf", "chunk": 0, "arrays": {"frequency": [1e6, 1e3], "z_real": [1.0, 2.0]}}]
    for db in (st.db, oracle):
        db.measurement_arrays.insert_many([dict(d) for d in extra])
    try:
        mids = sorted({d["measurement"] for d in oracle.measurement_arrays.find({}, {"measurement": 1})})
        assert "m-conf" in mids and len(mids) > 1
        for mid in mids:
            want: dict[str, list] = {}
            for ch in oracle.measurement_arrays.find(_intent(st, {"measurement": mid})).sort("chunk", 1):
                for name, values in ch["arrays"].items():
                    want.setdefault(name, []).extend(values)
            assert st.measurement_arrays.arrays(mid).arrays == want, mid
        assert st.measurement_arrays.arrays("m-conf").arrays == {"frequency": [1e6, 1e3], "z_real": [1.0, 2.0]}
    finally:
        for db in (st.db, oracle):
            db.measurement_arrays.delete_many({"measurement": "m-conf"})


@pytest.mark.parametrize("group_by", ["material", "series"])
def test_trend_stale_count_shapes(dbs, group_by):
    """The trends' stale count (service/trends/views.trend_match(stale=True)): ``stale $in [true]`` in the
    summary pipeline and in the component count, through the layer, equal the oracle; the stale and
    not-stale matches split the values between them (a document without the flag is not stale)."""
    from ionbase.service.trends.views import trend_match

    st, oracle = dbs
    base = st.db.properties.find_one({"name": "ionic_conductivity", "series_name": {"$exists": True},
                                      "synthesis.milling_time_h": {"$exists": True}})
    assert base, "the fixture should hold a milled series member"
    extra = [dict(base, _id="prop-stale-true", stale=True), {k: v for k, v in base.items() if k != "stale"} | {"_id": "prop-no-flag"}]
    for db in (st.db, oracle):
        db.properties.insert_many([dict(d) for d in extra])
    try:
        args = {"property": "ionic_conductivity", "temperature_c": None, "filter": None}
        xpath, gpath = synthesis_paths("milling_time_h", group_by)
        split = {}
        for stale in (True, False):
            pipe = trend_summary_pipeline(trend_match(args, stale=stale), xpath, gpath)
            want = list(oracle.properties.aggregate(trend_summary_pipeline(_intent(st, trend_match(args, stale=stale)), xpath, gpath)))
            assert st.properties.aggregate(pipe) == want, f"{_backend()} differs for stale={stale}"
            split[stale] = sum(g["n"] for g in want)
        assert split[True] == 1 and split[False] >= 2, "the stale copy is counted; the copy without the flag is shown"
        everything = list(oracle.properties.aggregate(trend_summary_pipeline(_intent(st, {"name": "ionic_conductivity"}), xpath, gpath)))
        assert split[True] + split[False] == sum(g["n"] for g in everything)
        q = {"$and": [trend_match(args, stale=True), {"material_id": {"$in": [base["material_id"]]}}]}
        assert st.properties.count(q) == oracle.properties.count_documents(_intent(st, q)) == 1
    finally:
        for db in (st.db, oracle):
            db.properties.delete_many({"_id": {"$in": [d["_id"] for d in extra]}})
