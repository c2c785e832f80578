"""API keys: ``<key id>.<secret>`` tokens; the database keeps only HMAC-SHA256(server secret, key id + secret).

The key id is the public prefix (``ib_`` + 12 hex digits) stored as the document ``_id`` of the
``api_keys`` collection (``schemas.documents.ApiKey``); the secret is shown once, at creation.

The hash is keyed with a **server secret** kept in a file only its owner can read
(``Settings.secret_path``: ``IONBASE_SECRET_FILE`` or ``<data dir>/server.secret``, created with mode
0600 on first use). Whoever can write to the store but cannot read that file cannot make a key
document that validates (the embedded store has no authentication, so any local process can write).
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import hmac
import os
import secrets
import stat
from pathlib import Path

from ionbase.settings import Settings

ROLES = ("reader", "writer", "admin")
_RANK = {r: i for i, r in enumerate(ROLES)}


class SecretFileError(RuntimeError):
    """The server secret file is unusable (readable by others, not ours, empty): refuse to start."""


def _read_secret(path: Path) -> bytes:
    st = os.stat(path, follow_symlinks=False)
    if not stat.S_ISREG(st.st_mode):
        raise SecretFileError(f"{path} is not a regular file; it must hold the server secret (mode 0600)")
    if st.st_uid != os.geteuid() or st.st_mode & 0o077:
        raise SecretFileError(f"{path} must be owned by this user and readable only by it (chmod 600 {path}); "
                              f"it is mode {stat.S_IMODE(st.st_mode):o}, owner uid {st.st_uid}")
    data = path.read_bytes().strip()
    if len(data) < 32:
        raise SecretFileError(f"{path} holds no usable server secret (at least 32 characters)")
    return data


def server_secret(settings: Settings) -> bytes:
    """The server secret of ``settings`` (its file created with mode 0600 when missing)."""
    path = Path(settings.secret_path)
    if not os.path.lexists(path):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, secrets.token_hex(32).encode())
        finally:
            os.close(fd)
        try:
            os.link(tmp, path)  # atomic and never overwrites: concurrent first starts agree on one secret
        except FileExistsError:
            pass
        finally:
            os.unlink(tmp)
    return _read_secret(path)


def hash_secret(key_id: str, secret: str, server_key: bytes) -> str:
    """HMAC-SHA256 of the token under the server secret (hex)."""
    return hmac.new(server_key, f"{key_id}:{secret}".encode(), hashlib.sha256).hexdigest()


def create_key(store, name: str, role: str, server_key: bytes) -> tuple[str, str]:
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
        "hash": hash_secret(key_id, secret, server_key),
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


def verify_token(store, token: str, server_key: bytes) -> dict | None:
    """The key document for a valid, unrevoked token, else None (a document hashed without the
    server secret, e.g. inserted by a process that can write to the store, never validates)."""
    if not token or "." not in token or len(token) > 200:
        return None
    key_id, _, secret = token.partition(".")
    if not key_id.startswith("ib_") or not secret:
        return None
    doc = store.api_keys.get(key_id)
    if doc is None or doc.get("revoked"):
        return None
    if not hmac.compare_digest(str(doc.get("hash", "")), hash_secret(key_id, secret, server_key)):
        return None
    return doc


def role_allows(role: str | None, needed: str) -> bool:
    return role in _RANK and _RANK[role] >= _RANK[needed]
