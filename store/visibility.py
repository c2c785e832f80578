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
the directory; a ``MONGODB_URI`` client, whatever host name it uses, asks the server for its host
and pid (``serverStatus``) and reads the pid's command line. A writer finds the token (and rewrites
it once) before it changes a state, and refuses the change when the server is nx-27017 but the
token cannot be found or written: a reader's cache must never outlive a change it was not told of.
With a real MongoDB server there is no token and the states are read for every read, as before.
"""

from __future__ import annotations

import itertools
import logging
import os
import platform
import threading
import time
from pathlib import Path

import pymongo
import pymongo.errors

from ionbase.errors import StoreUnavailable

log = logging.getLogger(__name__)

TOKEN_NAME = "batch-states.token"
_ATTR = "_ionbase_states_token"
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
        try:
            tmp.write_bytes(f"{time.time_ns()} {os.getpid()} {next(_counter)}".encode("ascii"))
            os.replace(tmp, self.path)
        finally:
            tmp.unlink(missing_ok=True)


def attach(client, token: StatesToken | None) -> None:
    """Record the token of the server ``client`` talks to (embedded stores know it up front)."""
    client.__dict__[_ATTR] = token


def token_for(client) -> StatesToken | None:
    """The token of ``client``'s server for a reader: None when there is none (not nx-27017, another
    machine) or the server cannot be asked now (then the reader asks for the states; asked again
    next time). A definite answer is remembered for the client's life."""
    try:
        return _lookup(client)
    except (pymongo.errors.PyMongoError, _NotLocatable):
        return None


def writer_token(db) -> StatesToken | None:
    """The token a batch-state writer must rewrite, found *before* it changes anything: None only for
    a server that is not nx-27017 (where no reader caches). StoreUnavailable when the server cannot
    be asked, or it is an nx-27017 server whose data folder cannot be found from here (a reader on
    its machine would cache states that this writer could not invalidate)."""
    try:
        token = _lookup(db.client)
    except pymongo.errors.PyMongoError as exc:
        raise StoreUnavailable(f"the store does not answer ({type(exc).__name__}); retry shortly") from exc
    except _NotLocatable as exc:
        raise StoreUnavailable(f"cannot change import batch states on this nx-27017 server: {exc}") from exc
    if token is not None:
        _bump(token)  # before the change too: an unwritable token fails here, before anything is written
    return token


def _lookup(client) -> StatesToken | None:
    """The attached token, or the one found now and attached (a failure raises and attaches nothing)."""
    if _ATTR not in client.__dict__:
        attach(client, _discover(client))
    return client.__dict__[_ATTR]


def states_changed(db, token: StatesToken | None = None) -> None:
    """Call after a write that changed a batch's state, before the batch's records are written
    (``token`` from :func:`writer_token`, looked up when not given)."""
    token = token if token is not None else writer_token(db)
    if token is not None:
        _bump(token)


def _bump(token: StatesToken) -> None:
    try:
        token.bump()
    except OSError as exc:
        raise StoreUnavailable(f"cannot rewrite the batch-states token {token.path} ({exc}); readers would "
                               "keep stale import batch states, so the change is refused") from exc


class _NotLocatable(Exception):
    """An nx-27017 server whose data folder this process cannot find."""


def _discover(client) -> StatesToken | None:
    """The token in the ``--data-dir`` of the nx-27017 server ``client`` talks to, found from the
    server's pid (``serverStatus``) and command line. None for any other server (a real MongoDB:
    ``buildInfo``); _NotLocatable for an nx-27017 server on another machine or in another pid
    namespace (its host name differs, or the pid is not that server: same program, same port)."""
    if not isinstance(client, pymongo.MongoClient):  # e.g. mongomock, the conformance oracle
        return None
    if client.admin.command("buildInfo").get("process") != "nx_27017":
        return None
    seeds = client._topology_settings.seeds
    if len(seeds) != 1:
        raise _NotLocatable(f"it is reached through several hosts {sorted(seeds)}")
    ((_host, port),) = seeds
    status = client.admin.command("serverStatus")
    if status.get("host") != platform.node() or not status.get("pid"):
        raise _NotLocatable(f"it runs on host {status.get('host')!r}, not on this one ({platform.node()!r})")
    directory = _data_dir_of(int(status["pid"]), port)
    if directory is None:
        raise _NotLocatable(f"its process {status['pid']} (port {port}) and data folder are not visible from here")
    return StatesToken(directory)


def _data_dir_of(pid: int, port: int) -> Path | None:
    """The data folder of the nx-27017 process ``pid`` listening on ``port``, from its command line."""
    try:
        args = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return None
    if not any("nx_27017" in a for a in args) or _flag(args, ("-p", "--port"), "27017") != str(port):
        return None
    folder = _flag(args, ("--data-dir",), None)
    db_file = _flag(args, ("--db",), None)
    if folder is None and db_file not in (None, "memory"):
        folder = str(Path(db_file).parent)
    if folder is None:
        return None
    directory = (Path(f"/proc/{pid}/cwd") / folder).resolve()  # an absolute path wins over the cwd
    return directory if directory.is_dir() else None


def _flag(args: list[str], names: tuple[str, ...], default: str | None) -> str | None:
    for i, a in enumerate(args[:-1]):
        if a in names:
            return args[i + 1]
    return default
