"""Upload folders of ``POST /api/v1/imports``, owned by the process that made them.

An upload is saved under ``$IONBASE_DATA_DIR/uploads/`` in a folder named ``<pid>@<host>.<random>``
and removed when the request ends. A process killed during the request (kill -9, a recycled
worker) cannot remove it, so :func:`clean_stale_uploads` (``ionbase import recover`` and ``serve``
start-up) removes the folders whose owner is gone: same host and its pid no longer alive
(``store.embedded.pid_alive``). Folders of other hosts (a data directory shared between machines)
are left to those hosts.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import tempfile
from pathlib import Path
from typing import Iterator

from ionbase.store.embedded import pid_alive

UPLOADS_DIR = "uploads"


def uploads_root(data_dir: Path) -> Path:
    return Path(data_dir) / UPLOADS_DIR


@contextlib.contextmanager
def upload_folder(data_dir: Path) -> Iterator[Path]:
    """A fresh folder for one upload, named after this process, removed on the way out."""
    root = uploads_root(data_dir)
    root.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}@{socket.gethostname()}.", dir=root))
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def owner(folder: Path) -> tuple[int, str] | None:
    """(pid, host) from an upload folder's name, or None when the name is not one of ours."""
    pid, sep, rest = folder.name.partition("@")
    host, dot, _random = rest.rpartition(".")
    if not sep or not dot or not pid.isdigit() or not host:
        return None
    return int(pid), host


def clean_stale_uploads(data_dir: Path) -> list[dict]:
    """Remove the upload folders of dead processes of this host; returns what was removed."""
    root = uploads_root(data_dir)
    if not root.is_dir():
        return []
    here = socket.gethostname()
    done = []
    for folder in sorted(root.iterdir()):
        who = owner(folder) if folder.is_dir() else None
        if who is None or who[1] != here or pid_alive(who[0]):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        done.append({"upload": folder.name, "action": f"removed (process {who[0]} is gone)"})
    return done
