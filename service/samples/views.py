"""``/api/v1/samples``: samples with lineage, route, measurements, structures, properties."""

from __future__ import annotations

import math
import os
import threading
from concurrent.futures import ThreadPoolExecutor

from ionbase.schemas import carriers, registry
from ionbase.service.params import Blueprint

from ionbase.service.common import clean, get_or_404, get_store, list_page
from ionbase.service.plots.views import CARRIERS
from ionbase.service.query.cursor import combine
from ionbase.service.query.filter import parse_filter
from ionbase.service.samples.schemas import Arrhenius, ArrheniusArgs, SampleDetail, SampleListArgs, SamplePage

blp = Blueprint("samples", __name__, url_prefix="/api/v1/samples", description="Samples")

MAX_LINEAGE = 50
FIT_PROPERTIES = registry.ARRHENIUS_FIT_PROPERTIES


def sample_query(args: dict) -> dict:
    """List parameters and ``filter`` (OPTIMADE grammar over sample fields) -> one Mongo query."""
    q: dict = {}
    for arg, path in (("material", "material"), ("family", "family"), ("label", "label"), ("source_key", "source_key")):
        if args.get(arg):
            q[path] = args[arg]
    if args.get("element"):
        q["elements"] = {"$all": list(args["element"])}
    return combine(q, parse_filter(args.get("filter"), on="samples"))


@blp.route("")
@blp.arguments(SampleListArgs, location="query")
@blp.response(200, SamplePage)
def list_samples(args):
    """List samples (cursor pages sorted by id); `filter` selects by composition and synthesis.

    Finds samples whether or not they have properties (GET /properties filters property documents).
    """
    return list_page("samples", sample_query(args), args)


def lineage(sample: dict, store=None) -> dict:
    """Parent chain (nearest first, cycle-safe) and direct children."""
    store = store or get_store()
    parents, seen = [], {sample["_id"]}
    pid = sample.get("parent")
    while pid and pid not in seen and len(parents) < MAX_LINEAGE:
        seen.add(pid)
        p = store.samples.find_one({"_id": pid}, {"label": 1, "parent": 1})
        if p is None:
            break
        parents.append({"id": p["_id"], "label": p.get("label")})
        pid = p.get("parent")
    children = [{"id": c["_id"], "label": c.get("label")}
                for c in store.samples.find({"parent": sample["_id"]}, {"label": 1}, sort=[("_id", 1)])]
    return {"parents": parents, "children": children}


@blp.route("/<string:sample_id>")
@blp.response(200, SampleDetail)
def get_sample(sample_id):
    """One sample with lineage, synthesis route, measurements, structures and properties."""
    return sample_detail(sample_id)


def sample_detail(sample_id: str) -> dict:
    """The sample document as GET /samples/{id} returns it (also rendered by the sample page).

    After the sample itself, its six independent reads (lineage, material, route, measurements,
    structures, properties) are sent at once (:func:`_fan_out`): in turn they were seven round trips
    of queueing on a busy store, and this page the slowest request of bench/bench_load.py's mix."""
    store = get_store()
    s = get_or_404("samples", sample_id, "sample")
    by_sample = {"sample": sample_id}
    reads = {
        "lineage": lambda: lineage(s, store),
        "material_doc": lambda: _clean_or_none(store.materials.find_one({"_id": s.get("material")})),
        "route_doc": lambda: _clean_or_none(store.routes.find_one({"_id": s["route"]}) if s.get("route") else None),
        "measurements": lambda: [clean(m) for m in store.measurements.find(by_sample, sort=[("_id", 1)])],
        "structures": lambda: [clean(m) for m in store.structures.find(by_sample, sort=[("_id", 1)])],
        "properties": lambda: [clean(p) for p in store.properties.find(by_sample, sort=[("_id", 1)], limit=5000)],
    }
    pool = _fan_out()
    futures = {key: pool.submit(read) for key, read in reads.items()}
    out = clean(s)
    out.update((key, future.result()) for key, future in futures.items())  # re-raises a read's error here
    return out


#: (pid, pool): threads for the independent reads of sample pages, made on first use in each process
#: (a forked gunicorn worker does not inherit its parent's threads); pymongo's client is thread-safe
_POOL: list[tuple[int, ThreadPoolExecutor]] = []
_POOL_LOCK = threading.Lock()


