"""Connecting to the store: a MongoDB server from ``MONGODB_URI``, or the embedded default.

``open_store(settings)`` returns a :class:`Store` with a pymongo database and a registered
mongoengine connection, with every index declared in ``schemas.documents`` created. The rest of
Ionbase reads and writes through the store's typed collections (``store.properties``,
``store.samples``, ... ; ``store.collections``), never through ``store.db``: they own batch
visibility, query shapes and chunk reassembly (tests/test_layers.py enforces it).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import mongoengine
import pymongo

from ionbase.errors import StoreUnavailable
from ionbase.settings import Settings
from ionbase.schemas.documents import ALL_DOCUMENTS
from ionbase.store.collections import NAMES, Collection
from ionbase.store.embedded import EmbeddedServer
from ionbase.store.shadows import HIDDEN_BATCH_STATES, SWITCHED, View, apply_view, batch_view_of as _view
from ionbase.store.visibility import StatesToken, attach, token_for

log = logging.getLogger(__name__)

#: how long a read waits for a batch that is being committed before answering StoreUnavailable
COMMIT_WAIT_S = 5.0
COMMIT_POLL_S = 0.05

#: pymongo options for the embedded store. On loopback a dead server refuses at once, so a short
#: server selection (pymongo rounds it up to its 0.5 s heartbeat step) is enough; a retried read
#: would only wait a second time for a server that is being restarted. So the API answers 503
#: within a second while it is down (tests/store/test_supervision.py measures it).
EMBEDDED_CLIENT_OPTIONS = {"serverSelectionTimeoutMS": 250, "retryReads": False}
URI_CLIENT_OPTIONS = {"serverSelectionTimeoutMS": 10000}


def _rollback_state(batch: dict) -> str | None:
    """``rollback.state`` of a batch read with that dotted projection: nested on MongoDB, a flat
    ``"rollback.state"`` key on nx-27017 (tests/conformance/test_known_gaps.py pins it)."""
    if "rollback.state" in batch:
        return batch["rollback.state"]
    return (batch.get("rollback") or {}).get("state")


def redact_uri(uri: str) -> str:
    """Drop credentials from a MongoDB URI for display."""
    return re.sub(r"//[^@/]+@", "//***@", uri)


@dataclass
class Store:
    """An open connection: pymongo client and database plus how we got there."""

    client: pymongo.MongoClient
    db: Any
    kind: str  # "embedded" | "uri"
    uri: str
    embedded: EmbeddedServer | None = None
    alias: str = "default"
    _extra: dict = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def on_unreachable(self) -> None:
        """The store did not answer: follow an embedded server that moved port, revive a dead supervisor.

        Cheap (reads the supervisor's state file) and never blocks; the API calls it when it maps a
        connection failure to 503, so the next request reaches the server again without a restart.
        """
        if self.embedded is None:
            return
        self.embedded.revive_in_background()
        port = self.embedded.current().get("port")
        if not port or port == self.embedded.port:
            return
        with self._lock:
            if port == self.embedded.port:
                return
            log.warning("the embedded store moved from port %s to %s; reconnecting", self.embedded.port, port)
            old = self.client
            self.embedded.port = port
            self.uri = self.embedded.uri
            self.client = pymongo.MongoClient(self.uri, tz_aware=False, **EMBEDDED_CLIENT_OPTIONS)
            attach(self.client, StatesToken(self.embedded.mongo_dir))
            self.db = self.client[self.db.name]
            mongoengine.disconnect(alias=self.alias)
            mongoengine.connect(db=self.db.name, host=self.uri, alias=self.alias, uuidRepresentation="standard",
                                **EMBEDDED_CLIENT_OPTIONS)
            old.close()

    def collection(self, name: str) -> Collection:
        """The typed collection ``name`` (ValueError for an unknown name)."""
        return Collection(self, name)

    # one attribute per collection, so call sites read store.properties.find(...)
    materials = property(lambda self: Collection(self, "materials"))
    routes = property(lambda self: Collection(self, "routes"))
    samples = property(lambda self: Collection(self, "samples"))
    structures = property(lambda self: Collection(self, "structures"))
    measurements = property(lambda self: Collection(self, "measurements"))
    measurement_arrays = property(lambda self: Collection(self, "measurement_arrays"))
    properties = property(lambda self: Collection(self, "properties"))
    import_batches = property(lambda self: Collection(self, "import_batches"))
    import_history = property(lambda self: Collection(self, "import_history"))
    import_staging = property(lambda self: Collection(self, "import_staging"))
    import_claims = property(lambda self: Collection(self, "import_claims"))
    analysis_runs = property(lambda self: Collection(self, "analysis_runs"))
    job_items = property(lambda self: Collection(self, "job_items"))
    api_keys = property(lambda self: Collection(self, "api_keys"))

    def hidden_batches(self, *, wait_for_commits: bool = True) -> list[str]:
        """Ids of import batches that are not committed (their records stay invisible)."""
        return list(self.batch_view(wait_for_commits=wait_for_commits).hidden)

    def batch_view(self, *, wait_for_commits: bool = True) -> View:
        """The batch states as readers must apply them (store.shadows.View), read from the store now.

        A committing batch switches its changed documents at once (store.shadows), so readers never
        wait for it. They wait only while a batch is being rolled back (its previous values restored
        one by one) or a batch written by an older version is being committed (staged changes applied
        one by one): up to :data:`COMMIT_WAIT_S`, then StoreUnavailable (503 with Retry-After). So a
        reader sees the whole batch or none of it. The importer itself passes ``wait_for_commits=False``.
        """
        deadline = time.monotonic() + COMMIT_WAIT_S
        while True:
            rows = list(self.db.import_batches.find(
                {"$or": [{"status": {"$in": [*HIDDEN_BATCH_STATES, "committing"]}}, {"rollback.state": "running"}]},
                {"_id": 1, "status": 1, "rollback.state": 1, "shadows": 1}))
            view = _view(rows)
            busy = sorted(b["_id"] for b in rows if (b.get("status") == "committing" and b.get("shadows") not in SWITCHED)
                          or _rollback_state(b) == "running")
            if not busy or not wait_for_commits:
                return view
            if time.monotonic() >= deadline:
                raise StoreUnavailable(
                    f"import {busy[0]} is being committed or rolled back; its changes become visible all at "
                    "once when it finishes (if its process died, `ionbase import recover` completes it); "
                    "retry shortly", {"committing": busy})
            time.sleep(COMMIT_POLL_S)

    def evaluates_in_python(self) -> bool:
        """Whether the server is nx-27017 (``buildInfo.process``), whatever the URI: it applies
        projections document by document in Python (a projected read is slower there than a whole
        one, measured in bench/bench_export.py), where MongoDB projects in C. Asked once per store."""
        if "evaluates_in_python" not in self._extra:
            info = self.client.admin.command("buildInfo")
            self._extra["evaluates_in_python"] = info.get("process") == "nx_27017"
        return self._extra["evaluates_in_python"]

    def visible(self, query: dict | None = None) -> dict:
        """Add the committed-batches condition to a query (the batch states as of now)."""
        return self.visible_as_of(query)[0]

    def visible_as_of(self, query: dict | None = None, *, cached: bool = True) -> tuple[dict, str | None]:
        """``query`` on a batched collection with the committed-batches conditions, and the token they
        were built on (:meth:`view_as_of`)."""
        view, token = self.view_as_of(cached=cached)
        return apply_view(view, query), token

    def view_as_of(self, *, cached: bool = True) -> tuple[View, str | None]:
        """The batch states (:meth:`batch_view`) and the batch-states token they were read at.

        The states change in any process (gunicorn workers, ``ionbase import``, rollback). They are
        cached with the token of :mod:`ionbase.store.visibility`, whose file every state change
        rewrites, so a read costs a file read instead of a round trip; a read that returns whole
        passes the token to :meth:`unchanged_since` afterwards. Without a token file (a real MongoDB
        server), or with ``cached=False``, the states are read now (one round trip, about a ping)
        and the token is None."""
        token_file = token_for(self.client) if cached else None
        token = token_file.read() if token_file is not None else None
        known = self._extra.get("view")
        if token is not None and known is not None and known[0] == token:
            return known[1], token
        view = self.batch_view()
        if token is not None:
            self._extra["view"] = (token, view)
        return view, token

    def unchanged_since(self, token: str | None) -> bool:
        """Whether no batch changed state since ``token`` (from :meth:`visible_as_of`) was read."""
        if token is None:
            return True
        token_file = token_for(self.client)
        return token_file is not None and token_file.read() == token

    def status(self) -> dict:
        """Which store, its version, collections and document counts."""
        info = self.client.admin.command("buildInfo")
        collections = {}
        for name in sorted(self.db.list_collection_names()):
            collections[name] = self.db[name].estimated_document_count()
        out = {
            "store": self.kind,
            "uri": redact_uri(self.uri),
            "database": self.db.name,
            "server_version": info.get("version"),
            "collections": collections,
        }
        if self.embedded is not None:
            state = self.embedded.current()
            out["embedded"] = {
                "package": "nx-27017",
                "data_dir": str(self.embedded.mongo_dir),
                "pid": state.get("pid"),
                "port": state.get("port"),
                "supervisor_pid": state.get("supervisor_pid"),
                "status": state.get("status"),
                "restarts": state.get("restarts"),
            }
        return out

    def close(self) -> None:
        mongoengine.disconnect(alias=self.alias)
        self.client.close()
        if self.embedded is not None:
            self.embedded.stop()


def ensure_indexes() -> None:
    """Create every index declared in the documents' ``meta`` (idempotent), first dropping a unique
    index of an older version that a declared one extends (:func:`drop_replaced_unique`)."""
    for doc in ALL_DOCUMENTS:
        drop_replaced_unique(doc._get_collection(), doc)
        doc.ensure_indexes()


def drop_replaced_unique(coll, doc_cls=None) -> list[str]:
    """Drop the unique indexes of pymongo collection ``coll`` that a unique index declared by its
    document class extends: a natural key without ``shadow_batch`` (Ionbase before store/shadows.py,
    or an older process that recreated it) refuses the shadows of changed documents. The dropped names."""
    doc_cls = doc_cls or next((d for d in ALL_DOCUMENTS if d._meta.get("collection") == coll.name), None)
    specs = doc_cls._meta.get("index_specs", []) if doc_cls is not None else []
    wanted = [tuple(k for k, _ in spec["fields"]) for spec in specs if spec.get("unique")]
    dropped = []
    for name, info in (coll.index_information().items() if wanted else ()):
        keys = tuple(k for k, _ in info["key"])
        if info.get("unique") and any(len(w) > len(keys) and w[: len(keys)] == keys for w in wanted):
            log.warning("dropping unique index %s of %s on %s: replaced by one with shadow_batch",
                        name, coll.name, list(keys))
            coll.drop_index(name)
            dropped.append(name)
    return dropped


def open_store(settings: Settings, *, create_indexes: bool = True, wait: bool = True) -> Store:
    """Connect to ``settings.mongodb_uri`` or start/reuse the (supervised) embedded server.

    ``wait=False`` (gunicorn workers) does not wait for an embedded server that its supervisor is
    restarting: the app boots and answers 503 until the server is back; indexes are then left to
    the next start (logged), since they already exist on any store that was ever opened.
    """
    embedded = None
    if settings.mongodb_uri:
        uri, kind, options = settings.mongodb_uri, "uri", URI_CLIENT_OPTIONS
    else:
        embedded = EmbeddedServer(settings.data_dir, idle_exit_s=settings.embedded_idle_exit_s)
        uri = embedded.ensure_running() if wait else embedded.attach()
        kind, options = "embedded", EMBEDDED_CLIENT_OPTIONS
    client = pymongo.MongoClient(uri, tz_aware=False, **options)
    if embedded is not None:
        attach(client, StatesToken(embedded.mongo_dir))
    db = client[settings.db_name]
    mongoengine.disconnect(alias="default")
    mongoengine.connect(db=settings.db_name, host=uri, alias="default", uuidRepresentation="standard", **options)
    store = Store(client=client, db=db, kind=kind, uri=uri, embedded=embedded)
    try:
        client.admin.command("ping")
        if create_indexes:
            ensure_indexes()
    except pymongo.errors.ConnectionFailure as exc:
        if wait:
            raise
        log.warning("the store at %s does not answer yet (%s); indexes not checked", redact_uri(uri), type(exc).__name__)
    return store


def set_fields(collection, query: dict, fields: dict) -> int:
    """``$set`` that keeps booleans booleans on every backend.

    nx-27017 stores a boolean written by ``$set`` as 0/1 (seen here with nx-27017 0.8.1; a
    conformance test pins it), so documents whose update carries a boolean are rewritten whole
    with ``replace_one``. Other updates use ``update_many``.
    """
    if not any(isinstance(v, bool) for v in fields.values()):
        return collection.update_many(query, {"$set": fields}).modified_count
    n = 0
    for doc in list(collection.find(query)):
        for path, value in fields.items():
            target = doc
            *parents, leaf = path.split(".")
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = value
        n += collection.replace_one({"_id": doc["_id"]}, doc).modified_count
    return n
