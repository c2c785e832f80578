"""Benchmark: GET /api/v1/properties against raw pymongo on the embedded store, as a growth curve (not a test).

    python bench/bench_api.py --sizes 10000,100000,1000000
    python bench/bench_api.py --quick            # 10,000 documents only

Starts a fresh embedded nx-27017 server, creates the indexes declared in schemas/documents.py and
grows one ``properties`` collection (raw pymongo inserts: N property documents over N/100 samples,
several families, elements, temperatures and synthesis routes) to each size in turn. At each size,
for five representative filters (page_limit=50), it measures in an interleaved loop

* **raw**: pymongo ``find(query).sort(sort).limit(50)``, iterated fully, where ``query`` is the
  one the API sends: the parsed filter plus the committed-batches condition (``Store.visible``);
* **client**: the API through the Flask test client, in this process, response body read (not
  parsed: the http mode, like a load tool, also stops at the body; **client+json**, printed for
  information, also parses it with the stdlib json, as the benchmark did until 2026-12-02 and a
  consumer would: about 0.2-0.5 ms more per request);
* **http**: the API through a real server, gunicorn with 2 sync workers on a loopback port, pointed
  at the same store (``MONGODB_URI``), one new connection per request (sync workers do not keep
  connections alive), response body read fully;

and prints median and p95 latency of each, the ratios API/raw (targets: median <= 1.2x, p95 <= 1.5x),
and the peak RSS of this process, of the gunicorn workers and of the embedded server. A fourth
timing, **raw+visibility**, is the raw query with the batch-visibility work every API read adds:
building the committed-batches condition (``Store.visible_as_of``: a read of the batch-states token
file, the states themselves only when it moved; store/visibility.py) and checking the token again
after the query (``Store.unchanged_since``). Before the token, this was a round trip to the store
per read and cost 1.44-1.46x raw on its own. Every ratio is
against the baseline measured in the same loop, so machine load hits both sides alike. ``--export``
also times the streamed CSV export at the largest size against a raw iteration of the same documents.

``--variants`` adds two HTTP modes to the same loop, to tell how much of the http mode's cost is the
application's (both for information; neither is how Ionbase ships):

* **http-keepalive**: the same API through gunicorn with ``gthread`` workers (one thread each) that
  keep connections alive, and one persistent client connection (what ``ionbase.client``'s
  ``requests.Session`` reuses when the server allows it);
* **http-floor**: gunicorn with 2 sync workers serving ``bench/floor_app.py``, a WSGI callable without
  Flask that runs the same page query (``Store.properties.page``) and writes the same documents with
  orjson: the least any application can cost through this server on this store.
"""

from __future__ import annotations

import argparse
import http.client
import json
import math
import os
import random
import resource
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FAMILIES = {
    "halide": [["Na", "In", "Zr", "Cl"], ["Li", "Y", "Cl"], ["Na", "Y", "Cl"], ["Li", "In", "Cl"]],
    "closo-borate": [["Na", "C", "B", "H"], ["Na", "B", "H"], ["Li", "C", "B", "H"]],
    "antiperovskite": [["Mg", "As", "N"], ["Li", "O", "Cl"], ["Na", "O", "Cl"]],
    "sulfide": [["Li", "P", "S"], ["Na", "P", "S"], ["Li", "P", "S", "Cl"]],
    "oxide": [["Li", "La", "Zr", "O"], ["Na", "Zr", "Si", "P", "O"]],
}
PROPS = [("ionic_conductivity", "S/cm", 0.55), ("activation_energy", "eV", 0.15), ("electronic_conductivity", "S/cm", 0.1),
         ("lattice_a", "Å", 0.1), ("bulk_resistance", "ohm", 0.1)]
PAGE = 50
TEMPS = [25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0]
FILTERS = [
    ("example", 'property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 AND elements HAS "Na" '
                "AND milling_time_h>=4 AND max_anneal_c<=300", "-value"),
    ("conductivity at 25 C, best first", 'property="ionic_conductivity" AND temperature_c=25', "-value"),
    ("Na halides", 'elements HAS "Na" AND family="halide"', None),
    ("series x>=0.5", 'series="Na3-xIn1-xZrxCl6" AND x>=0.5 AND property="ionic_conductivity"', "x"),
    ("low Ea, never annealed >300", 'property="activation_energy" AND value<0.35 AND max_anneal_c<=300', "value"),
]


