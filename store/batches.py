"""The import batch protocol: batch document, writer, shadows, the commit point, discard, recover.

Atomicity without multi-document transactions (the flow is in ingest/importer.py; the rule for
concurrent imports in docs/imports.md): every existing record document the batch will change or
count is first **claimed** for it (store/claims.py), so no other batch can write, count against or
delete it meanwhile; a new document that does not exist is held by its own insert (its ``_id`` is
unique; see :meth:`Writer._hold`). New documents are inserted carrying the pending ``batch_id`` and
are invisible until the batch commits; a changed document's previous version is saved in
``import_history`` and its new version written beside it as a shadow (store/shadows.py). One
conditional update of the batch document (``pending`` -> ``committing``, ``shadows: live``) is the
commit point: it switches the new documents and every shadow on and the superseded versions off, at
once. The changed documents are then overwritten with their shadows (still hidden), a second batch
update (``shadows: dead``) switches them back on and the shadows off, the shadows are deleted, and
the batch is ``committed`` and its claims are released. Readers never wait for a commit. Rollback
lives in store/rollback.py.

Batch documents are always written whole (:func:`write_batch`): nx-27017 stores a datetime written
by ``$set`` as a string.
"""

from __future__ import annotations

import datetime as _dt
import getpass
import os
import threading
import time
from collections import defaultdict
from typing import Callable, Iterable

import pymongo
from pymongo.errors import BulkWriteError

from ionbase.errors import ImportConflict
from ionbase.store import claims, drop_replaced_unique, set_fields
from ionbase.schemas.validate import stored_fields
from ionbase.store.claims import write_batch
from ionbase.store.rollback import COLLECTIONS, history_doc_id, invalidate_changed_samples, resume_rollbacks
from ionbase.store.pacing import IMPORT_COMMAND, Yielder, paced
from ionbase.store.shadows import SHADOW, SUPERSEDED, SWITCHED, shadow_id, unmark
from ionbase.store.visibility import states_changed, writer_token

#: documents per writer chunk (diff, insert, stage, apply); the writer yields to readers between two
#: chunks (store.pacing.Yielder) and sends each chunk's inserts in commands of IMPORT_COMMAND
_CHUNK = 5000


def _now() -> _dt.datetime:
    return _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0)


def _user() -> str:
    try:
        return getpass.getuser()
    except Exception:
        return "unknown"


def start_batch(store, file_meta: dict, errors: list, user: str | None, skip_invalid: bool) -> str:
    """Create the batch document, status ``pending``; returns its id (alive in this process)."""
    db = store.db
    batch_id = "imp-" + _now().strftime("%Y%m%dT%H%M%S") + "-" + os.urandom(3).hex()
    claims.ACTIVE_HERE.add(batch_id)
    token = writer_token(db)  # found (and writable) before the batch exists: store.visibility
    db.import_batches.insert_one({
        "_id": batch_id,
        "status": "pending",
        "files": list(file_meta.values()),
        "user": user or _user(),
        "started_at": _now(),
        "errors": [i.to_dict() for i in errors][:1000],
        "options": {"skip_invalid": skip_invalid, **claims.owner_info()},
        "shadows": "staged",  # it may write shadows of changed documents (store.shadows)
    })
    states_changed(db, token)  # before any record of the batch is written (store.visibility)
    return batch_id


def describe_batch(store, batch_id: str, file_meta: dict, errors: list) -> None:
    """Record the files (checksums) and errors of a batch started before its first pass ended
    (ingest/overlap.py). ImportConflict when the batch was cleaned meanwhile."""
    _flip(store.db, batch_id, {"files": list(file_meta.values()), "errors": [i.to_dict() for i in errors][:1000]})


def withdraw(store, batch_id: str, why: str) -> None:
    """Discard a batch whose records turned out invalid, and delete its batch document: an invalid
    import leaves nothing behind, as when it was refused before writing."""
    if _discard(store.db, batch_id, why):
        store.db.import_batches.delete_one({"_id": batch_id, "status": "failed", "shadows": "removed"})


