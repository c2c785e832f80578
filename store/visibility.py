"""Batch visibility without a round trip per read: a token file that every batch-state change bumps.

Every read hides the records of uncommitted import batches, so it must know the batch states. Asking
the store costs one round trip per read (about the price of the query itself on a selective API page:
bench/bench_api.py). Instead, the states are cached per :class:`~ionbase.store.Store` together with a
**token**: the content of a small file beside the embedded server's data, rewritten (``os.replace``)
by every write that changes a batch's state. A reader compares the file with the token it cached: the
same content means no state changed since, so the cached states are current; another content means
it reads the states again. Reading the file costs microseconds, not a round trip.

The protocol, which keeps "a reader sees a batch whole or not at all":

* writers (``store.batches.start_batch``, ``store.claims.write_batch``: the only code that changes a
  batch's state, tests/test_data_access.py keeps raw access inside store/) change the state, then
  bump the token, and only then write the batch's records or apply its changes;
* a reader reads the token, then (if it changed) the states, then queries; a read that returns whole
  (a page, a count, one document) reads the token again afterwards and starts over if it moved, so
  it never returns a result that a state change overlapped. A streamed ``find`` checks before only,
  as the round-trip read did (the states were read just before the query then too).

The token file lives in the nx-27017 server's ``--data-dir`` (the embedded default's ``<data
dir>/mongo``), so every process that reaches that server finds the same file: an embedded store knows
the directory; a ``MONGODB_URI`` client asks the server for its pid (``serverStatus``) and reads its
command line, on loopback only. Where there is no such file (a real MongoDB server, another host) the
states are read for every read, as before.
"""

from __future__ import annotations

import itertools
import logging
import os
import threading
import time
from pathlib import Path

import pymongo
import pymongo.errors

log = logging.getLogger(__name__)

TOKEN_NAME = "batch-states.token"
_ATTR = "_ionbase_states_token"
_LOOPBACK = ("127.0.0.1", "localhost", "::1")
_counter = itertools.count()


class StatesToken:
    """The token file of one nx-27017 data directory."""

    def __init__(self, directory: Path) -> None:
        self.path = Path(directory) / TOKEN_NAME

    def __repr__(self) -> str:
        return f"StatesToken({str(self.path)!r})"

    def read(self) -> str | None:
        """The current token ("" until the first bump); None when the file cannot be read (then the
        reader asks the store for the states, as without a token)."""
        try:
            with open(self.path, "rb") as fh:
                return fh.read().decode("ascii", "replace")
        except FileNotFoundError:
            return ""
        except OSError as exc:
            log.warning("cannot read %s (%s): batch states are read from the store for every read", self.path, exc)
            return None

    def bump(self) -> None:
        """Give the file a new, never repeated content (atomically: write aside, then rename).
        OSError propagates: a state change that readers' caches would not notice must not pass."""
        tmp = self.path.with_name(f".{TOKEN_NAME}.{os.getpid()}.{threading.get_ident()}")
        tmp.write_bytes(f"{time.time_ns()} {os.getpid()} {next(_counter)}".encode("ascii"))
        os.replace(tmp, self.path)


def attach(client, token: StatesToken | None) -> None:
    """Record the token of the server ``client`` talks to (embedded stores know it up front)."""
    client.__dict__[_ATTR] = token


def token_for(client) -> StatesToken | None:
    """The token of ``client``'s server: attached, or found once (nx-27017 on loopback) and attached."""
    if _ATTR not in client.__dict__:
        attach(client, _discover(client))
    return client.__dict__[_ATTR]


def states_changed(db) -> None:
    """Call after a write that changed a batch's state, before the batch's records are written."""
    token = token_for(db.client)
    if token is not None:
        token.bump()


def _discover(client) -> StatesToken | None:
    """The ``--data-dir`` of an nx-27017 server on this machine, from its command line; else None."""
    if not isinstance(client, pymongo.MongoClient):  # e.g. mongomock, the conformance oracle
        return None
    seeds = client._topology_settings.seeds
    if not seeds or any(host not in _LOOPBACK for host, _port in seeds):
        return None
    try:
        status = client.admin.command("serverStatus")
    except pymongo.errors.PyMongoError as exc:
        log.debug("no batch-states token for %r: %s", seeds, exc)
        return None
    if status.get("process") != "nx_27017" or not status.get("pid"):
        return None
    directory = _data_dir_of(int(status["pid"]))
    return StatesToken(directory) if directory is not None else None


def _data_dir_of(pid: int) -> Path | None:
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    for flag, parent in (("--data-dir", False), ("--db", True)):
        if flag in args[:-1] and args[args.index(flag) + 1] != "memory":
            directory = Path(f"/proc/{pid}/cwd") / args[args.index(flag) + 1]  # an absolute path wins
            directory = (directory.parent if parent else directory).resolve()
            return directory if directory.is_dir() else None
    return None
