"""Claims: a document written by a running import batch belongs to that batch until it ends.

Before an import batch counts or changes an existing record document it **claims** it (a new document
that does not exist is held by its own insert instead: store/batches.py ``Writer._hold``): one document per record in
``import_claims`` whose ``_id`` is ``<collection>:<document id>`` and whose ``batch_id`` names the
batch. The ``_id`` is unique, so the claim is a conditional write on every backend: of two batches
racing for a document exactly one inserts the claim. The other

* takes the claim over when its holder has ended (committed, failed, rolled back: claims are
  released then, but a process may die between its last step and the release);
* finishes the holder first (``recover`` of that one batch) when the holder's process is dead, then
  claims again;
* otherwise is refused with :class:`~ionbase.errors.ImportConflict` naming the holder.

A batch holds its claims while it is ``pending`` or ``committing``, and a rollback holds the claims of
the documents it restores or deletes while it runs. **Liveness** is a lease: on the holder's own host
its pid must be alive and started when the batch was (no pid reuse); from another host its heartbeat
(``options.heartbeat``, seconds since the epoch, renewed by the writer) must be younger than
:data:`LEASE_S`. So no batch ever writes over, counts against or deletes a document another live batch
is writing, and ``recover`` never cleans a batch whose process is alive.
"""

from __future__ import annotations

import os
import socket
import time
from contextlib import suppress
from pathlib import Path
from typing import Callable, Iterable

from pymongo.errors import BulkWriteError

from ionbase.errors import ImportConflict
from ionbase.store.embedded import pid_alive
from ionbase.store.visibility import states_changed, writer_token

#: a batch of another host whose heartbeat is older than this is taken for dead
LEASE_S = 120.0
#: the writer renews its heartbeat at most this often
HEARTBEAT_S = 10.0
#: claims inserted per request
CLAIM_CHUNK = 5000
#: batch ids whose import or rollback runs in this process now (a batch of our own pid is alive
#: only while listed: a batch of this process that raised is not)
ACTIVE_HERE: set[str] = set()


def process_start(pid: int | None) -> str | None:
    """The kernel's start time of ``pid`` (field 22 of /proc/<pid>/stat), to tell a reused pid apart."""
    if not pid:
        return None
    with suppress(OSError, IndexError):
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    return None