def commit_batch(store, batch_id: str, counts: dict, touched_samples: list[str], changed_ids: list[str],
                 stage: Callable[[str], None]) -> None:
    """Record the counts and flip the batch to ``committing`` (the commit point, conditional on it still
    being ``pending``), apply what was staged, mark derived values of changed records stale, flip to
    ``committed`` and release the claims. ImportConflict when the batch was cleaned meanwhile."""
    db = store.db
    try:
        extra = {"counts": counts, "touched_samples": touched_samples[:10000]}
        if counts["total"]["new"] == 0 and counts["total"]["changed"] == 0:
            _flip(db, batch_id, {**extra, "status": "committed", "finished_at": _now(), "shadows": "done"})
            claims.release(db, batch_id)
            return
        stage("staged")
        _flip(db, batch_id, {**extra, "status": "committing", "shadows": "live"})  # the commit point
        stage("committing")
        _roll_forward(db, batch_id, changed_ids, stage)
    finally:
        claims.ACTIVE_HERE.discard(batch_id)


def _flip(db, batch_id: str, fields: dict) -> None:
    if not write_batch(db, batch_id, fields, expect=("pending",)):
        doc = db.import_batches.find_one({"_id": batch_id}, {"status": 1}) or {}
        raise ImportConflict(f"import {batch_id} cannot commit: it is {doc.get('status', 'gone')} (another process "
                             "took it for dead and cleaned it); nothing of it is visible, run the import again")


def _roll_forward(db, batch_id: str, changed_ids: list[str], stage: Callable[[str], None] = lambda s: None,
                  **extra) -> None:
    """From ``committing`` to ``committed``: settle the changed documents (store.shadows; a batch
    committed by an older version applies its staged documents), mark what depends on them."""
    shadows = (db.import_batches.find_one({"_id": batch_id}, {"shadows": 1}) or {}).get("shadows")
    if shadows in SWITCHED:
        changed = _changed_by(db, batch_id)
        if shadows == "live":
            _settle(db, batch_id, changed, stage)
            write_batch(db, batch_id, {"shadows": "dead"}, expect=("committing",))
            stage("switched")
        _drop_shadows(db, batch_id, changed, stage)
    else:
        _apply_staged(db, batch_id, stage)
    _mark_stale(db, changed_ids)
    invalidate_changed_samples(db, batch_id)
    write_batch(db, batch_id, {"status": "committed", "finished_at": _now(), "shadows": "done", **extra},
                expect=("committing",))
    claims.release(db, batch_id)


def _changed_by(db, batch_id: str) -> dict[str, list[str]]:
    """Ids per collection of the documents ``batch_id`` changes (one saved version each)."""
    out: dict[str, list[str]] = defaultdict(list)
    for hist in db.import_history.find({"batch_id": batch_id}, {"coll": 1, "_id": 1}):
        out[hist["coll"]].append(history_doc_id(hist))
    return {coll: sorted(ids) for coll, ids in out.items()}


def _settle(db, batch_id: str, changed: dict[str, list[str]], stage: Callable[[str], None]) -> None:
    """Overwrite each changed document (``changed``: :func:`_changed_by`) with its shadow, still marked
    superseded (so still hidden while the shadows are live); idempotent."""
    for coll, ids in changed.items():
        for part in paced(ids, IMPORT_COMMAND, pause_s=0.0):
            shadows = list(db[coll].find({"_id": {"$in": [shadow_id(i, batch_id) for i in part]}}))
            if shadows:
                db[coll].bulk_write([pymongo.ReplaceOne({"_id": d["_id"]}, d, upsert=True)
                                     for d in (_settled(sh, batch_id) for sh in shadows)], ordered=False)
            stage(f"settled:{coll}")


def _settled(shadow: dict, batch_id: str) -> dict:
    """The shadow as its natural document, still marked superseded by its batch."""
    doc = unmark(shadow)
    doc[SUPERSEDED] = batch_id
    return doc


