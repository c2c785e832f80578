"""Analysis run records: who runs a run (pid, host), its heartbeat, and recovery of stale runs.

A run document says ``running`` while its process works. A process killed midway (kill -9, a
crashed node) cannot say otherwise, so the run records its ``pid`` and ``host`` and a background
thread refreshes ``heartbeat_at`` every :data:`HEARTBEAT_S` seconds. :func:`recover_stale_runs`
(called by ``ionbase import recover``, and at the start of ``ionbase analyze`` and ``serve``)
marks a ``running`` run ``failed`` when it is stale:

* on this host: its process is gone (``store.embedded.pid_alive``; a zombie counts as gone);
* on another host (whose processes we cannot see), or with no pid recorded (runs written before
  pids were): no heartbeat for :data:`STALE_AFTER_S` seconds.

Run documents are always written whole (nx-27017 stores a datetime written by ``$set`` as a string).
"""

from __future__ import annotations

import datetime as _dt
import os
import socket
import threading

from ionbase.schemas import build as B
from ionbase.store.embedded import pid_alive

#: seconds between two heartbeats of a running analysis
HEARTBEAT_S = 30.0
#: a run on another host (or without a pid) whose heartbeat is older than this is stale: ten
#: missed heartbeats, so a busy machine or a slow store does not get a live run marked failed
STALE_AFTER_S = 10 * HEARTBEAT_S


def now() -> _dt.datetime:
    """UTC now as the naive datetime pymongo stores as a BSON datetime (the store holds UTC only)."""
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0)


class RunRecord:
    """The ``analysis_runs`` document of one run, kept current while the run works."""

    def __init__(self, store, doc: dict) -> None:
        self.store = store
        self.doc = {**doc, "status": "running", "pid": os.getpid(), "host": socket.gethostname(),
                    "heartbeat_at": doc.get("started_at") or now()}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> "RunRecord":
        """Insert the document and start the heartbeat thread."""
        B.validate_document("analysis_runs", self.doc)
        self.store.analysis_runs.insert_one(self.doc)
        self._thread = threading.Thread(target=self._beat_until_stopped, name=f"heartbeat {self.doc['_id']}", daemon=True)
        self._thread.start()
        return self

    def _beat_until_stopped(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            self.beat()

    def beat(self) -> None:
        """Refresh ``heartbeat_at`` (the document rewritten whole); a failed beat is retried next time."""
        with self._lock:
            if self._stop.is_set():
                return
            self.doc["heartbeat_at"] = now()
            try:
                self.store.analysis_runs.replace_one(self.doc)
            except Exception:  # the store restarting: the next beat or the final write brings it up to date
                pass

    def finish(self, status: str, **fields) -> None:
        """Stop the heartbeat and write the final document (``finished`` or ``failed``)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        with self._lock:
            self.doc.update(fields, status=status, finished_at=now())
            B.validate_document("analysis_runs", self.doc)
            self.store.analysis_runs.replace_one(self.doc)


def stale_reason(run: dict, here: str, at: _dt.datetime) -> str | None:
    """Why a ``running`` run is stale, or None when its process may still work."""
    pid, host = run.get("pid"), run.get("host")
    if pid and host == here:
        return None if pid_alive(pid) else f"its process {pid} on {host} is gone"
    last = run.get("heartbeat_at") or run.get("started_at")
    if isinstance(last, _dt.datetime) and (at - last).total_seconds() <= STALE_AFTER_S:
        return None
    where = f"process {pid} on {host}" if pid else "a process that recorded no pid"
    return f"no heartbeat from {where} since {last} (more than {STALE_AFTER_S:.0f} s)"


def recover_stale_runs(store) -> list[dict]:
    """Mark every stale ``running`` analysis run ``failed``, saying why; returns what was done."""
    here, at = socket.gethostname(), now()
    done = []
    for run in store.analysis_runs.find({"status": "running"}):
        reason = stale_reason(run, here, at)
        if reason is None:
            continue
        message = f"analysis run interrupted: {reason}; marked failed by recover"
        run.update(status="failed", finished_at=at, recovered="process gone",
                   errors=[*(run.get("errors") or []), {"message": message}])
        store.analysis_runs.replace_one(run)
        done.append({"run": run["_id"], "action": "marked failed", "reason": reason})
    return done
