"""The embedded default store: an ``nx-27017`` server (MongoDB wire protocol on SQLite).

The server is owned by a supervisor process (``store.supervisor``), one per data directory,
which restarts it on the same port when it exits and stops it once no Ionbase process has used it
for ``idle_exit_s`` seconds. An Ionbase process (CLI command, ``serve``, gunicorn master or worker)
is only a client: :meth:`EmbeddedServer.ensure_running` registers it (a shared lock on
``clients.lock``, released by the kernel however the process dies), starts the supervisor when
none runs, and waits until the server listens. No client's death, even by SIGKILL, stops the
store for the others.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import ionbase
from ionbase.store.supervisor import CLIENTS_LOCK, SUPERVISOR_LOCK, read_state

log = logging.getLogger(__name__)

NX_PACKAGE_VERSION = "0.8.1"  # pinned in pyproject.toml
DEFAULT_IDLE_EXIT_S = 15.0
_CODE_ROOT = Path(ionbase.__file__).resolve().parents[1]  # the directory holding the ``ionbase`` package


class EmbeddedStoreError(RuntimeError):
    """The embedded server could not be started or reached."""


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


def supervisor_running(data_dir: Path) -> bool:
    """Whether a supervisor holds ``supervisor.lock`` of ``data_dir`` (checked with a non-blocking flock)."""
    path = data_dir / SUPERVISOR_LOCK
    if not path.exists():
        return False
    fd = os.open(path, os.O_RDWR)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)  # also drops the lock if we got it
    return False


@dataclass
class EmbeddedServer:
    """A client's handle on the supervised nx-27017 server of one data directory."""

    data_dir: Path
    idle_exit_s: float = DEFAULT_IDLE_EXIT_S
    port: int | None = None
    pid: int | None = None
    _hold: int | None = field(default=None, repr=False)
    _revive: threading.Thread | None = field(default=None, repr=False)

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
        """Register this process as a client, start the supervisor if needed, wait for the server; its URI."""
        self.mongo_dir.mkdir(parents=True, exist_ok=True)
        self._hold_clients_lock(timeout_s)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if not supervisor_running(self.data_dir):
                self._spawn_supervisor()
            state = read_state(self.data_dir) or {}
            if state.get("status") == "up" and _ping(state["port"], 500):
                self.port, self.pid = state["port"], state["pid"]
                log.info("embedded store pid %s on port %s (supervisor pid %s)", self.pid, self.port, state.get("supervisor_pid"))
                return self.uri
            time.sleep(0.1)
        raise EmbeddedStoreError(
            f"the embedded store in {self.data_dir} did not answer within {timeout_s:.0f} s; "
            f"see {self.data_dir / 'supervisor.log'} and {self.data_dir / 'nx-27017.out'}"
        )

    def attach(self, timeout_s: float = 30.0) -> str:
        """Like :meth:`ensure_running`, but when a supervisor already runs, return its port at once,
        even while it restarts the server (a gunicorn worker must boot and answer 503, not wait)."""
        state = self.current()
        if state.get("port") and supervisor_running(self.data_dir):
            self._hold_clients_lock(timeout_s)
            self.port, self.pid = state["port"], state.get("pid")
            return self.uri
        return self.ensure_running(timeout_s)

    def current(self) -> dict:
        """The supervisor's state now: ``{supervisor_pid, pid, port, status, restarts}`` (empty when none)."""
        return read_state(self.data_dir) or {}

    def revive_in_background(self) -> None:
        """Start a supervisor again if it is gone (it died itself); never blocks the caller."""
        if self._revive is not None and self._revive.is_alive():
            return
        if supervisor_running(self.data_dir):
            return

        def revive() -> None:
            with contextlib.suppress(EmbeddedStoreError):
                self.ensure_running()

        self._revive = threading.Thread(target=revive, name="ionbase-embedded-revive", daemon=True)
        self._revive.start()

    def stop(self) -> None:
        """This process stops using the store; the supervisor stops it after ``idle_exit_s`` without clients."""
        if self._hold is not None:
            os.close(self._hold)
            self._hold = None

    def shutdown(self, timeout_s: float = 20.0) -> None:
        """Stop the supervisor and its server now, whoever else uses them (tests, ``ionbase db stop``)."""
        self.stop()
        state = self.current()
        pid = state.get("supervisor_pid")
        if pid and supervisor_running(self.data_dir):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while supervisor_running(self.data_dir) or pid_alive(pid):
            if time.monotonic() > deadline:
                raise EmbeddedStoreError(f"the supervisor pid {pid} of {self.data_dir} did not stop within {timeout_s:.0f} s")
            time.sleep(0.05)

    # ------------------------------------------------------------------ internals

    def _hold_clients_lock(self, timeout_s: float) -> None:
        """A shared flock on ``clients.lock`` for this process's life (the supervisor's idle test)."""
        if self._hold is not None:
            return
        fd = os.open(self.data_dir / CLIENTS_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
                break
            except BlockingIOError:  # a supervisor is shutting down: it releases the lock when done
                if time.monotonic() > deadline:
                    os.close(fd)
                    raise EmbeddedStoreError(f"{self.data_dir / CLIENTS_LOCK} stayed locked for {timeout_s:.0f} s") from None
                time.sleep(0.05)
        os.set_inheritable(fd, False)
        self._hold = fd

    def _spawn_supervisor(self) -> None:
        """Start ``ionbase.store.supervisor`` detached (its own session; it forks and re-parents to init)."""
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(_CODE_ROOT), os.environ.get("PYTHONPATH")]))}
        cmd = [sys.executable, "-c", "import sys; from ionbase.store.supervisor import main; sys.exit(main())",
               "--data-dir", str(self.data_dir.resolve()), "--idle-exit", str(self.idle_exit_s)]
        with open(self.data_dir / "supervisor.out", "ab") as out:
            proc = subprocess.Popen(cmd, env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT,
                                    start_new_session=True, cwd=str(self.data_dir))
        try:
            proc.wait(timeout=30)  # the launcher exits as soon as it has forked the supervisor
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise EmbeddedStoreError(f"the store supervisor for {self.data_dir} did not start; see {self.data_dir / 'supervisor.out'}") from None
        if proc.returncode:
            raise EmbeddedStoreError(f"the store supervisor exited with code {proc.returncode}; see {self.data_dir / 'supervisor.out'}")
        # wait until the supervisor holds its lock, so the caller's next check sees it
        deadline = time.monotonic() + 5
        while not supervisor_running(self.data_dir) and time.monotonic() < deadline:
            time.sleep(0.02)