def _drop_shadows(db, batch_id: str, changed: dict[str, list[str]],
                  stage: Callable[[str], None] = lambda s: None) -> None:
    """Delete the batch's shadows and its superseded marks (both invisible once it is ``dead``, or
    failed); idempotent."""
    for coll, ids in changed.items():
        for part in paced(ids, IMPORT_COMMAND, pause_s=0.0):
            db[coll].delete_many({"_id": {"$in": [shadow_id(i, batch_id) for i in part]}})
            db[coll].update_many({"_id": {"$in": part}, SUPERSEDED: batch_id}, {"$unset": {SUPERSEDED: ""}})
            stage(f"dropped:{coll}")


def _insert_or_replace(db, coll: str, docs: list[dict], leftovers: dict[str, str]) -> list[str]:
    """Insert ``docs``; a duplicate ``_id`` among ``leftovers`` (id -> the ended, never-committed batch
    that wrote it, whose claim we hold) is replaced only while that batch still owns it. Returns the
    ids not written: documents another batch inserted since the diff, including a leftover that was
    cleaned and inserted again by another import meanwhile (never overwritten: review finding)."""
    dup_ids: set[str] = set()
    for part in paced(docs, IMPORT_COMMAND, pause_s=0.0):
        try:
            db[coll].insert_many(part, ordered=False)
        except BulkWriteError as exc:
            errors = exc.details.get("writeErrors", [])
            if any(e.get("code") != 11000 for e in errors):
                raise
            dup_ids.update(e["op"]["_id"] for e in errors)
    if not dup_ids:
        return []
    late = list(dup_ids - set(leftovers))
    for doc in docs:
        i = doc["_id"]
        if i in dup_ids and i in leftovers and not db[coll].replace_one({"_id": i, "batch_id": leftovers[i]}, doc).matched_count:
            late.append(i)
    return sorted(late)


