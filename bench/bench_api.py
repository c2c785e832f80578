"""Benchmark: GET /api/v1/properties against raw pymongo on the embedded store (not a test).

    python bench/bench_api.py --n 100000

Generates N property documents (thousands of samples, several families, elements, temperatures and
synthesis routes), inserts them with raw pymongo into a fresh database on a fresh embedded
nx-27017 server, creates the indexes declared in schemas/documents.py, then for five
representative filters reports the median latency of the API (Flask test client, page_limit=50)
and of pymongo ``find(same query).sort(same sort).limit(50)``, and their ratio (target <= 1.5x).
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

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
TEMPS = [25.0, 30.0, 40.0, 50.0, 60.0, 80.0, 100.0]
FILTERS = [
    ("example", 'property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 AND elements HAS "Na" '
                "AND milling_time_h>=4 AND max_anneal_c<=300", "-value"),
    ("conductivity at 25 C, best first", 'property="ionic_conductivity" AND temperature_c=25', "-value"),
    ("Na halides", 'elements HAS "Na" AND family="halide"', None),
    ("series x>=0.5", 'series="Na3-xIn1-xZrxCl6" AND x>=0.5 AND property="ionic_conductivity"', "x"),
    ("low Ea, never annealed >300", 'property="activation_energy" AND value<0.35 AND max_anneal_c<=300', "value"),
]


def make_docs(n: int, n_samples: int, seed: int = 7):
    rng = random.Random(seed)
    samples = []
    for i in range(n_samples):
        fam = rng.choice(list(FAMILIES))
        els = sorted(rng.choice(FAMILIES[fam]))
        milled = rng.random() < 0.7
        annealed = rng.random() < 0.5
        syn = {"step_types": sorted((["ball_milling"] if milled else []) + (["annealing"] if annealed else [])),
               "milled": milled, "annealed": annealed, "hot_pressed": rng.random() < 0.1, "cold_pressed": rng.random() < 0.8,
               "coated": False, "n_steps": int(milled) + int(annealed) + 1,
               "milling_time_h": rng.choice([0.25, 0.5, 1, 2, 4, 6, 8, 12, 24]) if milled else 0.0,
               "anneal_time_h": rng.choice([1, 2, 6, 12]) if annealed else 0.0}
        if milled:
            syn["max_rpm"] = float(rng.choice([300, 400, 500, 600]))
        if annealed:
            syn["max_anneal_c"] = float(rng.choice([150, 200, 250, 300, 400, 500, 600, 800]))
        syn["anneal_ceiling_c"] = syn.get("max_anneal_c", 25.0)  # as schemas.build.summarize_route
        series = None
        if fam == "halide" and "Zr" in els:
            series = ("Na3-xIn1-xZrxCl6", rng.choice([0.0, 0.125, 0.25, 0.5, 0.75, 1.0]))
        samples.append((f"smp-{i:07d}", f"S{i}", f"mat-{i % 997:04d}", fam, els, syn, series))
    names = [p[0] for p in PROPS]
    weights = [p[2] for p in PROPS]
    units = {p[0]: p[1] for p in PROPS}
    for j in range(n):
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


def median_ms(fn, repeats: int) -> float:
    fn()  # warm up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000, help="property documents (default 1,000,000)")
    ap.add_argument("--samples", type=int, default=None, help="samples (default n/100, at least 1000)")
    ap.add_argument("--repeats", type=int, default=15)
    ap.add_argument("--batch", type=int, default=10_000)
    args = ap.parse_args()

    from ionbase.settings import Settings
    from ionbase.service.app import create_app
    from ionbase.service.query.properties import build_property_query
    from ionbase.store import ensure_indexes, open_store
    from ionbase.store.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="ionbase-bench-"))
    server = EmbeddedServer(tmp)
    uri = server.ensure_running()
    settings = Settings(mongodb_uri=uri, db_name="bench", data_dir=tmp)
    store = open_store(settings, create_indexes=False)
    store.db.import_batches.insert_one({"_id": "imp-bench", "status": "committed"})
    n_samples = args.samples or max(1000, args.n // 100)

    t0 = time.perf_counter()
    buf = []
    for doc in make_docs(args.n, n_samples):
        buf.append(doc)
        if len(buf) >= args.batch:
            store.db.properties.insert_many(buf, ordered=False)
            buf = []
    if buf:
        store.db.properties.insert_many(buf, ordered=False)
    t_insert = time.perf_counter() - t0
    t0 = time.perf_counter()
    ensure_indexes()
    t_index = time.perf_counter() - t0
    print(f"inserted {args.n:,} properties ({n_samples:,} samples) in {t_insert:.1f} s "
          f"({args.n / t_insert:,.0f} docs/s); indexes in {t_index:.1f} s")

    app = create_app(settings, store=store)
    client = app.test_client()
    print(f"{'filter':<36} {'hits/page':>9} {'API ms':>9} {'pymongo ms':>11} {'ratio':>6}")
    ratios = []
    for label, text, sort in FILTERS:
        params = {"filter": text, "page_limit": 50, **({"sort": sort} if sort else {})}
        pq = build_property_query(text, sort, None)
        query = store.visible(pq.query)

        def api():
            r = client.get("/api/v1/properties", query_string=params)
            assert r.status_code == 200, r.get_json()
            return r

        def raw():
            return list(store.db.properties.find(query).sort(pq.sort).limit(50))

        hits = len(raw())
        a, b = median_ms(api, args.repeats), median_ms(raw, args.repeats)
        ratios.append(a / b)
        print(f"{label:<36} {hits:>9} {a:>9.1f} {b:>11.1f} {a / b:>6.2f}")
    print(f"median ratio {statistics.median(ratios):.2f} (target <= 1.5)")

    # ML export: streamed CSV of one family's conductivities, against raw iteration of the same documents
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
    store.close()
    server.stop()


if __name__ == "__main__":
    main()
