"""A batch becomes visible all at once, also across a kill during its commit: an import process is
SIGKILLed at several points of committing 300 corrected values (written beside the old ones as
shadows, store/shadows.py, and settled 50 at a time), while a reader thread polls the values through
the store layer; ``recover`` then rolls the batch forward. The reader never waits: the commit
document switches the whole batch at once."""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import ionbase.store as store_mod
from ionbase.errors import StoreUnavailable
from ionbase.ingest.importer import Importer, ImportOptions, recover
from ionbase.store.shadows import SEP
from tests.ingest.test_concurrent_imports import lab_file

REPO = Path(__file__).resolve().parents[2]

#: imports argv[3] with the writer's chunk at 50 documents, SIGKILLed at the argv[5]-th stage argv[4]
KILL_SCRIPT = """
import os, signal, sys
from pathlib import Path
import ionbase.store.batches as batches
from ionbase.settings import Settings
from ionbase.store import open_store
from ionbase.ingest.importer import Importer, ImportOptions
batches._CHUNK = 50
batches.IMPORT_COMMAND = 50
store = open_store(Settings(mongodb_uri=sys.argv[1], db_name=sys.argv[2], data_dir=Path(sys.argv[6])))
seen = []
def stage(name):
    seen.append(name)
    if seen.count(sys.argv[4]) == int(sys.argv[5]):
        os.kill(os.getpid(), signal.SIGKILL)
Importer(store, ImportOptions(on_stage=stage)).run([Path(sys.argv[3])])
print("not killed")
"""


class Reader(threading.Thread):
    """Polls every conductivity value; records each answer as old, new, mix or unavailable."""

    def __init__(self, store, old: dict[str, float], new: dict[str, float]):
        super().__init__(daemon=True)
        self.store, self.old, self.new = store, old, new
        self.seen: list[str] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                got = {d["_id"]: d["value"] for d in self.store.properties.page({"name": "ionic_conductivity"}, [("_id", 1)],
                                                                                 1000, {"value": 1})}
            except StoreUnavailable:
                self.seen.append("unavailable")
                continue
            kinds = {"old" if got[i] == self.old[i] else "new" if got[i] == self.new[i] else "other" for i in got}
            self.seen.append(kinds.pop() if len(kinds) == 1 and len(got) == len(self.old) else f"mix {sorted(kinds)} {len(got)}")
            time.sleep(0.01)

    def polls(self, n: int, timeout_s: float = 30.0) -> None:
        """Wait until the reader has answered ``n`` more polls (instead of a fixed sleep: as many
        polls under load as on an idle machine, and no longer than that)."""
        target, deadline = len(self.seen) + n, time.monotonic() + timeout_s
        while len(self.seen) < target:
            assert self.is_alive() and time.monotonic() < deadline, f"the reader made {len(self.seen)} of {target} polls"
            time.sleep(0.005)


@pytest.mark.parametrize("stage,nth,after_commit_point", [
    ("staged", 1, False),  # before the commit point: cleaned, the old values stay
    ("committing", 1, True),  # right after it: the shadows are live, nothing settled yet
    ("settled:properties", 2, True),  # 100 of 300 old documents overwritten (still superseded)
    ("switched", 1, True),  # the old documents hold the new values and are on, the shadows off
    ("dropped:properties", 2, True),  # 100 of 300 shadows deleted
])
def test_a_reader_never_sees_a_mix_across_a_kill_during_commit(store, settings, tmp_path, stage, nth, after_commit_point):
    path = lab_file(tmp_path / "lab.yaml", ["S1", "S2"], 150, 1.0)
    Importer(store, ImportOptions()).run([path])
    old = {d["_id"]: d["value"] for d in store.properties.find({"name": "ionic_conductivity"}, {"value": 1})}
    lab_file(path, ["S1", "S2"], 150, 2.0)
    new = {i: v * 2 for i, v in old.items()}
    reader = Reader(store, old, new)
    reader.start()
    script = tmp_path / "kill_commit.py"
    script.write_text(KILL_SCRIPT)
    proc = subprocess.run([sys.executable, str(script), settings.mongodb_uri, settings.db_name, str(path), stage, str(nth),
                           str(tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr[-2000:]
    raw = {d["_id"]: d["value"] for d in store.db.properties.find({"name": "ionic_conductivity"}, {"value": 1})}
    reader.polls(20)  # the reader polls the killed, half-settled state
    done = recover(store)
    reader.polls(10)
    reader.stop.set()
    reader.join(10)
    assert [d["action"] for d in done] == (["rolled forward"] if after_commit_point else ["cleaned"])
    mixes = [s for s in reader.seen if s.startswith("mix") or s == "other"]
    assert mixes == [], f"{len(mixes)} mixed answers, e.g. {mixes[:3]}"
    assert reader.seen[-1] == ("new" if after_commit_point else "old"), reader.seen[-5:]
    assert "unavailable" not in reader.seen, "a reader waited for the commit"
    assert len(reader.seen) > 20
    # the store itself held both versions at the kill (the test exercised the switch, not a quiet store)
    shadows = [i for i in raw if SEP in i]
    settled = [i for i in old if raw.get(i) == new[i]]
    expected = {"staged": (300, 0), "committing": (300, 0), "settled:properties": (300, 100), "switched": (300, 300),
                "dropped:properties": (200, 300)}[stage]
    assert (len(shadows), len(settled)) == expected
    # at rest: natural ids only, no bookkeeping fields
    assert store.db.properties.count_documents({"shadow_batch": {"$exists": True}}) == 0
    assert store.db.properties.count_documents({"superseded_by": {"$exists": True}}) == 0


def test_a_reader_never_sees_a_half_rolled_back_batch(store, tmp_path, monkeypatch):
    """Rollback restores the previous values one document at a time: readers wait for it (or get
    503) instead of seeing some values restored and others not (review finding)."""
    from ionbase.store.rollback import rollback

    monkeypatch.setattr(store_mod, "COMMIT_WAIT_S", 30.0)
    path = lab_file(tmp_path / "lab.yaml", ["S1", "S2"], 150, 1.0)
    Importer(store, ImportOptions()).run([path])
    old = {d["_id"]: d["value"] for d in store.properties.find({"name": "ionic_conductivity"}, {"value": 1})}
    Importer(store, ImportOptions()).run([lab_file(path, ["S1", "S2"], 150, 2.0)])
    new = {i: v * 2 for i, v in old.items()}
    second = store.db.import_batches.find({}, {"_id": 1}).sort("started_at", -1).limit(1)[0]["_id"]
    reader = Reader(store, old, new)
    reader.start()
    reader.polls(10)
    out = rollback(store, second)
    reader.polls(10)
    reader.stop.set()
    reader.join(10)
    assert out["restored"] == len(old)
    mixes = [s for s in reader.seen if s.startswith("mix") or s == "other"]
    assert mixes == [], f"{len(mixes)} mixed answers, e.g. {mixes[:3]}"
    assert reader.seen[0] == "new" and reader.seen[-1] == "old", (reader.seen[:3], reader.seen[-3:])