class Writer:
    """Second-pass sink: buffers documents per collection; per chunk diffs them against the store,
    holds them (:meth:`_hold`: claims, exclusive to write and shared to count unchanged; a document
    that does not exist is held by its own insert), inserts new documents (carrying the pending batch
    id) and stages changed ones."""

    def __init__(self, store, batch_id: str | None, stage: Callable[[str], None]):
        self.db = store.db
        self.store = store
        self.batch_id = batch_id
        self.stage = stage
        self.now = _now()
        self._beat_at = time.monotonic()
        self.buffers: dict[str, list[dict]] = {c: [] for c in COLLECTIONS}
        self.counts: dict = {c: {"new": 0, "changed": 0, "unchanged": 0} for c in COLLECTIONS}
        self.touched: set[str] = set()
        self.changed_ids: list[str] = []
        #: collection -> id -> content hash of the stored version a document was derived again from
        #: (ingest/cascade.py, via Plan.bases): it must still be stored when the document is held
        self.bases: dict[str, dict[str, str | None]] = {}
        #: collection -> id -> content hash of the committed documents the batch copies from (Plan.uses):
        #: held shared and checked unchanged when the writer closes (:meth:`_hold_uses`)
        self.uses: dict[str, dict[str, str | None]] = {}
        #: documents diffed and written (or counted unchanged) so far, and who is told of each chunk's
        #: count, from the thread that wrote it (:meth:`follow`)
        self.flushed = 0
        self._on_flushed: Callable[[int], None] = lambda n: None
        self._flushed_lock = threading.Lock()
        # between chunks, leave the embedded server to readers queued on it (store.pacing.Yielder)
        self.yielder = Yielder(lambda: self.db.import_batches.find_one({"_id": batch_id or ""}, {"_id": 1}))

    def __call__(self, coll: str, doc: dict) -> None:
        buf = self.buffers[coll]
        buf.append(doc)
        if len(buf) >= _CHUNK:
            self.flush(coll)

    def _claim(self, coll: str, write: list[str], count: list[str]) -> None:
        """Claim documents: exclusive those to write, shared those counted unchanged."""
        self.beat()
        claims.claim(self.db, self.batch_id, coll, write, lambda b: recover_batch(self.db, b), shared_ids=count)
        self.stage(f"claimed:{coll}")

    def beat(self) -> None:
        """Renew the batch's lease when due (store/claims.py): a long import that only inserts new
        documents claims nothing, and must still be seen alive by other hosts."""
        if self.batch_id is not None and time.monotonic() - self._beat_at > claims.HEARTBEAT_S:
            claims.heartbeat(self.db, self.batch_id)
            self._beat_at = time.monotonic()

    def _classify(self, coll: str, docs: list[dict]) -> tuple[list[dict], list[dict], list[dict], dict[str, str]]:
        """(new, changed, unchanged) against the store now, and the new ones that exist as documents
        of a batch that is not committed (id -> that batch)."""
        hidden = set(self.store.hidden_batches(wait_for_commits=False)) - {self.batch_id}
        existing = {d["_id"]: d for d in self.db[coll].find({"_id": {"$in": [d["_id"] for d in docs]}},
                                                             {"_id": 1, "content_hash": 1, "batch_id": 1})}
        out: tuple[list[dict], list[dict], list[dict], dict[str, str]] = ([], [], [], {})
        for doc in docs:
            old = existing.get(doc["_id"])
            if old is None or old.get("batch_id") in hidden:
                out[0].append(doc)
                if old is not None:
                    out[3][doc["_id"]] = old["batch_id"]
            elif old.get("content_hash") != doc.get("content_hash"):
                out[1].append(doc)
            else:
                out[2].append(doc)
        return out

    def _hold(self, coll: str, docs: list[dict]) -> tuple[list[dict], list[dict], list[dict], dict[str, str]]:
        """Diff ``docs`` and hold what this batch will write or count, then diff again (from the hold on
        no other batch can change what is counted).

        Changed documents are claimed exclusively, unchanged ones shared, new ones that exist as another
        batch's uncommitted documents exclusively, and their batch is asked about (a live one refuses
        this import, a dead one is recovered first). A new document that does not exist is not claimed:
        its insert carries this batch's id and its ``_id`` is unique, so of two batches inserting it
        exactly one succeeds, and the other finds it held (:meth:`_insert`)."""
        for _ in range(3):
            new, changed, unchanged, owned = self._classify(coll, docs)
            if self.batch_id is None or not (changed or unchanged or owned):
                return new, changed, unchanged, owned
            self._claim(coll, [*owned, *(d["_id"] for d in changed)], [d["_id"] for d in unchanged])
            if self._ask_owners(coll, owned):
                continue  # a dead batch was finished or cleaned: diff again
            again = self._classify(coll, docs)
            if [[d["_id"] for d in x] for x in again[:3]] == [[d["_id"] for d in x] for x in (new, changed, unchanged)] \
                    and all(owned.get(i) == holder for i, holder in again[3].items()):
                return new, changed, unchanged, owned
        raise ImportConflict(f"import {self.batch_id}: documents of {coll} kept changing under it (other imports "
                             "writing them); nothing of this import was written; try again")

    def _ask_owners(self, coll: str, owned: dict[str, str]) -> bool:
        """Refuse this import (ImportConflict naming the batch) when a live batch owns one of the
        documents ``owned`` (id -> batch); finish or clean a dead one. Whether one was recovered."""
        examples: dict[str, str] = {}
        for doc_id, holder in owned.items():
            if holder != self.batch_id:
                examples.setdefault(holder, f"{coll}:{doc_id}")
        if not examples:
            return False
        batches = {b["_id"]: b for b in self.db.import_batches.find({"_id": {"$in": sorted(examples)}})}
        holders = {h: (batches.get(h), ex) for h, ex in examples.items()}
        return claims.settle(self.db, self.batch_id, holders, lambda b: recover_batch(self.db, b))

    def flush(self, coll: str) -> None:
        docs, self.buffers[coll] = self.buffers[coll], []
        if not docs:
            return
        self.beat()
        t0 = time.monotonic()
        self._write(coll, docs)
        with self._flushed_lock:
            self.flushed += len(docs)
            self._on_flushed(len(docs))
        self.yielder.after_chunk(time.monotonic() - t0)

    def _write(self, coll: str, docs: list[dict]) -> None:
        for _ in range(3):
            if not docs:
                return
            new, changed, unchanged, owned = self._hold(coll, docs)
            self._check_bases(coll, docs)
            late: set[str] = set()
            if self.batch_id is not None and new:
                late = set(self._insert(coll, new, owned))
            # documents another batch inserted since the diff go round again, held like any existing one
            self._count(coll, [d for d in new if d["_id"] not in late], changed, unchanged)
            if self.batch_id is not None:
                self._write_changed(coll, changed)
            docs = [d for d in new if d["_id"] in late]
        if docs:
            raise ImportConflict(f"import {self.batch_id}: documents such as {coll} {docs[0]['_id']} kept being "
                                 "inserted by other imports; nothing of this import was written; try again")

    def _hold_uses(self) -> None:
        """Hold (shared claims) the committed documents this batch's documents copy from, and refuse the
        batch (ImportConflict) if one is no longer the version read: another import changed it since,
        and what this batch built from it (a child's route from its parent's, a property's synthesis
        from its sample's summary) would be stale the moment it became visible. From the hold on, no
        other import can change them before this one commits."""
        for coll, used in self.uses.items():
            for part in paced(sorted(used), claims.CLAIM_CHUNK, pause_s=0.0):
                self._claim(coll, [], part)
                moved = self._first_moved(coll, used, part)
                if moved is not None:
                    raise ImportConflict(f"import {self.batch_id}: {self._named(coll, moved)}, which documents of this import "
                                         "copy from (a parent's route, a sample's synthesis, a material's fields), was "
                                         "changed or removed by another import meanwhile; nothing of this import is "
                                         "visible; try again")

    def _first_moved(self, coll: str, expected: dict[str, str | None], ids: list[str]) -> str | None:
        """The first of ``ids`` whose stored content hash is not ``expected[id]`` (or that is gone)."""
        now = {d["_id"]: d.get("content_hash") for d in self.db[coll].find({"_id": {"$in": ids}}, {"content_hash": 1})}
        return next((i for i in ids if i not in now or now[i] != expected[i]), None)

    def _named(self, coll: str, doc_id: str) -> str:
        """A document as an error names it: a sample by its label, a property by its name and sample."""
        doc = self.db[coll].find_one({"_id": doc_id}, {"label": 1, "name": 1, "sample_label": 1}) or {}
        if coll == "samples" and doc.get("label"):
            return f"sample {doc['label']!r} ({doc_id})"
        if coll == "properties" and doc.get("sample_label"):
            return f"property {doc.get('name')} of sample {doc['sample_label']!r} ({doc_id})"
        return f"{coll} document {doc_id}"

    def _check_bases(self, coll: str, docs: list[dict]) -> None:
        """ImportConflict when a document derived again from a stored version (``bases``) finds another
        version stored, or none, once held: another import changed or removed it since it was read,
        and writing it would undo that change with the values read before."""
        bases = self.bases.get(coll)
        ids = [d["_id"] for d in docs if d["_id"] in bases] if bases and self.batch_id is not None else []
        moved = self._first_moved(coll, bases, ids) if ids else None
        if moved is not None:
            raise ImportConflict(f"import {self.batch_id}: {self._named(coll, moved)}, which this import derives again "
                                 "from what it changes (its route or its sample's), was changed or removed by another "
                                 "import meanwhile; nothing of this import is visible; try again")

    def _insert(self, coll: str, new: list[dict], owned: dict[str, str]) -> list[str]:
        """Insert the new documents (leftovers of ended batches replaced); the ids another batch
        inserted since the diff (:func:`_insert_or_replace`)."""
        late = _insert_or_replace(self.db, coll, [_clean(d, self.batch_id, self.now) for d in new], owned)
        self.stage(f"inserted:{coll}")
        return late

    def _write_changed(self, coll: str, changed: list[dict]) -> None:
        """Write the new versions beside the old ones (store.shadows): save each old version (for
        rollback), insert the new one as its shadow, mark the old one superseded by this batch."""
        for part in paced(changed, IMPORT_COMMAND, pause_s=0.0):
            ids = [d["_id"] for d in part]
            current = list(self.db[coll].find({"_id": {"$in": ids}}))
            if len(current) != len(ids):
                raise ImportConflict(f"import {self.batch_id}: {coll} documents it changes were deleted meanwhile; "
                                     "nothing of this import is visible; try again")
            _save_versions(self.db, self.batch_id, coll, current)
            _insert_shadows(self.db, coll, [{**_clean(d, self.batch_id, self.now), "_id": shadow_id(d["_id"], self.batch_id),
                                             SHADOW: self.batch_id} for d in part])
            self.db[coll].update_many({"_id": {"$in": ids}}, {"$set": {SUPERSEDED: self.batch_id}})
        if changed:
            self.stage(f"shadowed:{coll}")

    def _count(self, coll: str, new: list[dict], changed: list[dict], unchanged: list[dict]) -> None:
        self.counts[coll]["new"] += len(new)
        self.counts[coll]["changed"] += len(changed)
        self.counts[coll]["unchanged"] += len(unchanged)
        # a document derived again only copies what changed elsewhere: what was computed from it holds
        bases = self.bases.get(coll, {})
        self.changed_ids.extend(d["_id"] for d in changed if d["_id"] not in bases)
        for doc in new + changed:
            if coll == "samples":
                self.touched.add(doc["_id"])
            elif coll in ("properties", "measurements", "structures"):
                self.touched.add(doc["sample"])

    def follow(self, start: Callable[[int], Callable[[int], None]]) -> None:
        """``start(documents written so far)`` returns who is told the count of every chunk written
        from then on (from the thread writing it: the import's writing progress bar); no chunk is
        counted twice or missed in between."""
        with self._flushed_lock:
            self._on_flushed = start(self.flushed)

    def flush_ready(self, min_docs: int) -> None:
        """Write every collection that has at least ``min_docs`` buffered (while the writer would
        otherwise wait: ingest/overlap.py)."""
        for coll in COLLECTIONS:
            if len(self.buffers[coll]) >= min_docs:
                self.flush(coll)

    def close(self) -> None:
        for coll in COLLECTIONS:
            self.flush(coll)
        if self.batch_id is not None:
            self._hold_uses()


