"""Benchmark: import conductivity rows through the Importer vs raw insert_many, at growing sizes.

Generates a realistic lab export (one sample per five rows, a few synthesis routes, five
temperatures per sample) as template CSVs, imports it with the Importer on an embedded nx-27017
store, then inserts the very same final documents with raw pymongo ``insert_many`` (commands of
5,000, the same indexes) into a fresh database on the same server, in the same run, then imports
the same files again (nothing changed: nothing written). Each size runs in its own subprocess
with its own fresh store, so its peak RSS is its own: the peak resident memory of the importing
process during the import (VmHWM, reset before each phase; the server process is not counted).

    python bench/bench_ingest.py                           # 10,000 and 100,000 rows
    python bench/bench_ingest.py --quick                   # 10,000 rows
    python bench/bench_ingest.py --sizes 10000,100000,1000000

Targets (issue 15): import <= 1.3x raw insert_many; peak RSS <= 400 MiB and flat across sizes.
Where the import's time goes is printed below each size, from pymongo's command monitoring: the
time before its writer's first insert (the first pass builds the samples and their routes before any
document can be written), the seconds its insert commands took against the raw ones, and its diff
queries (``find``).
Not a test: the machine is shared, so read the ratio (both figures from the same run).
"""

from __future__ import annotations

import argparse
import json
import os
import pickle
import random
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from pymongo import monitoring

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


TARGET_RATIO = 1.3
TARGET_RSS_MIB = 400