def _fan_out() -> ThreadPoolExecutor:
    """This process's pool (16 threads: a few concurrent sample pages at six reads each)."""
    with _POOL_LOCK:
        if not _POOL or _POOL[0][0] != os.getpid():
            _POOL[:] = [(os.getpid(), ThreadPoolExecutor(max_workers=16, thread_name_prefix="sample-detail"))]
        return _POOL[0][1]


def _clean_or_none(doc: dict | None) -> dict | None:
    return clean(doc) if doc else None


@blp.route("/<string:sample_id>/arrhenius")
@blp.arguments(ArrheniusArgs, location="query")
@blp.response(200, Arrhenius)
def sample_arrhenius(args, sample_id):
    """Conductivity against temperature for one sample, with the stored Arrhenius fit.

    `fits` holds the derived (origin `derived`) activation energies and prefactors the analysis job
    computed for the carrier of `property` (ionic, electronic or total), one entry per conductivity
    series (and break segment); `reported` holds values stated in the source for that carrier (their
    `carrier` condition); `carrier_unknown` holds activation energies and prefactors whose carrier
    is not stated (never counted as this carrier's, listed for every carrier so they are not lost).
    Points carry their qualifier: an
    upper/lower bound is a bound, not a value. Stale derived values (inputs changed since they were
    computed) are left out, as in export, OPTIMADE and the plots; `n_stale` counts them.
    """
    store = get_store()
    s = get_or_404("samples", sample_id, "sample", {"label": 1})
    props = list(store.properties.find({"sample": sample_id, "name": args["property"], "temperature_k": {"$exists": True}},
                                       sort=[("temperature_k", 1), ("_id", 1)]))
    points = [_arrhenius_point(p) for p in props if not p.get("stale")]
    n_stale = len(props) - len(points)
    fits, reported, unknown, n_stale_fits = _arrhenius_fits(store, sample_id, args["property"])
    return {"sample": {"id": s["_id"], "label": s.get("label")}, "property": args["property"], "unit": "S/cm",
            "carrier": CARRIERS.get(args["property"]), "points": points, "fits": fits, "reported": reported,
            "carrier_unknown": unknown, "n_stale": n_stale + n_stale_fits}


def _arrhenius_point(p: dict) -> dict:
    """One point with what it is (qualifier, origin, method, flags): a bound must not pass as a value."""
    t, v = p["temperature_k"], p["value"]
    return {
        "id": p["_id"], "temperature_k": t, "temperature_c": p.get("temperature_c"),
        "inverse_temperature": 1000.0 / t if t else None, "value": v, "uncertainty": p.get("uncertainty"),
        "log10_value": math.log10(v) if v > 0 else None, "qualifier": p.get("qualifier"), "origin": p.get("origin"),
        "method": (p.get("conditions") or {}).get("method"), "flags": p.get("flags") or [], "measurement": p.get("measurement"),
    }


def _arrhenius_fits(store, sample_id: str, prop: str) -> tuple[list[dict], list[dict], list[dict], int]:
    """(derived fits of the property's carrier, stated values of that carrier, fit values whose carrier
    is unknown, number of stale fit values left out), by the one carrier rule (``schemas.carriers``).

    The Arrhenius job fits ionic, electronic and total conductivity only: other properties have no carrier, no fits.
    """
    carrier = CARRIERS.get(prop)
    fits: dict[str, dict] = {}
    reported, unknown, n_stale = [], [], 0
    if carrier is None:
        return [], [], [], 0
    for p in store.properties.find({"sample": sample_id, "name": {"$in": list(FIT_PROPERTIES)}}, sort=[("_id", 1)]):
        known = carriers.describes(p, carrier)
        if not known and carriers.carrier(p) is not None:
            continue  # another carrier's value
        if p.get("stale"):
            n_stale += 1
        elif not known:
            unknown.append(clean(p))
        elif p.get("origin") != "derived":
            reported.append(clean(p))
        else:
            _add_fit(fits, p, carrier)
    return list(fits.values()), reported, unknown, n_stale


def _add_fit(fits: dict[str, dict], p: dict, carrier: str) -> None:
    """Add a derived fit value to the entry of its conductivity series (and break segment)."""
    params = (p.get("provenance") or {}).get("parameters") or {}
    series = params.get("series") or {}
    key = repr(sorted(series.items())) + str(params.get("segment") or "")
    group = fits.setdefault(key, {"series": series or None, "segment": params.get("segment"), "carrier": carrier,
                                  "flags": [], "properties": {}})
    group["properties"][p["name"]] = clean(p)
    group["flags"] = sorted({*group["flags"], *(p.get("flags") or [])})
