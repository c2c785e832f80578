"""Benchmark: import 100,000 conductivity rows through `ionbase import` machinery vs raw insert_many.

Generates a realistic lab export (thousands of samples, a few synthesis routes, five temperatures
each) as template CSVs, imports it with the Importer on an embedded nx-27017 store, then inserts
the very same final documents with raw pymongo ``insert_many`` into a fresh database on the same
server, in the same run. Prints rows/s, peak memory and the ratio (target: ingest <= 2x raw).

    python bench/bench_ingest.py            # 100,000 rows
    python bench/bench_ingest.py --rows 20000
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ionbase.ingest.importer import COLLECTIONS, Importer, ImportOptions  # noqa: E402
from ionbase.settings import Settings  # noqa: E402
from ionbase.store import open_store  # noqa: E402

FORMULAS = [("Na3InCl6", "halide"), ("Na2.5In0.5Zr0.5Cl6", "halide"), ("Na2ZrCl6", "halide"), ("Mg3AsN", "antiperovskite"),
            ("NaCB11H12", "closo-borate"), ("Na2B12H12", "closo-borate"), ("Li3YCl6", "halide"), ("Li6PS5Cl", "sulfide")]
TEMPS = [-20, 0, 25, 40, 60]


def generate(folder: Path, rows: int, seed: int = 7) -> int:
    rng = random.Random(seed)
    n_samples = rows // len(TEMPS)
    with open(folder / "samples.csv", "w") as s, open(folder / "steps.csv", "w") as st, open(folder / "conductivity.csv", "w") as c:
        s.write("# notebook: BENCH-LAB\nlabel,formula,family\n")
        st.write("# notebook: BENCH-LAB\nsample,step,type,rpm,duration (h),temperature (°C),atmosphere\n")
        c.write("# notebook: BENCH-LAB\nsample,T (°C),sigma (mS/cm),carrier,method\n")
        for i in range(n_samples):
            formula, family = FORMULAS[i % len(FORMULAS)]
            label = f"S{i:06d}"
            s.write(f"{label},{formula},{family}\n")
            rpm = rng.choice([300, 400, 500])
            hours = rng.choice([1, 2, 4, 8, 12, 24])
            st.write(f"{label},1,ball_milling,{rpm},{hours},,Ar\n")
            if i % 3 == 0:
                st.write(f"{label},2,annealing,,{rng.choice([1, 12])},{rng.choice([200, 300, 500])},Ar\n")
            log_s25 = rng.uniform(-7, -2)
            ea = rng.uniform(0.25, 0.6)
            for t in TEMPS:
                tk = t + 273.15
                sigma = 10 ** log_s25 * 2.718281828 ** (-ea / 8.617e-5 * (1 / tk - 1 / 298.15)) * 1e3  # mS/cm
                c.write(f"{label},{t},{sigma:.4g},ionic,EIS\n")
    return n_samples * len(TEMPS)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        data.mkdir()
        rows = generate(data, args.rows)
        settings = Settings(data_dir=tmp / "store", db_name="bench_ingest")
        store = open_store(settings)
        try:
            rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            t0 = time.perf_counter()
            report = Importer(store, ImportOptions(max_rows=10_000_000)).run(sorted(data.iterdir()))
            t_ingest = time.perf_counter() - t0
            rss_after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            n_docs = report.counts["total"]["new"]
            # the same final documents, raw insert_many into a fresh database on the same server
            docs = {c: list(store.db[c].find({})) for c in COLLECTIONS}
            raw_db = store.client["bench_ingest_raw"]
            store.client.drop_database("bench_ingest_raw")
            for c in COLLECTIONS:  # the same indexes as the import's collections: a like-for-like write
                for name, spec in store.db[c].index_information().items():
                    if name != "_id_":
                        raw_db[c].create_index(spec["key"], unique=spec.get("unique", False), name=name)
            t0 = time.perf_counter()
            for c, items in docs.items():
                for start in range(0, len(items), 5000):
                    if items[start : start + 5000]:
                        raw_db[c].insert_many(items[start : start + 5000], ordered=False)
            t_raw = time.perf_counter() - t0
            t0 = time.perf_counter()
            again = Importer(store, ImportOptions(max_rows=10_000_000)).run(sorted(data.iterdir()))
            t_again = time.perf_counter() - t0
            print(f"rows: {rows:,} conductivity rows, {report.counts['samples']['new']:,} samples, "
                  f"{report.counts['routes']['new']:,} routes, {n_docs:,} documents written")
            print(f"ionbase import : {t_ingest:8.2f} s  {rows / t_ingest:10,.0f} rows/s  "
                  f"peak RSS {rss_after:,.0f} MiB (was {rss_before:,.0f} MiB before the import)")
            print(f"raw insert_many: {t_raw:8.2f} s  {rows / t_raw:10,.0f} rows/s  (same {n_docs:,} final documents, same indexes)")
            print(f"ratio ingest/raw: {t_ingest / t_raw:.2f}x  (target <= 2x)")
            print(f"re-import (0 new, {again.counts['total']['changed']} changed): {t_again:.2f} s")
        finally:
            store.client.drop_database("bench_ingest_raw")
            store.client.drop_database("bench_ingest")
            store.close()


if __name__ == "__main__":
    main()
