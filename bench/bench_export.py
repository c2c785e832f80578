"""Benchmark of the ML export: build_rows + CSV writer vs a raw pymongo find() over the same docs.

    python bench/bench_export.py [--samples 10000] [--temps 8] [--keep]

Generates ``samples * (temps + 2)`` property documents (default 100k: per sample ``temps``
ionic conductivities, one activation energy, one lattice a) straight into a temporary embedded
nx-27017 store with raw pymongo, then times, in the same run:

* baseline: ``list``-free iteration of ``db.properties.find(store.visible({}))`` (all fields);
* export: ``plan_export`` + ``build_rows`` + ``write_csv`` into a file (rows/s and docs/s);

and prints the ratio export time / baseline time.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

FORMULAS = [("Na3InCl6", ["Cl", "In", "Na"], "halide"), ("Na2.5Zr0.5In0.5Cl6", ["Cl", "In", "Na", "Zr"], "halide"),
            ("NaCB11H12", ["B", "C", "H", "Na"], "closo-borate"), ("Mg3AsN", ["As", "Mg", "N"], "antiperovskite"),
            ("Li3N", ["Li", "N"], "other"), ("Na2B12H12", ["B", "H", "Na"], "closo-borate")]


def make_docs(n_samples: int, n_temps: int, seed: int = 1):
    rnd = random.Random(seed)
    for i in range(n_samples):
        formula, elements, family = FORMULAS[i % len(FORMULAS)]
        sid = f"smp-{i:08d}"
        milling = rnd.choice([0.0, 1.0, 2.0, 6.0, 12.0, 24.0])
        base = {
            "sample": sid, "sample_label": f"S{i}", "material_id": f"mat-{i % 500:05d}", "formula": formula,
            "reduced_formula": formula, "elements": elements, "nelements": len(elements), "family": family,
            "series_name": f"series-{i % 50}", "series_value": (i % 7) / 10, "doi": f"10.9999/bench.{i % 200}",
            "synthesis": {"step_types": ["ball_milling"], "n_steps": 1, "milled": milling > 0, "milling_time_h": milling,
                          "max_rpm": 500.0, "annealed": False, "anneal_time_h": 0.0, "hot_pressed": False,
                          "cold_pressed": True, "coated": False},
            "batch_id": "bench", "stale": False,
        }
        ea = rnd.uniform(0.2, 0.7)
        for k in range(n_temps):
            tc = 25.0 + 10.0 * k
            tk = tc + 273.15
            yield {**base, "_id": f"prop-{i:08d}-s{k}", "name": "ionic_conductivity", "unit": "S/cm",
                   "value": 1e3 * 2.718281828 ** (-ea / (8.617333262e-5 * tk)), "origin": "reported",
                   "temperature_c": tc, "temperature_k": tk,
                   "conditions": {"temperature_c": tc, "temperature_k": tk, "method": "EIS"}}
        yield {**base, "_id": f"prop-{i:08d}-ea", "name": "activation_energy", "unit": "eV", "value": ea,
               "uncertainty": 0.01, "origin": "reported", "conditions": {}}
        yield {**base, "_id": f"prop-{i:08d}-a", "name": "lattice_a", "unit": "Å", "value": rnd.uniform(4, 12),
               "origin": "reported", "conditions": {"phase": formula}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--temps", type=int, default=8)
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directory")
    args = ap.parse_args()

    from ionbase.settings import Settings
    from ionbase.service.export import build_rows, plan_export, write_csv
    from ionbase.store import open_store
    from ionbase.store.embedded import EmbeddedServer

    tmp = Path(tempfile.mkdtemp(prefix="ionbase-bench-export-"))
    server = EmbeddedServer(tmp)
    uri = server.ensure_running()
    store = open_store(Settings(mongodb_uri=uri, data_dir=tmp, db_name="bench"))
    try:
        db = store.db
        db.import_batches.insert_one({"_id": "bench", "status": "committed"})
        t0 = time.perf_counter()
        batch, n_docs = [], 0
        for doc in make_docs(args.samples, args.temps):
            batch.append(doc)
            if len(batch) == 5000:
                db.properties.insert_many(batch, ordered=False)
                n_docs += len(batch)
                batch = []
        if batch:
            db.properties.insert_many(batch, ordered=False)
            n_docs += len(batch)
        t_insert = time.perf_counter() - t0
        print(f"generated {n_docs} property docs ({args.samples} samples x {args.temps} temperatures + 2) "
              f"in {t_insert:.1f} s ({n_docs / t_insert:,.0f} docs/s insert)")

        # baseline: raw iteration of the same documents
        t0 = time.perf_counter()
        n_base = sum(1 for _ in db.properties.find(store.visible({})).batch_size(2000))
        t_base = time.perf_counter() - t0
        print(f"baseline  find() iteration : {n_base:>8} docs in {t_base:6.2f} s  ({n_base / t_base:>10,.0f} docs/s)")

        out = tmp / "export.csv"
        t0 = time.perf_counter()
        plan = plan_export(store, {})
        t_plan = time.perf_counter() - t0
        n_rows = 0
        with open(out, "w", encoding="utf-8", newline="") as fh:
            def counted():
                nonlocal n_rows
                for r in build_rows(store, {}, plan):
                    n_rows += 1
                    yield r
            for chunk in write_csv(counted(), plan.columns):
                fh.write(chunk)
        t_exp = time.perf_counter() - t0
        size_mb = os.path.getsize(out) / 1e6
        print(f"export    plan pass        : {t_plan:6.2f} s")
        print(f"export    build_rows + CSV : {n_rows:>8} rows in {t_exp:6.2f} s  ({n_rows / t_exp:>10,.0f} rows/s, "
              f"{n_docs / t_exp:,.0f} docs/s), {len(plan.columns)} columns, {size_mb:.1f} MB")
        print(f"ratio export / baseline    : {t_exp / t_base:.2f}x")
    finally:
        store.client.close()
        server.stop()
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"data kept in {tmp}")


if __name__ == "__main__":
    main()
