"""API keys: ``<key id>.<secret>`` tokens; the database keeps only sha256(key id + secret).

The key id is the public prefix (``ib_`` + 12 hex digits) stored as the document ``_id`` of the
``api_keys`` collection (``schemas.documents.ApiKey``); the secret is shown once, at creation.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import secrets

ROLES = ("reader", "writer", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


def hash_secret(key_id: str, secret: str) -> str:
    return hashlib.sha256(f"{key_id}:{secret}".encode()).hexdigest()


def create_key(store, name: str, role: str) -> tuple[str, str]:
    """Create a key; returns ``(key_id, token)`` where token = ``key_id.secret`` (shown once)."""
    if role not in ROLES:
        raise ValueError(f"role must be one of {', '.join(ROLES)}, got {role!r}")
    if not name or not str(name).strip():
        raise ValueError("a key needs a name")
    key_id = "ib_" + secrets.token_hex(6)
    secret = secrets.token_urlsafe(32)
    store.api_keys.insert_one({
        "_id": key_id,
        "name": str(name).strip(),
        "role": role,
        "hash": hash_secret(key_id, secret),
        "created_at": _dt.datetime.now(_dt.timezone.utc).replace(tzinfo=None, microsecond=0),
        "revoked": False,
    })
    return key_id, f"{key_id}.{secret}"


def list_keys(store) -> list[dict]:
    return [{k: v for k, v in d.items() if k != "hash"} for d in store.api_keys.find({}, sort=[("created_at", 1)])]


def revoke_key(store, key_id: str) -> bool:
    """Mark the key revoked; False when there is no such key.

    Rewritten whole: nx-27017 stores a boolean written by ``$set`` as 0/1 (store.set_fields)."""
    doc = store.api_keys.get(key_id)
    if doc is None:
        return False
    return store.api_keys.replace_one({**doc, "revoked": True}) == 1


def verify_token(store, token: str) -> dict | None:
    """The key document for a valid, unrevoked token, else None."""
    if not token or "." not in token or len(token) > 200:
        return None
    key_id, _, secret = token.partition(".")
    if not key_id.startswith("ib_") or not secret:
        return None
    doc = store.api_keys.get(key_id)
    if doc is None or doc.get("revoked"):
        return None
    if not hmac.compare_digest(str(doc.get("hash", "")), hash_secret(key_id, secret)):
        return None
    return doc


def role_allows(role: str | None, needed: str) -> bool:
    return role in _RANK and _RANK[role] >= _RANK[needed]