def make_docs(n: int, n_samples: int, seed: int = 7, start: int = 0):
    """Property documents ``start``..``n-1`` (deterministic per index range and seed)."""
    srng = random.Random(seed)  # the same samples whatever the range
    samples = []
    for i in range(n_samples):
        fam = srng.choice(list(FAMILIES))
        els = sorted(srng.choice(FAMILIES[fam]))
        milled = srng.random() < 0.7
        annealed = srng.random() < 0.5
        syn = {"step_types": sorted((["ball_milling"] if milled else []) + (["annealing"] if annealed else [])),
               "milled": milled, "annealed": annealed, "hot_pressed": srng.random() < 0.1, "cold_pressed": srng.random() < 0.8,
               "coated": False, "n_steps": int(milled) + int(annealed) + 1,
               "milling_time_h": srng.choice([0.25, 0.5, 1, 2, 4, 6, 8, 12, 24]) if milled else 0.0,
               "anneal_time_h": srng.choice([1, 2, 6, 12]) if annealed else 0.0}
        if milled:
            syn["max_rpm"] = float(srng.choice([300, 400, 500, 600]))
        if annealed:
            syn["max_anneal_c"] = float(srng.choice([150, 200, 250, 300, 400, 500, 600, 800]))
        syn["anneal_ceiling_c"] = syn.get("max_anneal_c", 25.0)  # as schemas.build.summarize_route
        series = None
        if fam == "halide" and "Zr" in els:
            series = ("Na3-xIn1-xZrxCl6", srng.choice([0.0, 0.125, 0.25, 0.5, 0.75, 1.0]))
        samples.append((f"smp-{i:07d}", f"S{i}", f"mat-{i % 997:04d}", fam, els, syn, series))
    rng = random.Random(seed * 1_000_003 + start)
    names = [p[0] for p in PROPS]
    weights = [p[2] for p in PROPS]
    units = {p[0]: p[1] for p in PROPS}
    for j in range(start, n):
        sid, label, mid, fam, els, syn, series = samples[j % n_samples]
        name = rng.choices(names, weights)[0]
        doc = {"_id": f"prop-{j:09d}", "sample": sid, "sample_label": label, "name": name, "unit": units[name],
               "origin": rng.choice(["reported", "measured", "derived"]), "material_id": mid,
               "formula": "".join(els), "reduced_formula": "".join(els), "elements": els, "nelements": len(els),
               "family": fam, "doi": f"10.1000/x{j % 50}", "synthesis": syn, "stale": False, "batch_id": "imp-bench"}
        if name.endswith("conductivity"):
            t = rng.choice(TEMPS)
            doc.update(value=10 ** rng.uniform(-9, -2), temperature_c=t, temperature_k=t + 273.15,
                       conditions={"temperature_c": t, "temperature_k": t + 273.15, "method": "EIS"})
            doc["uncertainty"] = doc["value"] * 0.05
        elif name == "activation_energy":
            doc["value"] = rng.uniform(0.15, 0.8)
        elif name == "lattice_a":
            doc["value"] = rng.uniform(3.5, 12.0)
        else:
            doc["value"] = 10 ** rng.uniform(0, 6)
        if series:
            doc["series_name"], doc["series_value"] = series
        yield doc


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of ``values``, nearest rank."""
    s = sorted(values)
    return s[min(len(s) - 1, max(0, math.ceil(q * len(s)) - 1))]


def vm_hwm_mb(pid: int) -> float | None:
    """Peak resident set (VmHWM) of a live process in MB, from /proc; None when unreadable."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid: int) -> list[int]:
    """Pids whose parent is ``pid`` (Linux /proc)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, IndexError, ValueError):
                continue
    return out


def free_port() -> int:
    """A free loopback TCP port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


#: extra gunicorn arguments of each HTTP mode (``--variants`` adds the last two)
HTTP_MODES = {
    "http": [],
    "http-keepalive": ["-k", "gthread", "--threads", "1", "--keep-alive", "60"],
    "http-floor": ["--pythonpath", str(Path(__file__).resolve().parent), "floor_app:app"],
}


