"""The import batch protocol: batch document, writer, staging, the commit point, discard, recover.

Atomicity without multi-document transactions (see ingest/importer.py for the whole flow):
new documents are inserted carrying the pending ``batch_id`` and are invisible until the batch
commits; changed documents are staged in ``import_staging``; one update of the batch document
(``committing``) is the commit point, after which staged replacements are applied, each saving the
previous version in ``import_history``. Rollback lives in ingest/batches.py.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import os
import socket
from collections import defaultdict
from typing import Callable

from ionbase.ingest.batches import COLLECTIONS, history_doc_id, invalidate_changed_samples, resume_rollbacks
from ionbase.store import set_fields
from ionbase.store.embedded import pid_alive

from ionbase.store.pacing import WRITE_BATCH as _CHUNK  # noqa: E402  documents per write command (store/pacing.py)


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def start_batch(db, file_meta: dict, errors: list, user: str | None, skip_invalid: bool) -> str:
    """Create the batch document, status ``pending``; returns its id."""
    batch_id = "imp-" + _now().strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()
    db.import_batches.insert_one({
        "_id": batch_id,
        "status": "pending",
        "files": list(file_meta.values()),
        "user": user or _user(),
        "started_at": _now(),
        "errors": [i.to_dict() for i in errors][:1000],
        "options": {"skip_invalid": skip_invalid, "pid": os.getpid(), "host": socket.gethostname()},
    })
    return batch_id


def commit_batch(db, batch_id: str, counts: dict, touched_samples: list[str], changed_ids: list[str],
                 stage: Callable[[str], None]) -> None:
    """Record the counts, then flip the batch to ``committing`` (the commit point), apply what was
    staged, mark derived values of changed records stale and flip to ``committed``."""
    db.import_batches.update_one({"_id": batch_id}, {"$set": {
        "counts": counts, "touched_samples": touched_samples[:10000]}})
    if counts["total"]["new"] == 0 and counts["total"]["changed"] == 0:
        db.import_batches.update_one({"_id": batch_id}, {"$set": {"status": "committed", "finished_at": _now()}})
        return
    stage("staged")
    # the commit point: one document update
    db.import_batches.update_one({"_id": batch_id}, {"$set": {"status": "committing"}})
    stage("committing")
    _apply_staged(db, batch_id, stage)
    _mark_stale(db, changed_ids)
    invalidate_changed_samples(db, batch_id)
    db.import_batches.update_one({"_id": batch_id}, {"$set": {"status": "committed", "finished_at": _now()}})


def _insert_or_replace(db, coll: str, docs: list[dict]) -> None:
    import pymongo
    from pymongo.errors import BulkWriteError

    try:
        db[coll].insert_many(docs, ordered=False)
    except BulkWriteError as exc:
        dup_ids = {e["op"]["_id"] for e in exc.details.get("writeErrors", []) if e.get("code") == 11000}
        other = [e for e in exc.details.get("writeErrors", []) if e.get("code") != 11000]
        if other:
            raise
        # leftovers of an abandoned batch with the same ids: replace them
        db[coll].bulk_write([pymongo.ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs if doc["_id"] in dup_ids])


class Writer:
    """Second-pass sink: buffers documents per collection, diffs each chunk against the store,
    inserts new documents (carrying the pending batch id) and stages changed ones."""

    def __init__(self, store, batch_id: str | None, stage: Callable[[str], None]):
        self.db = store.db
        self.batch_id = batch_id
        self.stage = stage
        self.now = _now()
        self.hidden = set(store.hidden_batches()) - ({batch_id} if batch_id else set())
        self.buffers: dict[str, list[dict]] = {c: [] for c in COLLECTIONS}
        self.counts: dict = {c: {"new": 0, "changed": 0, "unchanged": 0} for c in COLLECTIONS}
        self.touched: set[str] = set()
        self.changed_ids: list[str] = []

    def __call__(self, coll: str, doc: dict) -> None:
        buf = self.buffers[coll]
        buf.append(doc)
        if len(buf) >= _CHUNK:
            self.flush(coll)

    def flush(self, coll: str) -> None:
        docs, self.buffers[coll] = self.buffers[coll], []
        if not docs:
            return
        existing = {d["_id"]: d for d in self.db[coll].find({"_id": {"$in": [d["_id"] for d in docs]}},
                                                             {"_id": 1, "content_hash": 1, "batch_id": 1})}
        new, changed = [], []
        for doc in docs:
            old = existing.get(doc["_id"])
            if old is None or old.get("batch_id") in self.hidden:
                new.append(doc)
            elif old.get("content_hash") != doc.get("content_hash"):
                changed.append(doc)
            else:
                self.counts[coll]["unchanged"] += 1
                continue
            if coll == "samples":
                self.touched.add(doc["_id"])
            elif coll in ("properties", "measurements", "structures"):
                self.touched.add(doc["sample"])
        self.counts[coll]["new"] += len(new)
        self.counts[coll]["changed"] += len(changed)
        self.changed_ids.extend(d["_id"] for d in changed)
        if self.batch_id is None:  # dry run: count only
            return
        if new:
            _insert_or_replace(self.db, coll, [_clean(d, self.batch_id, self.now) for d in new])
            self.stage(f"inserted:{coll}")
        if changed:
            self.db.import_staging.insert_many([
                {"_id": f"{self.batch_id}:{coll}:{d['_id']}", "batch_id": self.batch_id, "coll": coll,
                 "doc": _clean(d, self.batch_id, self.now)}
                for d in changed
            ])

    def close(self) -> None:
        for coll in COLLECTIONS:
            self.flush(coll)


def _discard(db, batch_id: str, why: str) -> None:
    """Delete everything a never-committed batch wrote and mark it failed."""
    for coll in COLLECTIONS:
        db[coll].delete_many({"batch_id": batch_id})
    db.import_staging.delete_many({"batch_id": batch_id})
    db.import_batches.update_one({"_id": batch_id}, {"$set": {"status": "failed", "finished_at": _now(),
                                                              "errors": [{"message": why}]}})



def _clean(doc: dict, batch_id: str, now) -> dict:
    out = {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}
    out["batch_id"] = batch_id
    out["updated_at"] = now
    return out


def _apply_staged(db, batch_id: str, stage: Callable[[str], None] = lambda s: None) -> None:
    """Apply staged replacements of a committing batch, saving previous versions (idempotent)."""
    import pymongo

    while True:
        staged = list(db.import_staging.find({"batch_id": batch_id}).limit(_CHUNK))
        if not staged:
            break
        ids_by_coll: dict[str, list[str]] = defaultdict(list)
        for s in staged:
            ids_by_coll[s["coll"]].append(s["doc"]["_id"])
        for coll, ids in ids_by_coll.items():
            current = {d["_id"]: d for d in db[coll].find({"_id": {"$in": ids}})}
            history = [
                pymongo.ReplaceOne({"_id": f"{batch_id}:{coll}:{i}"}, {"_id": f"{batch_id}:{coll}:{i}", "batch_id": batch_id, "coll": coll, "doc": current[i]}, upsert=True)
                for i in ids if i in current and current[i].get("batch_id") != batch_id
            ]
            if history:
                db.import_history.bulk_write(history, ordered=False)
            docs = [s["doc"] for s in staged if s["coll"] == coll]
            db[coll].bulk_write([pymongo.ReplaceOne({"_id": doc["_id"]}, doc, upsert=True) for doc in docs], ordered=False)
            stage(f"applied:{coll}")
        db.import_staging.delete_many({"_id": {"$in": [s["_id"] for s in staged]}})


def _mark_stale(db, changed_ids: list[str], max_depth: int = 5) -> int:
    """Derived properties computed from a changed record are stale until recomputed, and so are
    the derived properties computed from those (e.g. an activation energy fitted to EIS-derived
    conductivities), up to ``max_depth`` levels."""
    n = 0
    frontier = list(changed_ids)
    seen: set[str] = set()
    for _ in range(max_depth):
        found: list[str] = []
        for start in range(0, len(frontier), _CHUNK):
            part = frontier[start : start + _CHUNK]
            query = {"origin": "derived", "provenance.inputs": {"$in": part}}
            ids = [d["_id"] for d in db.properties.find(query, {"_id": 1}) if d["_id"] not in seen]
            if ids:
                n += set_fields(db.properties, {"_id": {"$in": ids}}, {"stale": True})
                found.extend(ids)
        if not found:
            break
        seen.update(found)
        frontier = found
    return n


def recover(store, *, force: bool = False) -> list[dict]:
    """Finish or clean away batches whose importing process died.

    ``pending`` batches (never committed, never visible) are deleted; ``committing`` batches are
    rolled forward; interrupted rollbacks are finished (their entries list the ``samples`` whose
    derived values must be recomputed). Returns what was done.
    """
    db = store.db
    done = resume_rollbacks(store, force=force)
    here = socket.gethostname()
    for batch in db.import_batches.find({"status": {"$in": ["pending", "committing"]}}):
        opts = batch.get("options") or {}
        if not force and opts.get("host") == here and pid_alive(opts.get("pid")) and opts.get("pid") != os.getpid():
            continue  # another live import
        if batch["status"] == "committing":
            _apply_staged(db, batch["_id"])
            _mark_stale(db, [history_doc_id(h) for h in db.import_history.find({"batch_id": batch["_id"]}, {"_id": 1})])
            invalidate_changed_samples(db, batch["_id"])
            db.import_batches.update_one({"_id": batch["_id"]}, {"$set": {"status": "committed", "finished_at": _now(), "recovered": "rolled forward"}})
            done.append({"batch": batch["_id"], "action": "rolled forward"})
        else:
            _discard(db, batch["_id"], "import process died before commit; cleaned")
            done.append({"batch": batch["_id"], "action": "cleaned"})
    return done


def list_batches(store, limit: int = 50) -> list[dict]:
    return list(
        store.db.import_batches.find({}, {"files.path": 0, "errors": 0, "touched_samples": 0, "rollback.samples": 0}).sort("started_at", -1).limit(limit)
    )
