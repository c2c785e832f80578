"""Connecting to the store: a MongoDB server from ``MONGODB_URI``, or the embedded default.

``open_store(settings)`` returns a :class:`Store` with a pymongo database and a registered
mongoengine connection, with every index declared in ``schemas.documents`` created.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from typing import Any

import mongoengine
import pymongo

from ionbase.settings import Settings
from schemas.documents import ALL_DOCUMENTS
from store.embedded import EmbeddedServer
from store.shapes import simplify

log = logging.getLogger(__name__)

#: import batches whose records queries must not see
HIDDEN_BATCH_STATES = ("pending", "failed", "rolled_back")


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

    def hidden_batches(self) -> list[str]:
        """Ids of import batches that are not committed (their records stay invisible)."""
        return [
            b["_id"]
            for b in self.db.import_batches.find({"status": {"$in": list(HIDDEN_BATCH_STATES)}}, {"_id": 1})
        ]

    def visible(self, query: dict | None = None) -> dict:
        """Add the committed-batches condition to a query."""
        hidden = self.hidden_batches()
        if not hidden:
            return dict(query or {})
        # one flat document when possible: the embedded server evaluates $and in Python (store.shapes)
        return simplify({"$and": [query or {}, {"batch_id": {"$nin": hidden}}]})

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
            out["embedded"] = {
                "package": "nx-27017",
                "data_dir": str(self.embedded.mongo_dir),
                "pid": self.embedded.pid,
                "port": self.embedded.port,
                "owner": self.embedded.owner,
            }
        return out

    def close(self) -> None:
        mongoengine.disconnect(alias=self.alias)
        self.client.close()
        if self.embedded is not None:
            self.embedded.stop()


def ensure_indexes() -> None:
    """Create every index declared in the documents' ``meta`` (idempotent)."""
    for doc in ALL_DOCUMENTS:
        doc.ensure_indexes()


def open_store(settings: Settings, *, create_indexes: bool = True) -> Store:
    """Connect to ``settings.mongodb_uri`` or start/reuse the embedded server."""
    embedded = None
    if settings.mongodb_uri:
        uri, kind = settings.mongodb_uri, "uri"
    else:
        embedded = EmbeddedServer(settings.data_dir)
        uri, kind = embedded.ensure_running(), "embedded"
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=10000, tz_aware=False)
    client.admin.command("ping")
    db = client[settings.db_name]
    mongoengine.disconnect(alias="default")
    mongoengine.connect(db=settings.db_name, host=uri, alias="default", serverSelectionTimeoutMS=10000, uuidRepresentation="standard")
    store = Store(client=client, db=db, kind=kind, uri=uri, embedded=embedded)
    if create_indexes:
        ensure_indexes()
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