def start_gunicorn(uri: str, data_dir: Path, port: int, extra: list[str] | None = None) -> subprocess.Popen:
    """gunicorn, 2 workers (sync unless ``extra`` says otherwise) on 127.0.0.1:``port``, serving the bench
    database at ``uri``; waits until it answers."""
    env = {**os.environ, "MONGODB_URI": uri, "IONBASE_DB_NAME": "bench", "IONBASE_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:ionbase.service.gunicorn_conf", "-w", "2",
                             "-b", f"127.0.0.1:{port}", "--log-level", "warning", *(extra or [])],
                            env=env, cwd=str(data_dir))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            status, _ = http_get(port, "/api/v1/properties?page_limit=1")
            if status == 200:
                return proc
        except OSError:
            time.sleep(0.2)
    proc.terminate()
    raise SystemExit("gunicorn did not answer within 60 s")


def start_servers(uri: str, data_dir: Path, modes: list[str]) -> dict:
    """HTTP mode -> (its gunicorn, a GET function on it): a new connection per request, except http-keepalive."""
    out = {}
    for mode in modes:
        port = free_port()
        proc = start_gunicorn(uri, data_dir, port, HTTP_MODES[mode])
        get = keepalive_getter(port) if mode == "http-keepalive" else (lambda path, port=port: http_get(port, path))
        out[mode] = (proc, get)
    return out


def keepalive_getter(port: int):
    """A GET function that reuses one loopback connection (reopened if the server closed it)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)

    def get(path: str) -> tuple[int, bytes]:
        try:
            conn.request("GET", path)
            r = conn.getresponse()
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            conn.close()
            conn.request("GET", path)
            r = conn.getresponse()
        return r.status, r.read()
    return get


def http_get(port: int, path: str) -> tuple[int, bytes]:
    """One GET on a new loopback connection; (status, body)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    try:
        conn.request("GET", path)
        r = conn.getresponse()
        return r.status, r.read()
    finally:
        conn.close()


def insert(store: Any, start: int, n: int, n_samples: int, batch: int) -> float:
    """Grow the properties collection from ``start`` to ``n`` documents (raw pymongo), its indexes
    dropped meanwhile and built again after (several times faster than inserting into them); seconds taken."""
    from ionbase.store import ensure_indexes

    t0 = time.perf_counter()
    store.db.properties.drop_indexes()
    buf = []
    for doc in make_docs(n, n_samples, start=start):
        buf.append(doc)
        if len(buf) >= batch:
            store.db.properties.insert_many(buf, ordered=False)
            buf = []
    if buf:
        store.db.properties.insert_many(buf, ordered=False)
    ensure_indexes()
    return time.perf_counter() - t0


def measure_filter(store: Any, client: Any, getters: dict, text: str, sort: str | None, repeats: int,
                   budget_s: float) -> dict:
    """Interleaved timings (ms) of raw pymongo, the test client and each HTTP mode (``getters``: mode ->
    GET function) for one filter."""
    from ionbase.service.query.properties import build_property_query

    params = {"filter": text, "page_limit": PAGE, **({"sort": sort} if sort else {})}
    path = "/api/v1/properties?" + urllib.parse.urlencode(params)
    pq = build_property_query(text, sort, None)
    query = store.visible(pq.query)  # the committed-batches condition, as the API sends it

    def raw():
        return list(store.db.properties.find(query).sort(pq.sort).limit(PAGE))

    def api():  # the response body read, not parsed: what the http mode (and a load tool) measures too
        r = client.get(path)
        assert r.status_code == 200, r.get_json()
        return r.data

    def api_json():  # for information: the body also parsed by the stdlib json (Flask's get_json)
        r = client.get(path)
        assert r.status_code == 200, r.get_json()
        return r.get_json()["data"]

    def web(get):
        def run():
            status, body = get(path)
            assert status == 200, body[:300]
        return run

    hits = len(raw())
    want = [d["_id"] for d in raw()]
    assert want == [d["id"] for d in api_json()], "API and raw pymongo disagree"
    for mode, get in getters.items():
        status, body = get(path)
        assert status == 200 and [d["id"] for d in json.loads(body)["data"]] == want, f"{mode} and raw pymongo disagree"
    def raw_visibility():
        sent, token = store.visible_as_of(pq.query)  # what every API read does around its query
        out = list(store.db.properties.find(sent).sort(pq.sort).limit(PAGE))
        store.unchanged_since(token)
        return out

    fns = {"raw": raw, "raw+visibility": raw_visibility, "client": api, "client+json": api_json,
           **{mode: web(get) for mode, get in getters.items()}}
    for mode in getters:
        for _ in range(3):
            fns[mode]()  # warm every gunicorn worker, not only the one that takes the first request
    t0 = time.perf_counter()
    for fn in fns.values():
        fn()  # warm up
    per_round = time.perf_counter() - t0
    rounds = max(7, min(repeats, int(budget_s / max(per_round, 1e-6))))
    times: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(rounds):
        for k, fn in fns.items():
            a = time.perf_counter()
            fn()
            times[k].append((time.perf_counter() - a) * 1000)
    out = {"hits": hits, "rounds": rounds}
    for k, ts in times.items():
        out[k] = (statistics.median(ts), pct(ts, 0.95))
    return out


