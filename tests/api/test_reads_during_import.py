"""Reads stay served while an import writes (issue 13 point 4): with an import of a few thousand rows
running in another process, every read through the API answers 200, and a reader sees the new
batch's samples all at once or not at all. Not a timing test: bench/bench_load.py measures latency."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.parse
from pathlib import Path

from bench.bench_ingest import generate
from ionbase.ingest.importer import Importer, ImportOptions

REPO = Path(__file__).resolve().parents[2]
NEW_ROWS = 2500  # 500 new samples, 5 conductivities each
READ_LIMIT_S = 300  # the test gives up (fails) if the import has not ended by then


def test_reads_succeed_while_an_import_runs(rw_app, store, settings, tmp_path):
    seed, new = tmp_path / "seed", tmp_path / "new"
    seed.mkdir(), new.mkdir()
    generate(seed, 500, seed=1)
    generate(new, NEW_ROWS, seed=2)
    for f in new.iterdir():  # another notebook: new samples, not changes of the seeded ones
        f.write_text(f.read_text().replace("BENCH-LAB", "BENCH-LOAD"))
    Importer(store, ImportOptions()).run(sorted(seed.iterdir()))
    sample_id = store.samples.find_one({})["_id"]
    client = rw_app.test_client()
    new_samples = "/api/v1/samples?" + urllib.parse.urlencode({"source_key": "BENCH-LOAD", "page_limit": 1000})
    paths = [
        "/api/v1/properties?" + urllib.parse.urlencode({"filter": 'property="ionic_conductivity" AND temperature_c=25',
                                                         "sort": "-value", "page_limit": 50}),
        "/api/v1/samples?" + urllib.parse.urlencode({"family": "halide", "page_limit": 50}),
        f"/api/v1/samples/{sample_id}",
        "/api/v1/measurements?" + urllib.parse.urlencode({"sample": sample_id}),
        new_samples,
    ]
    env = {**os.environ, "MONGODB_URI": settings.mongodb_uri, "IONBASE_DB_NAME": settings.db_name,
           "IONBASE_DATA_DIR": str(settings.data_dir)}
    proc = subprocess.Popen([sys.executable, "-m", "ionbase", "import", *map(str, sorted(new.iterdir())), "--no-analyze",
                             "--quiet"], cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    statuses: dict[int, int] = {}
    seen_new: set[int] = set()
    reads_during = 0
    t0 = time.monotonic()
    try:
        while proc.poll() is None and time.monotonic() - t0 < READ_LIMIT_S:
            for path in paths:
                r = client.get(path)
                statuses[r.status_code] = statuses.get(r.status_code, 0) + 1
                if path == new_samples and r.status_code == 200:
                    seen_new.add(len(r.get_json()["data"]))
                reads_during += 1
    finally:
        if proc.poll() is None:
            proc.kill()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    assert statuses == {200: reads_during}, statuses
    assert reads_during >= len(paths), "the import ended before any read could run beside it"
    assert seen_new <= {0, NEW_ROWS // 5}, f"a reader saw part of the batch: {sorted(seen_new)} new samples"
    final = client.get(new_samples).get_json()["data"]
    assert len(final) == NEW_ROWS // 5