def discard(store, batch_id: str, why: str) -> bool:
    """Delete what a pending batch wrote and mark it failed (the importer's clean-up after an error)."""
    return _discard(store.db, batch_id, why)


def _discard(db, batch_id: str, why: str) -> bool:
    """Delete everything a never-committed batch wrote and mark it failed: only if it is still
    ``pending`` (a batch that reached its commit point is rolled forward, never deleted)."""
    claims.ACTIVE_HERE.discard(batch_id)
    if not write_batch(db, batch_id, {"status": "failed", "finished_at": _now(), "errors": [{"message": why}]},
                       expect=("pending",)):
        return False
    _remove(db, batch_id)
    claims.release(db, batch_id)
    return True


def _remove(db, batch_id: str) -> None:
    """What a failed batch wrote: its documents (shadows included), its superseded marks, its saved
    versions; then its batch document says so (readers stop looking for its marks)."""
    for coll in COLLECTIONS:
        db[coll].delete_many({"batch_id": batch_id})
    _drop_shadows(db, batch_id, _changed_by(db, batch_id))
    db.import_history.delete_many({"batch_id": batch_id})
    if "import_staging" in db.list_collection_names():  # (a delete creates it on nx-27017)
        db.import_staging.delete_many({"batch_id": batch_id})
    write_batch(db, batch_id, {"shadows": "removed"}, expect=("failed",))