def report_size(n: int, results: list[tuple[str, dict]], modes: list[str]) -> dict:
    """Print one size's table; returns the overall ratios per mode."""
    print(f"{'filter':<34} {'hits':>4} {'runs':>4} {'raw med/p95 ms':>16} {'+visib. ratio':>13}"
          + "".join(f" {m + ' med/p95 ms':>18} {'ratio med/p95':>14}" for m in modes))
    ratios: dict[str, list[tuple[float, float]]] = {m: [] for m in modes}
    floor: list[float] = []
    parsed: list[float] = []
    for label, r in results:
        rm, rp = r["raw"]
        line = f"{label:<34} {r['hits']:>4} {r['rounds']:>4} {rm:>7.2f} / {rp:>6.2f} {r['raw+visibility'][0] / rm:>13.2f}"
        floor.append(r["raw+visibility"][0] / rm)
        parsed.append(r["client+json"][0] / rm)
        for m in modes:
            am, ap_ = r[m]
            ratios[m].append((am / rm, ap_ / rp))
            line += f" {am:>8.2f} / {ap_:>7.2f} {am / rm:>6.2f} / {ap_ / rp:>5.2f}"
        print(line)
    print(f"  raw+visibility: raw with the batch-visibility work every API read adds (token file read before and "
          f"after, store/visibility.py); median ratio to raw {statistics.median(floor):.2f}")
    print(f"  client+json: the test client's response body also parsed by the stdlib json (Flask's get_json; "
          f"client and http read the body without parsing it); median over filters of ratio(median) "
          f"{statistics.median(parsed):.2f}")
    overall = {}
    for m in modes:
        med = statistics.median(x for x, _ in ratios[m])
        p95 = statistics.median(y for _, y in ratios[m])
        worst = (max(x for x, _ in ratios[m]), max(y for _, y in ratios[m]))
        overall[m] = (med, p95, worst)
        print(f"  {m}: median over filters of ratio(median) {med:.2f} (target <= 1.2), of ratio(p95) {p95:.2f} "
              f"(target <= 1.5); worst filter {worst[0]:.2f} / {worst[1]:.2f}")
    return overall


def peak_rss(server: Any, gunicorn: subprocess.Popen | None) -> dict:
    """Peak RSS in MB of this process, the embedded server and the gunicorn workers."""
    rss = {"bench": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "server": vm_hwm_mb(server.current().get("pid") or 0)}
    if gunicorn is not None:
        rss["workers"] = [w for w in (vm_hwm_mb(p) for p in children(gunicorn.pid)) if w]
    print(f"  peak RSS: bench process {rss['bench']:.0f} MB; embedded server {rss['server'] or float('nan'):.0f} MB"
          + ("; gunicorn workers " + ", ".join(f"{w:.0f}" for w in rss["workers"]) + " MB" if rss.get("workers") else ""))
    return rss


def print_summary(summary: list[tuple[int, dict, dict]]) -> None:
    """One line per size: overall ratios per mode, whether the targets are met, peak RSS."""
    print("\nsummary (ratio API/raw: median over filters of per-filter median / of per-filter p95; "
          "targets <= 1.2 / <= 1.5)")
    for n, overall, rss in summary:
        parts = [f"{m} {med:.2f} / {p95:.2f} {'met' if med <= 1.2 and p95 <= 1.5 else 'NOT met'}"
                 for m, (med, p95, _) in overall.items()]
        print(f"  {n:>9,}: " + "; ".join(parts) + f"; peak RSS bench {rss['bench']:.0f} MB, server "
              f"{rss['server'] or float('nan'):.0f} MB" + (f", workers {max(rss['workers']):.0f} MB" if rss.get("workers") else ""))


