"""Benchmark of the ML export (CSV and Parquet) against a raw pymongo iteration of the same documents.

    python bench/bench_export.py [--sizes 10000,100000,1000000 | --quick] [--temps 8] [--check] [--keep]

For each size (documents; ``--quick`` = 10,000) a fresh embedded nx-27017 store is filled with
generated property documents (per sample ``temps`` ionic conductivities, one activation energy,
one lattice a; a few samples in every hundred also carry competing values, flags, stale or
non-numeric values, composites, an unparsable formula, no temperature, hostile text with quotes,
commas, CR/LF and formula characters), then each measurement runs in its own process (so its
peak RSS, ``VmHWM``, is that step's alone):

* baseline: iteration of ``find(store.visible({}))``, all fields, ``batch_size(2000)``, before and
  after the exports (the ratios use their mean);
* export CSV: ``plan_export(for_csv=True)`` + ``export_csv`` into a file (the API's and CLI's path);
* export Parquet: ``plan_export`` + ``export_parquet`` into a file;
* paged read, for information: the export's own read on nx-27017 (an empty filter is read in pages
  of whole samples, ``service/export/read.py``) iterated without building rows.

Sizes below 50,000 documents run every step three times (``--repeat``), in interleaved rounds, and
use each step's median run: a step takes about a second there, and one burst of load on a shared
machine would decide the ratio. Prints per size the wall times, CPU seconds (this process, all threads; the server process),
the ratios export / baseline and the peak RSS of each step, then a summary against the target
(wall clock export <= 1.2x the baseline) and the CPU ratios (which other processes' load does not
inflate). ``--check`` also compares, per size,
the exported rows, CSV text and Parquet table with the row-by-row reference
(``tests/export/reference.py``), chunk by chunk, for sizes up to 100,000 documents. The server's own memory is not in these figures (it is another
process: nx-27017 materialises a query's whole result there).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TARGET = 1.2
CHECK_MAX = 110_000  # --check runs up to the 100k size
REPEAT_BELOW = 50_000  # sizes below this run every step --repeat times (a step takes about a second there)
STEPS = ("baseline", "csv", "parquet", "paged", "baseline2")
FORMULAS = [("Na3InCl6", ["Cl", "In", "Na"], "halide"), ("Na2.5Zr0.5In0.5Cl6", ["Cl", "In", "Na", "Zr"], "halide"),
            ("NaCB11H12", ["B", "C", "H", "Na"], "closo-borate"), ("Mg3AsN", ["As", "Mg", "N"], "antiperovskite"),
            ("Li3N", ["Li", "N"], "other"), ("Na2B12H12", ["B", "H", "Na"], "closo-borate")]
HOSTILE = "=cmd|' /C calc'!A0, \"quoted\"\r\nnext line"


def _base(i: int, rnd: random.Random) -> dict:
    formula, elements, family = FORMULAS[i % len(FORMULAS)]
    milling = rnd.choice([0.0, 1.0, 2.0, 6.0, 12.0, 24.0])
    base = {
        "sample": f"smp-{i:08d}", "sample_label": f"S{i}", "material_id": f"mat-{i % 500:05d}", "formula": formula,
        "reduced_formula": formula, "elements": elements, "nelements": len(elements), "family": family,
        "series_name": f"series-{i % 50}", "series_value": (i % 7) / 10, "doi": f"10.9999/bench.{i % 200}",
        "synthesis": {"step_types": ["ball_milling"], "n_steps": 1, "milled": milling > 0, "milling_time_h": milling,
                      "max_rpm": 500.0, "annealed": False, "anneal_time_h": 0.0, "hot_pressed": False,
                      "cold_pressed": True, "coated": False},
        "batch_id": "bench", "stale": False,
    }
    if i % 19 == 5:  # text a spreadsheet would run, with quotes, commas, CR and LF
        base.update(sample_label=HOSTILE + str(i), family="-family", series_name="@series,\"x\"\r")
    if i % 29 == 11:  # a composite
        base.update(components=[{"basis": "vol", "formula": "SiO2", "fraction": 35.0}], component_keys=["vol:SiO2"])
    if i % 31 == 13:  # a formula pymatgen cannot parse
        base.update(formula="Na3-xInCl6 (x?)", reduced_formula="Na3-xInCl6 (x?)", elements=[])
    if i % 41 == 19:  # unknown route, an integer series value
        base.update(synthesis=None, series_value=2)
    return base


def _extras(i: int, base: dict, tc: float) -> list[dict]:
    """Competing, flagged, stale, non-numeric and temperature-less values for a few samples."""
    sid = base["sample"]
    out = []
    if i % 17 == 3:  # competes with the reported conductivity at the first temperature
        out.append({**base, "_id": f"prop-{i:08d}-d", "name": "ionic_conductivity", "unit": "S/cm", "value": 2e-5,
                    "origin": "derived", "qualifier": "approximate", "flags": ["poor_fit", "few_points"],
                    "temperature_c": tc, "provenance": {"job": "arrhenius", "job_version": "1.2", "inputs": [f"{sid}-x"]}})
    if i % 23 == 7:  # stale and non-numeric values are never exported (the store keeps no NaN: JSON)
        out.append({**base, "_id": f"prop-{i:08d}-st", "name": "activation_energy", "unit": "eV", "value": 0.1,
                    "origin": "derived", "stale": True})
        out.append({**base, "_id": f"prop-{i:08d}-nan", "name": "ionic_conductivity", "unit": "S/cm",
                    "value": "n/a", "temperature_c": tc, "origin": "reported"})
    if i % 37 == 17:  # a temperature-bound value without temperature: its own row
        out.append({**base, "_id": f"prop-{i:08d}-nt", "name": "ionic_conductivity", "unit": "S/cm", "value": 3e-4,
                    "origin": "reported", "qualifier": "lower_bound", "uncertainty": "unknown"})
    if i % 43 == 23:  # a stated place and a range
        out.append({**base, "_id": f"prop-{i:08d}-rg", "name": "electronic_conductivity", "unit": "S/cm",
                    "value": 1e-9, "uncertainty": 1e-10, "qualifier": "range", "origin": "reported", "temperature_c": tc,
                    "source": {"doi": "10.1/x", "table": "2", "page": 3}})
    if i % 47 == 29:  # competing structure feature
        out.append({**base, "_id": f"prop-{i:08d}-a2", "name": "lattice_a", "unit": "Å", "value": 7.5,
                    "uncertainty": 0.01, "origin": "reported"})
    return out


def make_docs(n_samples: int, n_temps: int, seed: int = 1):
    """Property documents of ``n_samples`` samples (``n_temps + 2`` each, a few more for some)."""
    rnd = random.Random(seed)
    for i in range(n_samples):
        base = _base(i, rnd)
        formula = base["formula"]
        ea = rnd.uniform(0.2, 0.7)
        for k in range(n_temps):
            tc = 25.0 + 10.0 * k
            tk = tc + 273.15
            yield {**base, "_id": f"prop-{i:08d}-s{k}", "name": "ionic_conductivity", "unit": "S/cm",
                   "value": 1e3 * math.exp(-ea / (8.617333262e-5 * tk)), "origin": "reported",
                   "temperature_c": tc, "temperature_k": tk,
                   "conditions": {"temperature_c": tc, "temperature_k": tk, "method": "EIS"}}
        yield {**base, "_id": f"prop-{i:08d}-ea", "name": "activation_energy", "unit": "eV", "value": ea,
               "uncertainty": 0.01, "origin": "reported", "conditions": {}}
        yield {**base, "_id": f"prop-{i:08d}-a", "name": "lattice_a", "unit": "Å", "value": rnd.uniform(4, 12),
               "origin": "reported", "conditions": {"phase": formula}}
        yield from _extras(i, base, 25.0)


def fill(db, n_docs: int, n_temps: int) -> int:
    """Insert about ``n_docs`` documents (whole samples) with raw pymongo; returns the count."""
    db.import_batches.insert_one({"_id": "bench", "status": "committed"})
    n_samples = max(1, round(n_docs / (n_temps + 2)))
    batch, n = [], 0
    for doc in make_docs(n_samples, n_temps):
        batch.append(doc)
        if len(batch) == 5000:
            db.properties.insert_many(batch, ordered=False)
            n += len(batch)
            batch = []
    if batch:
        db.properties.insert_many(batch, ordered=False)
        n += len(batch)
    return n


def _open(data: Path):
    from ionbase.settings import Settings
    from ionbase.store import open_store
    from ionbase.store.embedded import EmbeddedServer

    server = EmbeddedServer(data)
    uri = server.ensure_running()
    return server, open_store(Settings(mongodb_uri=uri, data_dir=data, db_name="bench"))


def _peak_rss_mb() -> float:
    """VmHWM of this process (ru_maxrss is not used: Linux carries it over exec from the parent,
    which generated the documents)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmHWM in /proc/self/status")