def _clean(doc: dict, batch_id: str, now) -> dict:
    out = stored_fields(doc)
    out["batch_id"] = batch_id
    out["updated_at"] = now
    return out


def _insert_shadows(db, coll: str, shadows: list[dict]) -> None:
    """Insert shadows; a natural-key index of an older version (recreated by an older process on the
    same store) that refuses them is dropped and they are inserted again, once."""
    try:
        db[coll].insert_many(shadows, ordered=False)
    except BulkWriteError as exc:
        errors = exc.details.get("writeErrors", [])
        if any(e.get("code") != 11000 for e in errors) or not drop_replaced_unique(db[coll]):
            raise
        refused = {e["op"]["_id"] for e in errors}
        db[coll].insert_many([d for d in shadows if d["_id"] in refused], ordered=False)


def _save_versions(db, batch_id: str, coll: str, docs: Iterable[dict]) -> None:
    """Save the versions ``batch_id`` replaces in ``import_history`` (for rollback; idempotent)."""
    history = [
        pymongo.ReplaceOne({"_id": f"{batch_id}:{coll}:{d['_id']}"},
                           {"_id": f"{batch_id}:{coll}:{d['_id']}", "batch_id": batch_id, "coll": coll,
                            "doc": {k: v for k, v in d.items() if k != SUPERSEDED}}, upsert=True)
        for d in docs if d.get("batch_id") != batch_id
    ]
    if history:
        db.import_history.bulk_write(history, ordered=False)