def _peak_reset() -> None:
    """Reset this process's peak RSS (VmHWM), so the next reading is the next phase's own."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")


def _peak_mib() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _import(store, data: Path) -> tuple[float, float, dict]:
    """(seconds, peak RSS MiB, counts) of one import of the folder."""
    _peak_reset()
    t0 = time.perf_counter()
    report = Importer(store, ImportOptions(max_rows=10_000_000)).run(sorted(data.iterdir()))
    return time.perf_counter() - t0, _peak_mib(), report.counts


def _raw_insert(store) -> float:
    """Seconds of raw insert_many (commands of 5,000) of every imported document into a fresh
    database with the same indexes. The documents are first read with one cursor per collection into
    a temporary file (not timed: nx-27017 answers a sorted range query by reading its whole result, so
    reading chunk by chunk took hours at 1M documents), then inserted 5,000 at a time from it."""
    raw_db = store.client["bench_ingest_raw"]
    store.client.drop_database("bench_ingest_raw")
    for c in COLLECTIONS:  # the same indexes as the import's collections: a like-for-like write
        for name, spec in store.db[c].index_information().items():
            if name != "_id_":
                raw_db[c].create_index(spec["key"], unique=spec.get("unique", False), name=name)
    t_raw = 0.0
    with tempfile.TemporaryFile() as fh:
        for c in COLLECTIONS:
            chunk: list = []
            for doc in store.db[c].find({}).batch_size(5000):
                chunk.append(doc)
                if len(chunk) == 5000:
                    pickle.dump((c, chunk), fh, pickle.HIGHEST_PROTOCOL)
                    chunk = []
            if chunk:
                pickle.dump((c, chunk), fh, pickle.HIGHEST_PROTOCOL)
        fh.seek(0)
        while True:
            try:
                c, chunk = pickle.load(fh)
            except EOFError:
                break
            t0 = time.perf_counter()
            raw_db[c].insert_many(chunk, ordered=False)
            t_raw += time.perf_counter() - t0
    return t_raw


def _writer_thread() -> bool:
    return threading.current_thread().name == "ionbase-import-writer"  # ingest/overlap.py


class _CommandTimes:
    """Seconds of server round trips per kind (insert, find, ...) and thread, from pymongo's command
    monitoring: they show where an import's time goes (its writer's inserts against raw ones; the
    first pass before the first insert; the diff queries)."""

    def __init__(self) -> None:
        self.seconds: dict[tuple[str, str], float] = {}
        self.first_insert: float | None = None

    def started(self, event) -> None:
        if event.command_name == "insert" and self.first_insert is None and _writer_thread():
            self.first_insert = time.perf_counter()

    def succeeded(self, event) -> None:
        key = (event.command_name, "writer" if _writer_thread() else "main")
        self.seconds[key] = self.seconds.get(key, 0.0) + event.duration_micros / 1e6

    def failed(self, event) -> None:
        self.succeeded(event)

    def reset(self) -> float:
        self.seconds, self.first_insert = {}, None
        return time.perf_counter()

    def total(self, name: str) -> float:
        return sum(v for (n, _), v in self.seconds.items() if n == name)


COMMANDS = _CommandTimes()


class _Listener(monitoring.CommandListener):
    def started(self, event) -> None:
        COMMANDS.started(event)

    def succeeded(self, event) -> None:
        COMMANDS.succeeded(event)

    def failed(self, event) -> None:
        COMMANDS.failed(event)


def _phase(text: str) -> None:
    """A phase's figures as soon as it ends (stderr, shown by the parent): a long run stopped
    before its end still tells what it measured."""
    print(f"[{time.strftime('%H:%M:%S')}, load {' '.join(f'{x:.1f}' for x in os.getloadavg())}] {text}", file=sys.stderr, flush=True)


def run_one(rows: int) -> dict:
    """Generate, import, raw insert, re-import, in a fresh store; the figures."""
    monitoring.register(_Listener())  # before the store's client is made (this process runs one size)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        data = tmp / "data"
        data.mkdir()
        rows = generate(data, rows)
        store = open_store(Settings(data_dir=tmp / "store", db_name="bench_ingest"))
        try:
            t0 = COMMANDS.reset()
            t_import, rss_import, counts = _import(store, data)
            split = {"before_first_insert_s": (COMMANDS.first_insert or t0) - t0, "inserts_s": COMMANDS.total("insert"),
                     "finds_s": COMMANDS.total("find")}
            _phase(f"{rows:,} rows: import {t_import:.1f} s, peak RSS {rss_import:.0f} MiB")
            COMMANDS.reset()
            t_raw = _raw_insert(store)
            split["raw_inserts_s"] = COMMANDS.total("insert")
            _phase(f"{rows:,} rows: raw insert_many {t_raw:.1f} s (ratio {t_import / t_raw:.2f}x)")
            t_again, rss_again, again = _import(store, data)
        finally:
            store.client.drop_database("bench_ingest_raw")
            store.client.drop_database("bench_ingest")
            store.close()
    return {"rows": rows, "samples": counts["samples"]["new"], "documents": counts["total"]["new"],
            "import_s": t_import, "raw_s": t_raw, "ratio": t_import / t_raw, "rss_mib": rss_import,
            "again_s": t_again, "again_rss_mib": rss_again, "again_written": again["total"]["new"] + again["total"]["changed"],
            **split}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000", help="comma-separated row counts, each run in its own subprocess")
    ap.add_argument("--quick", action="store_true", help="10,000 rows only")
    ap.add_argument("--rows", type=int, help="one size (the same as --sizes N)")
    ap.add_argument("--one", type=int, help=argparse.SUPPRESS)  # internal: run one size, print JSON
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one)))
        return
    sizes = [10_000] if args.quick else [args.rows] if args.rows else [int(x) for x in args.sizes.split(",") if x.strip()]
    results = []
    for n in sizes:
        out = subprocess.run([sys.executable, __file__, "--one", str(n)], check=True, stdout=subprocess.PIPE, text=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        results.append(r)
        print(f"{r['rows']:>9,} rows {r['samples']:>8,} samples {r['documents']:>9,} docs | import {r['import_s']:8.2f} s "
              f"({r['rows'] / r['import_s']:7,.0f} rows/s) | raw insert_many {r['raw_s']:8.2f} s | ratio {r['ratio']:.2f}x | "
              f"peak RSS {r['rss_mib']:6.0f} MiB | re-import {r['again_s']:7.2f} s ({r['again_written']} written, "
              f"peak RSS {r['again_rss_mib']:.0f} MiB)", flush=True)
        print(f"{'':>9}   of the import: {r['before_first_insert_s']:.2f} s before its first insert, insert round trips "
              f"{r['inserts_s']:.2f} s (raw's {r['raw_inserts_s']:.2f} s), find round trips {r['finds_s']:.2f} s", flush=True)
    worst = max(r["ratio"] for r in results)
    peak = max(r["rss_mib"] for r in results)
    print(f"ratio: worst {worst:.2f}x, target <= {TARGET_RATIO}x: {'met' if worst <= TARGET_RATIO else 'NOT met'}")
    print(f"peak RSS: max {peak:.0f} MiB, target <= {TARGET_RSS_MIB} MiB: {'met' if peak <= TARGET_RSS_MIB else 'NOT met'}"
          + (f"; {results[0]['rss_mib']:.0f} -> {results[-1]['rss_mib']:.0f} MiB from {results[0]['rows']:,} to "
             f"{results[-1]['rows']:,} rows" if len(results) > 1 else ""))


if __name__ == "__main__":
    main()
