"""The embedded default store: an ``nx-27017`` server (MongoDB wire protocol on SQLite).

Ionbase runs it as a child process on 127.0.0.1 on a free port, with its data in
``<data_dir>/mongo/``. A state file records the pid and port so that a second Ionbase process
reuses the running server instead of starting a rival on the same files. The process that started
the server stops it when it exits.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger(__name__)

NX_PACKAGE_VERSION = "0.8.1"  # pinned in pyproject.toml


class EmbeddedStoreError(RuntimeError):
    """The embedded server could not be started or reached."""


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def pid_alive(pid: int | None) -> bool:
    """Whether a process exists (a zombie counts as gone)."""
    if not pid:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child still "exists"; treat it as dead
    with contextlib.suppress(Exception):
        stat = Path(f"/proc/{pid}/stat").read_text()
        if stat.split(")")[-1].split()[0] == "Z":
            return False
    return True


def _ping(port: int, timeout_ms: int = 1500) -> bool:
    import pymongo

    try:
        client = pymongo.MongoClient(
            "127.0.0.1", port, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms
        )
        try:
            client.admin.command("ping")
            return True
        finally:
            client.close()
    except Exception:
        return False


@dataclass
class EmbeddedServer:
    """Handle on the embedded nx-27017 server for one data directory."""

    data_dir: Path
    port: int | None = None
    pid: int | None = None
    owner: bool = False
    _proc: subprocess.Popen | None = None

    @property
    def mongo_dir(self) -> Path:
        return self.data_dir / "mongo"

    @property
    def state_file(self) -> Path:
        return self.data_dir / "embedded-store.json"

    @property
    def uri(self) -> str:
        return f"mongodb://127.0.0.1:{self.port}"

    def ensure_running(self, timeout_s: float = 30.0) -> str:
        """Reuse a live server for this data directory or start one; return its URI."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.mongo_dir.mkdir(parents=True, exist_ok=True)
        lock_path = self.data_dir / "embedded-store.lock"
        with open(lock_path, "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                state = self._read_state()
                if state and pid_alive(state["pid"]) and _ping(state["port"]):
                    self.port, self.pid, self.owner = state["port"], state["pid"], False
                    log.info("reusing embedded store pid %s on port %s", self.pid, self.port)
                    return self.uri
                self._start(timeout_s)
                return self.uri
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def _read_state(self) -> dict | None:
        try:
            return json.loads(self.state_file.read_text())
        except (OSError, ValueError):
            return None

    def _start(self, timeout_s: float) -> None:
        port = _free_port()
        cmd = [
            sys.executable, "-c", "from nx_27017.nx_27017 import main; main()",
            "--data-dir", str(self.mongo_dir),
            "--host", "127.0.0.1",
            "-p", str(port),
            "--log-file", str(self.data_dir / "nx-27017.log"),
            "--pid-file", str(self.data_dir / "nx-27017.pid"),
        ]
        logfile = open(self.data_dir / "nx-27017.out", "ab")
        self._proc = subprocess.Popen(
            cmd, stdout=logfile, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        logfile.close()
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise EmbeddedStoreError(
                    f"nx-27017 exited with code {self._proc.returncode}; see {self.data_dir / 'nx-27017.out'}"
                )
            if _ping(port, 500):
                break
            time.sleep(0.1)
        else:
            self._proc.kill()
            raise EmbeddedStoreError(f"nx-27017 did not answer on port {port} within {timeout_s} s")
        self.port, self.pid, self.owner = port, self._proc.pid, True
        self.state_file.write_text(json.dumps({"pid": self.pid, "port": port, "started_at": time.time()}))
        atexit.register(self.stop)
        log.info("started embedded store pid %s on port %s (data in %s)", self.pid, port, self.mongo_dir)

    def stop(self) -> None:
        """Stop the server if this process started it; remove the state file."""
        if not self.owner or self.pid is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)
        if self._proc is not None:
            try:
                self._proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._proc.kill()
                self._proc.wait(timeout=5)
        state = self._read_state()
        if state and state.get("pid") == self.pid:
            with contextlib.suppress(OSError):
                self.state_file.unlink()
        self.owner = False
        self.pid = None