def _apply_staged(db, batch_id: str, stage: Callable[[str], None] = lambda s: None) -> None:
    """Apply staged replacements of a batch committed by an older version (before shadows),
    saving previous versions (idempotent)."""
    while True:
        staged = list(db.import_staging.find({"batch_id": batch_id}).limit(_CHUNK))
        if not staged:
            break
        ids_by_coll: dict[str, list[str]] = defaultdict(list)
        for s in staged:
            ids_by_coll[s["coll"]].append(s["doc"]["_id"])
        for coll, ids in ids_by_coll.items():
            _save_versions(db, batch_id, coll, db[coll].find({"_id": {"$in": ids}}))
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


def recover_batch(db, batch: dict) -> str | None:
    """Finish (roll forward) or clean one batch whose process died; what was done, or None."""
    if batch["status"] == "committing":
        changed = [history_doc_id(h) for h in db.import_history.find({"batch_id": batch["_id"]}, {"_id": 1})]
        _roll_forward(db, batch["_id"], changed, recovered="rolled forward")
        return "rolled forward"
    if batch["status"] == "pending" and _discard(db, batch["_id"], "import process died before commit; cleaned"):
        return "cleaned"
    return None


def recover(store, *, force: bool = False) -> list[dict]:
    """Finish or clean away batches whose importing process died.

    ``pending`` batches (never committed, never visible) are deleted; ``committing`` batches are
    rolled forward; interrupted rollbacks are finished (their entries list the ``samples`` whose
    derived values must be recomputed); claims left by ended batches are released. A batch whose
    process is alive (its lease, store/claims.py) is left alone unless ``force``. Returns what was done.
    """
    db = store.db
    done = resume_rollbacks(store, force=force)
    for batch in db.import_batches.find({"status": {"$in": ["pending", "committing"]}}):
        if not force and claims.batch_alive(batch):
            continue  # another live import
        action = recover_batch(db, batch)
        if action:
            done.append({"batch": batch["_id"], "action": action})
    for batch in db.import_batches.find({"status": "failed", "shadows": "staged"}, {"_id": 1}):
        _remove(db, batch["_id"])  # a discard that did not finish
    for holder in claims.stale_holders(db):
        claims.release(db, holder)
    return done


def list_batches(store, limit: int = 50) -> list[dict]:
    return list(
        store.db.import_batches.find({}, {"files.path": 0, "errors": 0, "touched_samples": 0, "rollback.samples": 0}).sort("started_at", -1).limit(limit)
    )