def grow_and_measure(store: Any, server: Any, client: Any, servers: dict, sizes: list[int],
                     n_samples: int, args: argparse.Namespace) -> list:
    """For each size in turn: grow the collection to it, measure every filter, print; the summary rows.
    ``servers``: HTTP mode -> (gunicorn process, GET function)."""
    getters = {mode: get for mode, (_, get) in servers.items()}
    gunicorn = servers["http"][0] if "http" in servers else None
    modes = ["client", *getters]
    summary = []
    have = 0
    for n in sizes:
        took = insert(store, have, n, n_samples, args.batch)
        print(f"\n=== {n:,} properties ({n_samples:,} samples): grown from {have:,} in {took:.1f} s "
              f"({(n - have) / took:,.0f} docs/s, indexes rebuilt)")
        have = n
        t0 = time.perf_counter()
        results = [(label, measure_filter(store, client, getters, text, sort, args.repeats, args.budget))
                   for label, text, sort in FILTERS]
        overall = report_size(n, results, modes)
        rss = peak_rss(server, gunicorn)
        print(f"  (measured in {time.perf_counter() - t0:.0f} s)")
        summary.append((n, overall, rss))
    return summary


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="10000,100000,1000000", help="comma-separated collection sizes, grown in turn")
    ap.add_argument("--quick", action="store_true", help="10,000 documents only")
    ap.add_argument("--samples", type=int, default=None, help="samples (default largest size/100, at least 1000)")
    ap.add_argument("--repeats", type=int, default=40, help="rounds per filter (at least 7; fewer when over --budget)")
    ap.add_argument("--budget", type=float, default=20.0, help="seconds per filter and size")
    ap.add_argument("--batch", type=int, default=10_000)
    ap.add_argument("--no-http", action="store_true", help="skip the gunicorn measurement")
    ap.add_argument("--export", action="store_true", help="also time the CSV export at the largest size")
    ap.add_argument("--variants", action="store_true",
                    help="also measure http-keepalive (gthread workers, one kept connection) and http-floor (no Flask)")
    args = ap.parse_args()
    sizes = [10_000] if args.quick else sorted(int(x) for x in args.sizes.split(","))
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # stop gunicorn and the server on the way out

    from ionbase.settings import Settings
    from ionbase.service.app import create_app
    from ionbase.store import ensure_indexes, open_store
    from ionbase.store.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="ionbase-bench-"))
    server = EmbeddedServer(tmp)
    uri = server.ensure_running()
    settings = Settings(mongodb_uri=uri, db_name="bench", data_dir=tmp)
    store = open_store(settings, create_indexes=False)
    store.db.import_batches.insert_one({"_id": "imp-bench", "status": "committed"})
    ensure_indexes()
    client = create_app(settings, store=store).test_client()
    servers = {} if args.no_http else start_servers(uri, tmp, list(HTTP_MODES) if args.variants else ["http"])
    try:
        summary = grow_and_measure(store, server, client, servers, sizes, args.samples or max(1000, sizes[-1] // 100), args)
        print_summary(summary)
        if args.export:
            export(store, client)
    finally:
        for proc, _ in servers.values():
            proc.terminate()
        for proc, _ in servers.values():
            proc.wait(30)
        store.close()
        server.stop()


def export(store: Any, client: Any) -> None:
    """ML export: streamed CSV of one family's conductivities, against raw iteration of the same documents."""
    from ionbase.service.query.properties import build_property_query

    text = 'family="halide" AND property="ionic_conductivity"'
    query = store.visible(build_property_query(text, None, None).query)
    t0 = time.perf_counter()
    n_raw = sum(1 for _ in store.db.properties.find(query))
    t_raw = time.perf_counter() - t0
    t0 = time.perf_counter()
    r = client.get("/api/v1/export", query_string={"filter": text, "format": "csv"})
    body = r.get_data()
    t_exp = time.perf_counter() - t0
    rows = body.count(b"\n") - 1
    print(f"export csv: {rows:,} rows from {n_raw:,} documents in {t_exp:.2f} s ({rows / t_exp:,.0f} rows/s); "
          f"raw find of the same documents {t_raw:.2f} s; ratio {t_exp / t_raw:.2f}x")


if __name__ == "__main__":
    main()
