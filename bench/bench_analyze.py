"""Benchmark: `ionbase analyze` over N samples on the embedded store, local process pool vs Dask.

Loads N samples (conductivities at five temperatures each, through the importer), then runs the
Arrhenius job over all of them: inline (baseline, one process), the local process pool, and a Dask
LocalCluster with the same number of workers, each with --force, in one run. Prints items/s and the
ratios to the inline baseline.

    python bench/bench_analyze.py              # 10,000 samples
    python bench/bench_analyze.py --samples 2000
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.bench_ingest import TEMPS, generate  # noqa: E402
from ionbase.ingest.importer import Importer, ImportOptions  # noqa: E402
from ionbase.settings import Settings  # noqa: E402
import ionbase.jobs.runner as runner  # noqa: E402
from ionbase.store import open_store  # noqa: E402


def timed(store, settings, label: str) -> float:
    t0 = time.perf_counter()
    result = runner.run_jobs(store, settings, job_names=["arrhenius"], force=True)
    dt = time.perf_counter() - t0
    n = result["jobs"]["arrhenius"]["computed"]
    print(f"{label:<28} {n:>7,} items in {dt:7.2f} s  {n / dt:9,.0f} items/s  (failed {result['failed']})")
    return dt


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "data").mkdir()
        generate(tmp / "data", args.samples * len(TEMPS))
        settings = Settings(data_dir=tmp / "store", db_name="bench_analyze", workers=args.workers)
        store = open_store(settings)
        try:
            Importer(store, ImportOptions(max_rows=10_000_000)).run(sorted((tmp / "data").iterdir()))
            saved = runner.INLINE_THRESHOLD
            runner.INLINE_THRESHOLD = 10**12
            base = timed(store, settings, "inline (one process)")
            runner.INLINE_THRESHOLD = saved
            pool = timed(store, settings, f"process pool ({args.workers} workers)")
            from distributed import LocalCluster

            with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
                dask = timed(store, settings.with_(dask_scheduler=cluster.scheduler_address), f"Dask LocalCluster ({args.workers} workers)")
            print(f"speed-up vs inline: process pool {base / pool:.2f}x, Dask {base / dask:.2f}x (machine has {os.cpu_count()} cores)")
            t0 = time.perf_counter()
            result = runner.run_jobs(store, settings, job_names=["arrhenius"])
            print(f"incremental rerun with no changes: {result['computed']} computed, {result['skipped']:,} skipped in {time.perf_counter() - t0:.2f} s")
        finally:
            store.client.drop_database("bench_analyze")
            store.close()


if __name__ == "__main__":
    main()