def _cpu_s(server_pid: int) -> tuple[float, float]:
    """CPU seconds used so far by this process (all threads) and by the nx-27017 server."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    fields = Path(f"/proc/{server_pid}/stat").read_text().rsplit(")", 1)[1].split()
    return me.ru_utime + me.ru_stime, (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_step(step: str, data: Path) -> dict:
    """One measured step in this process: baseline, csv or parquet."""
    server, store = _open(data)
    try:
        out = data / f"export.{step}"
        if step == "paged":
            from ionbase.service.export.read import read_selection
        elif step != "baseline":  # imports are not the export's work (a server imports them once): before the clock
            import pyarrow.parquet  # noqa: F401
            import pymatgen.core  # noqa: F401

            if step == "parquet":
                import pandas  # noqa: F401  (pyarrow imports it on its first array: 0.2 s of imports)

            from ionbase.service.export import export_csv, export_parquet, plan_export
        from ionbase.store.supervisor import read_state

        server_pid = read_state(data)["pid"]
        cpu0 = _cpu_s(server_pid)
        t0 = time.perf_counter()
        if step == "baseline":
            n = sum(1 for _ in store.db.properties.find(store.visible({})).batch_size(2000))
        elif step == "paged":  # for information: the export's own read, without building rows
            n = sum(len(page) for page in read_selection(store, {}, None, paged=True))
        else:
            plan = plan_export(store, {}, for_csv=step == "csv")
            if step == "csv":
                with open(out, "w", encoding="utf-8", newline="") as fh:
                    for piece in export_csv(plan):
                        fh.write(piece)
                n = plan.n_rows
            else:
                n = export_parquet(plan, str(out))
            plan.close()
        dt = time.perf_counter() - t0
        cpu1 = _cpu_s(server_pid)
        size = out.stat().st_size / 1e6 if out.exists() else 0.0
        return {"step": step, "n": n, "seconds": dt, "peak_rss_mb": _peak_rss_mb(), "mb": size,
                "client_cpu": cpu1[0] - cpu0[0], "server_cpu": cpu1[1] - cpu0[1]}
    finally:
        store.client.close()
        server.stop()


def check(data: Path) -> str:
    """The columnar export equals the row-by-row reference: rows, CSV text (from values and from a
    plan spooled as text), Parquet table; compared chunk by chunk (memory stays flat)."""
    import pyarrow.parquet as pq

    from ionbase.service.export import build_rows, export_csv, export_parquet, plan_export
    from tests.export.reference import reference_export

    server, store = _open(data)
    try:
        columns, _ = reference_export(store, {})
        plan = plan_export(store, {})
        csv_plan = plan_export(store, {}, for_csv=True)
        assert plan.columns == columns == csv_plan.columns, "columns differ"
        parquet = data / "check.parquet"
        export_parquet(plan, str(parquet))
        batches = pq.ParquetFile(parquet).iter_batches(batch_size=4096)
        n = 0
        rows, table_rows = build_rows(store, {}, plan), (r for b in batches for r in b.to_pylist())
        for ref_chunk in _batched(reference_export(store, {})[1], 4096):
            got = [next(rows) for _ in ref_chunk]
            assert _same(got, ref_chunk), f"rows differ after row {n}"
            assert _same([next(table_rows) for _ in ref_chunk], ref_chunk), f"Parquet differs after row {n}"
            n += len(ref_chunk)
        assert next(rows, None) is None and next(table_rows, None) is None, "more rows than the reference"
        for label, pieces in (("from values", export_csv(plan)), ("spooled as text", export_csv(csv_plan))):
            assert _same_text(pieces, _csv_pieces(columns, reference_export(store, {})[1])), f"CSV ({label}) differs"
        plan.close()
        csv_plan.close()
        return f"check: {n} rows x {len(columns)} columns equal to the row-by-row reference (rows, CSV, Parquet)"
    finally:
        store.client.close()
        server.stop()


def _same(a: list[dict], b: list[dict]) -> bool:
    """Equal rows, NaN equal to NaN (a non-finite value is kept in a float cell)."""
    def norm(rows):
        return [{k: ("nan" if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in rows]
    return len(a) == len(b) and norm(a) == norm(b)


def _batched(it, size: int):
    batch = []
    for x in it:
        batch.append(x)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _csv_pieces(columns: list[str], rows):
    """The reference CSV, 4,096 rows at a time (header with the first piece)."""
    from tests.export.reference import reference_csv

    first = True
    for batch in _batched(rows, 4096):
        text = reference_csv(columns, batch)
        yield text if first else text.split("\n", 1)[1]
        first = False
    if first:
        yield reference_csv(columns, [])


def _same_text(a, b) -> bool:
    """Two streams of text pieces are the same text (compared in blocks)."""
    buf_a, buf_b = "", ""
    ia, ib = iter(a), iter(b)
    while True:
        while len(buf_a) < 1 << 20 and (piece := next(ia, None)) is not None:
            buf_a += piece
        while len(buf_b) < 1 << 20 and (piece := next(ib, None)) is not None:
            buf_b += piece
        k = min(len(buf_a), len(buf_b))
        if buf_a[:k] != buf_b[:k]:
            return False
        buf_a, buf_b = buf_a[k:], buf_b[k:]
        if k == 0:
            return not buf_a and not buf_b


def run_size(n_docs: int, temps: int, do_check: bool, keep: bool, repeat: int = 3) -> dict:
    """Fill a fresh store and run each step in its own process."""
    data = Path(tempfile.mkdtemp(prefix="ionbase-bench-export-"))
    server, store = _open(data)  # held for the whole size: the steps attach to the same server
    try:
        t0 = time.perf_counter()
        n = fill(store.db, n_docs, temps)
        print(f"\n{n:,} documents generated in {time.perf_counter() - t0:.1f} s", flush=True)
        rounds = repeat if n < REPEAT_BELOW else 1
        runs: dict[str, list[dict]] = {step: [] for step in STEPS}
        for k in range(rounds):  # interleaved: a burst of load on the machine hits every step alike
            if rounds > 1:
                print(f"  round {k + 1} of {rounds}")
            for step in STEPS:
                proc = subprocess.run([sys.executable, __file__, "--step", step.rstrip("2"), "--data", str(data)],
                                      capture_output=True, text=True, check=True)
                r = json.loads(proc.stdout.strip().splitlines()[-1])
                runs[step].append(r)
                print(f"  {step:9s} {r['n']:>9,} {'rows' if step in ('csv', 'parquet') else 'docs'} "
                      f"{r['seconds']:7.2f} s   CPU client {r['client_cpu']:6.2f} s + server {r['server_cpu']:6.2f} s   "
                      f"peak RSS {r['peak_rss_mb']:7.1f} MB", flush=True)
        # each step's median run (by wall time; with one round, that run)
        results = {step: sorted(rs, key=lambda r: r["seconds"])[len(rs) // 2] for step, rs in runs.items()}
        if rounds > 1:
            print(f"  medians of {rounds} rounds: " + ", ".join(f"{s} {r['seconds']:.2f} s" for s, r in results.items()))
        if do_check and n <= CHECK_MAX:
            print("  " + check(data), flush=True)
        elif do_check:
            print(f"  check skipped above {CHECK_MAX:,} documents (the reference reads the selection six times)")
        return {"docs": n, **results}
    finally:
        store.client.close()
        server.stop()
        if keep:
            print(f"  data kept in {data}")
        else:
            shutil.rmtree(data, ignore_errors=True)


def report(all_results: list[dict]) -> bool:
    """The table of sizes, times, ratios and peak RSS; whether every ratio meets the target."""
    print("\n   docs    rows | baseline s | CSV s  ratio | Parquet s  ratio | peak RSS MB: base / CSV / Parquet")
    ok = True
    for r in all_results:
        base = (r["baseline"]["seconds"] + r["baseline2"]["seconds"]) / 2
        rc, rp = r["csv"]["seconds"] / base, r["parquet"]["seconds"] / base
        ok = ok and rc <= TARGET and rp <= TARGET
        print(f"{r['docs']:>8,} {r['csv']['n']:>7,} | {base:10.2f} | {r['csv']['seconds']:5.2f} {rc:5.2f}x | "
              f"{r['parquet']['seconds']:9.2f} {rp:5.2f}x | {r['baseline']['peak_rss_mb']:.0f} / "
              f"{r['csv']['peak_rss_mb']:.0f} / {r['parquet']['peak_rss_mb']:.0f}")
    print("the export's own read alone (pages of whole samples, no rows built; for information):")
    for r in all_results:
        base = (r["baseline"]["seconds"] + r["baseline2"]["seconds"]) / 2
        paged = r["paged"]["seconds"]
        print(f"{r['docs']:>8,}: {paged:.2f} s = {paged / base:.2f}x the baseline; export / this read: "
              f"CSV {r['csv']['seconds'] / paged:.2f}x, Parquet {r['parquet']['seconds'] / paged:.2f}x")
    print("CPU (client + server) ratio, not disturbed by other processes' load:")
    for r in all_results:
        def cpu(step):
            return r[step]["client_cpu"] + r[step]["server_cpu"]
        base = (cpu("baseline") + cpu("baseline2")) / 2
        print(f"{r['docs']:>8,}: CSV {cpu('csv') / base:.2f}x, Parquet {cpu('parquet') / base:.2f}x "
              f"(baseline {base:.2f} CPU s)")
    print(f"target export <= {TARGET}x baseline (wall clock): {'met' if ok else 'NOT met'} "
          f"(baseline = mean of the runs before and after the exports; machine load: {os.getloadavg()[0]:.2f})")
    return ok


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="10000,100000,1000000", help="documents per run, comma-separated")
    ap.add_argument("--quick", action="store_true", help="one size: 10,000 documents")
    ap.add_argument("--temps", type=int, default=8)
    ap.add_argument("--check", action="store_true", help="compare with the row-by-row reference")
    ap.add_argument("--keep", action="store_true", help="keep the temporary data directories")
    ap.add_argument("--repeat", type=int, default=3,
                    help=f"rounds of every step for sizes below {REPEAT_BELOW:,} documents (the medians are used)")
    ap.add_argument("--step", choices=("baseline", "csv", "parquet", "paged"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.step:
        print(json.dumps(run_step(args.step, args.data)))
        return
    sizes = [10_000] if args.quick else [int(s) for s in args.sizes.split(",") if s.strip()]
    results = [run_size(n, args.temps, args.check, args.keep, max(1, args.repeat)) for n in sizes]
    report(results)


if __name__ == "__main__":
    main()