def owner_info() -> dict:
    """What a batch records of the process that runs it (the lease's identity)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "proc_start": process_start(os.getpid()),
            "heartbeat": time.time()}


def _alive(mark: dict, batch_id: str) -> bool:
    """Whether the process described by ``mark`` (pid, host, proc_start, heartbeat) still runs."""
    pid = mark.get("pid")
    if mark.get("host") != socket.gethostname():
        return time.time() - float(mark.get("heartbeat") or 0) < LEASE_S
    if pid == os.getpid():
        return batch_id in ACTIVE_HERE
    if not pid_alive(pid):
        return False
    return mark.get("proc_start") is None or mark.get("proc_start") == process_start(pid)


def batch_alive(batch: dict) -> bool:
    """Whether the import (or the rollback) of ``batch`` is still running in a live process."""
    rb = batch.get("rollback") or {}
    if rb.get("state") == "running" and _alive(rb, batch["_id"]):
        return True
    return batch.get("status") in ("pending", "committing") and _alive(batch.get("options") or {}, batch["_id"])


def write_batch(db, batch_id: str, fields: dict, expect: tuple[str, ...] | None = None) -> bool:
    """Set ``fields`` on the batch document by rewriting it whole (datetimes stay datetimes on
    nx-27017), only if its status is one of ``expect`` (when given) and unchanged meanwhile.
    Returns whether it was written."""
    token = writer_token(db) if _changes_visibility(fields) else None  # before the write: store.visibility
    for _ in range(5):
        doc = db.import_batches.find_one({"_id": batch_id})
        if doc is None or (expect is not None and doc.get("status") not in expect):
            return False
        new = {**doc, **fields}
        if db.import_batches.replace_one({"_id": batch_id, "status": doc.get("status")}, new).matched_count:
            if token is not None:
                states_changed(db, token)  # readers' cached batch states are stale now
            return True
    return False


def _changes_visibility(fields: dict) -> bool:
    """Whether a batch-document write can change what readers see: its status, its shadows' state
    (store.shadows), or a rollback's state
    (readers wait while a rollback runs: Store.hidden_batches)."""
    return "status" in fields or "shadows" in fields or "state" in (fields.get("rollback") or {})


def heartbeat(db, batch_id: str) -> None:
    """Renew the lease of ``batch_id`` (a number: nx-27017 keeps numbers written by ``$set``)."""
    db.import_batches.update_one({"_id": batch_id}, {"$set": {"options.heartbeat": time.time()}})


def claim(db, batch_id: str, coll: str, ids: Iterable[str], recover_one: Callable[[dict], None], *,
          exclusive: bool = True, shared_ids: Iterable[str] = ()) -> None:
    """Claim documents of ``coll`` for ``batch_id``: ``ids`` exclusively (to write them) unless
    ``exclusive`` is False, ``shared_ids`` shared (to count them unchanged). ImportConflict when a live
    batch holds one in a conflicting mode (exclusive against anything). ``recover_one(batch)`` finishes
    or cleans a batch whose process died (store.batches.recover_batch)."""
    modes = {f"{coll}:{i}": "s" for i in shared_ids}
    modes.update({f"{coll}:{i}": "x" if exclusive else "s" for i in ids})
    docs = sorted(modes)
    for start in range(0, len(docs), CLAIM_CHUNK):
        _claim_chunk(db, batch_id, {d: modes[d] for d in docs[start : start + CLAIM_CHUNK]}, recover_one)


def _claim_chunk(db, batch_id: str, modes: dict[str, str], recover_one: Callable[[dict], None]) -> None:
    # write our claim first, then look for the other's: of two racing batches at least one sees the other
    for _ in range(3):  # a dead holder is finished, then the documents are claimed again
        _insert(db, batch_id, modes)
        holders = _holders(db, batch_id, modes)
        if not holders:
            return
        settle(db, batch_id, holders, recover_one)
        for holder in holders:
            release(db, holder)  # ended (or just recovered): its claims are stale
    raise ImportConflict(f"import {batch_id}: could not claim documents such as {min(modes)} after three attempts "
                         "(other imports keep taking them); try again")


def settle(db, batch_id: str, holders: dict[str, tuple[dict | None, str]],
           recover_one: Callable[[dict], None]) -> bool:
    """Deal with other batches holding documents ``batch_id`` needs (``{holder: (its batch document or
    None, an example document)}``): ImportConflict naming a live one; a dead one is finished or
    cleaned with ``recover_one``. Whether one was."""
    live = {b: ex for b, (batch, ex) in holders.items() if batch is not None and batch_alive(batch)}
    if live:
        refuse(db, batch_id, live)
    dead = [batch for batch, _ in holders.values() if batch is not None and batch.get("status") in ("pending", "committing")]
    for batch in dead:
        recover_one(batch)
    return bool(dead)


def _insert(db, batch_id: str, modes: dict[str, str]) -> None:
    """Insert the claims (a duplicate is ours already, or another's that _holders finds)."""
    if not modes:
        return
    rows = [{"_id": d if m == "x" else f"{d}#{batch_id}", "doc": d, "batch_id": batch_id, "mode": m} for d, m in modes.items()]
    try:
        db.import_claims.insert_many(rows, ordered=False)
    except BulkWriteError as exc:
        if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
            raise


def _holders(db, batch_id: str, modes: dict[str, str]) -> dict[str, tuple[dict | None, str]]:
    """Other batches holding one of the documents in a mode that conflicts with ours:
    ``{holder batch id: (its batch document or None, an example document)}``."""
    examples: dict[str, str] = {}
    # only other batches' claims come back (not the thousands just inserted for this one)
    for d in db.import_claims.find({"doc": {"$in": list(modes)}, "batch_id": {"$ne": batch_id}},
                                   {"batch_id": 1, "doc": 1, "mode": 1}):
        if modes.get(d["doc"]) == "x" or d.get("mode") == "x":
            examples.setdefault(d["batch_id"], d["doc"])
    if not examples:
        return {}
    batches = {b["_id"]: b for b in db.import_batches.find({"_id": {"$in": sorted(examples)}},
                                                           {"status": 1, "options": 1, "rollback": 1})}
    return {h: (batches.get(h), ex) for h, ex in examples.items()}


def refuse(db, batch_id: str, live: dict[str, str]) -> None:
    """Raise ImportConflict: ``live`` ({holder batch: example document}) holds documents this batch needs."""
    holder, example = sorted(live.items())[0]
    n = db.import_claims.count_documents({"batch_id": holder})
    b = db.import_batches.find_one({"_id": holder}, {"status": 1, "options": 1, "user": 1, "started_at": 1, "rollback": 1}) or {}
    opts = b.get("options") or {}
    what = "a rollback of import" if (b.get("rollback") or {}).get("state") == "running" else "import"
    raise ImportConflict(
        f"import {batch_id} refused: documents it would write or count, e.g. {example.replace(':', ' ', 1)}, are held by "
        f"{what} {holder} ({b.get('status')}, started {b.get('started_at')} by {b.get('user')}, pid {opts.get('pid')} "
        f"on {opts.get('host')}), which is still running; nothing of this import was written. Run it again when "
        f"{holder} has ended (`ionbase import list` shows it while it runs; one found invalid is withdrawn and leaves "
        f"the list); if that process is gone, `ionbase import recover` cleans it",
        {"holder": holder, "example": example, "holder_claims": n})


def release(db, batch_id: str) -> int:
    """Drop every claim of ``batch_id`` (it committed, failed or was rolled back)."""
    return db.import_claims.delete_many({"batch_id": batch_id}).deleted_count


def stale_holders(db) -> list[str]:
    """Batches that hold claims but have ended (their process died before releasing them)."""
    holders = db.import_claims.distinct("batch_id")
    ended = db.import_batches.find({"_id": {"$in": holders}, "status": {"$in": ["committed", "failed", "rolled_back"]},
                                    "rollback.state": {"$ne": "running"}}, {"_id": 1})
    known = {b["_id"] for b in db.import_batches.find({"_id": {"$in": holders}}, {"_id": 1})}
    return sorted({b["_id"] for b in ended} | (set(holders) - known))


__all__ = ["LEASE_S", "HEARTBEAT_S", "ACTIVE_HERE", "batch_alive", "claim", "heartbeat", "owner_info", "refuse", "release", "settle",
           "stale_holders", "write_batch"]
