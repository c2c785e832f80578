"""Benchmark: read latency of the API at idle and while a large import runs (not a test).

    python bench/bench_load.py                                   # 60 s idle, then during the import; 32 connections
    python bench/bench_load.py --duration 20 --connections 8     # a shorter run

Loopback only and bounded: everything runs in a fresh temporary data directory (embedded store);
it seeds ``--seed-rows`` conductivity rows (bench_ingest's generator), starts ``ionbase serve``
on 127.0.0.1 on a free port, and runs ``--connections`` client threads, each sending one request at
a time (a mix of /properties queries, sample lists and pages, measurement lists), for ``--duration``
seconds at idle, then again while ``ionbase import`` of ``--import-rows`` new rows runs in another
process, from its start to its end (or for at most ``--import-max`` seconds, when the import is
killed and recovered). Each request has a ``--timeout`` (10 s, as in
issue 13). It prints per phase: requests, req/s, p50 / p95 / max latency, failures (status other
than 200), timeouts, and the ratio p95(import) / p95(idle) (target <= 3, 0 failed requests). Every
process it starts is stopped at the end, and the whole run stops after ``--max-total`` seconds.

``--changed`` re-imports the seeded rows with every conductivity 1 % higher instead (``--seed-rows``
documents change), which measures readers during a commit of changed documents. Per phase it also
prints the p95 of each request of the mix. Figures: bench/README.md ("Reads during an import").
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.bench_ingest import generate  # noqa: E402


@dataclass
class Phase:
    """What the clients saw during one phase."""

    name: str
    latencies: list[float] = field(default_factory=list)
    by_kind: dict[str, list[float]] = field(default_factory=dict)
    failed_by_kind: dict[str, int] = field(default_factory=dict)
    failures: dict[str, int] = field(default_factory=dict)
    timeouts: int = 0
    seconds: float = 0.0

    def summary(self) -> dict:
        lat = sorted(self.latencies)
        q = statistics.quantiles(lat, n=100) if len(lat) >= 2 else lat * 99
        return {"phase": self.name, "requests": len(lat) + sum(self.failures.values()) + self.timeouts,
                "ok": len(lat), "req_per_s": round(len(lat) / self.seconds, 1) if self.seconds else 0.0,
                "p50_s": round(q[49], 3) if lat else None, "p95_s": round(q[94], 3) if lat else None,
                "max_s": round(lat[-1], 3) if lat else None, "failures": dict(self.failures),
                "timeouts": self.timeouts, "seconds": round(self.seconds, 1),
                "p95_by_request": {k: round(statistics.quantiles(v, n=20)[18], 3) if len(v) >= 2 else None
                                   for k, v in sorted(self.by_kind.items())},
                "not_ok_by_request": dict(sorted(self.failed_by_kind.items()))}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def request_mix(sample_ids: list[str], rng: random.Random) -> str:
    """One path of the read mix (what the issue's load sent: queries, samples, measurements)."""
    sid = rng.choice(sample_ids)
    paths = [
        "/api/v1/properties?" + urllib.parse.urlencode(
            {"filter": 'property="ionic_conductivity" AND temperature_c=25', "sort": "-value", "page_limit": 50}),
        "/api/v1/properties?" + urllib.parse.urlencode(
            {"filter": 'elements HAS "Na" AND milling_time_h>=4 AND value>=1e-5', "page_limit": 50}),
        "/api/v1/properties?" + urllib.parse.urlencode({"filter": f'sample_id="{sid}"', "expand": "sample"}),
        "/api/v1/samples?" + urllib.parse.urlencode({"family": "halide", "page_limit": 50}),
        f"/api/v1/samples/{sid}",
        "/api/v1/measurements?" + urllib.parse.urlencode({"sample": sid}),
    ]
    return rng.choice(paths)


#: a short name per request of the mix (request_mix's order), for the per-request p95
KINDS = ["props-25C", "props-Na-milled", "props-sample", "samples-halide", "sample", "measurements"]


def kind_of(path: str) -> str:
    """Which request of the mix ``path`` is."""
    if path.startswith("/api/v1/properties"):
        return KINDS[0] if "temperature_c" in path else KINDS[1] if "milling" in path else KINDS[2]
    if path.startswith("/api/v1/samples?"):
        return KINDS[3]
    return KINDS[4] if path.startswith("/api/v1/samples/") else KINDS[5]


def client(port: int, sample_ids: list[str], phase: Phase, stop: threading.Event, timeout: float, seed: int,
           lock: threading.Lock) -> None:
    """One connection: a request at a time until ``stop`` (a new TCP connection per request)."""
    rng = random.Random(seed)
    while not stop.is_set():
        path = request_mix(sample_ids, rng)
        t0 = time.perf_counter()
        outcome = None
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
            try:
                conn.request("GET", path)
                resp = conn.getresponse()
                resp.read()
                outcome = resp.status
            finally:
                conn.close()
        except (TimeoutError, socket.timeout):
            outcome = "timeout"
        except OSError as exc:
            outcome = type(exc).__name__
        dt = time.perf_counter() - t0
        with lock:
            if outcome == 200:
                phase.latencies.append(dt)
                phase.by_kind.setdefault(kind_of(path), []).append(dt)
                continue
            phase.failed_by_kind[kind_of(path)] = phase.failed_by_kind.get(kind_of(path), 0) + 1
            if outcome == "timeout":
                phase.timeouts += 1
            else:
                phase.failures[str(outcome)] = phase.failures.get(str(outcome), 0) + 1


def run_phase(name: str, port: int, sample_ids: list[str], connections: int, duration: float, timeout: float,
              until: subprocess.Popen | None = None) -> Phase:
    """``connections`` clients for ``duration`` s (or until the process ``until`` exits)."""
    phase, stop, lock = Phase(name), threading.Event(), threading.Lock()
    threads = [threading.Thread(target=client, args=(port, sample_ids, phase, stop, timeout, i, lock), daemon=True)
               for i in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    while time.perf_counter() - t0 < duration and (until is None or until.poll() is None):
        time.sleep(0.2)
    stop.set()
    phase.seconds = time.perf_counter() - t0
    for t in threads:
        t.join(timeout + 5)
    return phase


def wait_healthy(port: int, proc: subprocess.Popen, timeout_s: float = 120.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the API exited with {proc.returncode}")
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/api/v1/health")
            if conn.getresponse().status == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"the API did not answer /health within {timeout_s:.0f} s")


def stop_process(proc: subprocess.Popen | None) -> None:
    """Stop a process group we started (SIGTERM, then SIGKILL after 10 s)."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--connections", type=int, default=32)
    ap.add_argument("--duration", type=float, default=60.0, help="seconds per phase")
    ap.add_argument("--seed-rows", type=int, default=10_000, help="rows loaded before the load starts")
    ap.add_argument("--import-rows", type=int, default=None, help="rows of the concurrent import (5 per sample; default 20,000)")
    ap.add_argument("--changed", action="store_true",
                    help="re-import the seeded rows with changed values (--seed-rows documents change) instead of new rows")
    ap.add_argument("--import-max", type=float, default=300.0, help="longest import phase (s); the import is then stopped")
    ap.add_argument("--timeout", type=float, default=10.0, help="per-request timeout (s)")
    ap.add_argument("--max-total", type=float, default=1500.0, help="stop everything after this many seconds")
    ap.add_argument("--json", action="store_true", help="print the result as JSON")
    args = ap.parse_args()
    if args.changed and args.import_rows is not None:
        ap.error("--changed re-imports the --seed-rows rows; --import-rows does not apply to it")
    args.import_rows = 20_000 if args.import_rows is None else args.import_rows
    timer = threading.Timer(args.max_total, lambda: os.kill(os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(f"stopped after --max-total {args.max_total:.0f} s"))
    with tempfile.TemporaryDirectory(prefix="ionbase-bench-load-") as tmp:
        result = _run(Path(tmp), args)
    print(json.dumps(result, indent=2) if args.json else _text(result))


def _run(tmp: Path, args) -> dict:
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.settings import Settings
    from ionbase.store import open_store
    from ionbase.store.embedded import EmbeddedServer

    env = {**os.environ, "IONBASE_DATA_DIR": str(tmp / "store"), "IONBASE_DB_NAME": "bench_load",
           "IONBASE_EMBEDDED_IDLE_EXIT_S": "2", "PYTHONPATH": str(REPO)}
    env.pop("MONGODB_URI", None)
    seed, new = tmp / "seed", tmp / "new"
    seed.mkdir(), new.mkdir()
    generate(seed, args.seed_rows, seed=1)
    if args.changed:  # the seeded notebook again, every conductivity 1 % higher: the import changes documents
        generate(new, args.seed_rows, seed=1)
        _scale_conductivity(new / "conductivity.csv", 1.01)
    else:
        generate(new, args.import_rows, seed=2)
        for f in new.iterdir():  # another notebook: the import adds new samples, it does not rewrite the seeded ones
            f.write_text(f.read_text().replace("BENCH-LAB", "BENCH-LOAD"))
    settings = Settings(data_dir=tmp / "store", db_name="bench_load")
    store = open_store(settings)
    api = imp = None
    try:
        t0 = time.perf_counter()
        Importer(store, ImportOptions(max_rows=10_000_000)).run(sorted(seed.iterdir()))
        seeded_s = time.perf_counter() - t0
        sample_ids = [s["_id"] for s in store.samples.find({}, {"_id": 1}, limit=500)]
        port = free_port()
        api = subprocess.Popen([sys.executable, "-m", "ionbase", "serve", "--port", str(port)], cwd=REPO, env=env,
                               stdout=subprocess.DEVNULL, stderr=open(tmp / "api.log", "wb"), start_new_session=True)
        wait_healthy(port, api)
        idle = run_phase("idle", port, sample_ids, args.connections, args.duration, args.timeout)
        t_imp = time.perf_counter()
        # the report goes to files: a pipe nobody reads until the end fills at 64 KiB and blocks the import
        imp = subprocess.Popen([sys.executable, "-m", "ionbase", "import", *map(str, sorted(new.iterdir())),
                                "--no-analyze", "--quiet", "--json"], cwd=REPO, env=env, stdout=open(tmp / "import.json", "wb"),
                               stderr=open(tmp / "import.log", "wb"), start_new_session=True)
        during = run_phase("import", port, sample_ids, args.connections, args.import_max, args.timeout, until=imp)
        import_state = "finished" if imp.poll() is not None else f"still running after {args.import_max:.0f} s (stopped)"
        stop_process(imp)
        import_s = time.perf_counter() - t_imp
        imp.wait()
        out, err = (tmp / "import.json").read_text(), (tmp / "import.log").read_text()
        imported = (json.loads(out).get("counts", {}).get("total") if imp.returncode == 0 and out
                    else f"exit {imp.returncode}: {err[-500:]}")
    finally:
        stop_process(api)
        stop_process(imp)
        from ionbase.ingest.importer import recover

        recover(store)
        store.close()
        EmbeddedServer(tmp / "store").shutdown()
    s_idle, s_imp = idle.summary(), during.summary()
    ratio = round(s_imp["p95_s"] / s_idle["p95_s"], 2) if s_idle["p95_s"] and s_imp["p95_s"] else None
    return {"connections": args.connections, "duration_s": args.duration, "seed_rows": args.seed_rows,
            "seed_import_s": round(seeded_s, 1), "import_rows": args.seed_rows if args.changed else args.import_rows,
            "import_kind": "changed" if args.changed else "new", "import": import_state,
            "import_s": round(import_s, 1), "imported": imported, "phases": [s_idle, s_imp],
            "p95_ratio_import_over_idle": ratio}


def _scale_conductivity(path: Path, factor: float) -> None:
    """Multiply the sigma column of a generated conductivity file by ``factor`` (a corrected re-import)."""
    lines = path.read_text().splitlines()
    head = [i for i, line in enumerate(lines) if line.startswith("sample,")][0]
    out = lines[: head + 1]
    for line in lines[head + 1:]:
        cells = line.split(",")
        cells[2] = f"{float(cells[2]) * factor:.4g}"
        out.append(",".join(cells))
    path.write_text("\n".join(out) + "\n")


def _text(r: dict) -> str:
    lines = [f"{r['connections']} connections, {r['duration_s']:.0f} s per phase; seeded {r['seed_rows']} rows "
             f"in {r['seed_import_s']} s; concurrent import of {r['import_rows']} {r['import_kind']} rows: {r['import']} "
             f"({r['import_s']} s; {r['imported']})"]
    lines.append(f"{'phase':<8}{'requests':>10}{'req/s':>8}{'p50 s':>8}{'p95 s':>8}{'max s':>8}{'timeouts':>10}  failures")
    for p in r["phases"]:
        lines.append(f"{p['phase']:<8}{p['requests']:>10}{p['req_per_s']:>8}{p['p50_s']!s:>8}{p['p95_s']!s:>8}"
                     f"{p['max_s']!s:>8}{p['timeouts']:>10}  {p['failures'] or 0}")
    for p in r["phases"]:
        lines.append(f"{p['phase']} p95 by request (answered 200): " + ", ".join(f"{k} {v}" for k, v in p["p95_by_request"].items())
                     + (f"; not answered 200: {p['not_ok_by_request']}" if p["not_ok_by_request"] else ""))
    lines.append(f"p95 import / idle: {r['p95_ratio_import_over_idle']} (target <= 3, no failures, no timeouts)")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
