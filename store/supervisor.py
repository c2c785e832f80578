"""The supervisor of the embedded nx-27017 server of one data directory.

One supervisor process per data directory owns the server: it starts ``nx-27017`` as its child,
reaps it and restarts it on the same port when it exits (backoff 0.5 s doubling to 8 s, one log
line per exit), and stops it when no Ionbase process has used the store for ``--idle-exit``
seconds. It is started by the first Ionbase process that needs the store (``store.embedded``) and
detaches from it (its own session, re-parented to init), so the death of any client, even by
SIGKILL, does not take the store down for the others.

Files in the data directory:

* ``supervisor.lock``: held (flock, exclusive) by the supervisor for its whole life; free means
  no supervisor. The kernel releases it when the supervisor dies, whatever the signal.
* ``clients.lock``: every Ionbase process using the store holds a shared flock on it; the
  supervisor is idle when it can take it exclusively.
* ``embedded-store.json``: ``{supervisor_pid, pid, port, status, restarts, ...}`` written
  atomically; ``status`` is ``starting``, ``up``, ``restarting`` or ``stopped``.
* ``supervisor.log``: the supervisor's log; ``nx-27017.log`` / ``nx-27017.out``: the server's.

Only the standard library is imported here, so the supervisor stays small.
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import fcntl
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("ionbase.store.supervisor")

BACKOFF_S = (0.5, 1.0, 2.0, 4.0, 8.0)
STABLE_S = 30.0  # a run at least this long resets the backoff
READY_TIMEOUT_S = 30.0
PORT_FAILURES_BEFORE_MOVING = 3  # consecutive starts that never listened before a new port is chosen
POLL_S = 0.2

STATE_FILE = "embedded-store.json"
SUPERVISOR_LOCK = "supervisor.lock"
CLIENTS_LOCK = "clients.lock"


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_is_free(port: int) -> bool:
    """Whether a listening socket could bind ``port`` on 127.0.0.1 now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def owns_listener(pid: int, port: int) -> bool:
    """Whether process ``pid`` listens on 127.0.0.1:``port`` (Linux ``/proc``).

    A TCP connect alone would also succeed against another process squatting the port while our
    server failed to bind it; the supervisor must know that its own child listens.
    """
    table = Path("/proc/net/tcp")
    if not table.exists():  # not Linux: a TCP connect is the best check there is
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            return False
    inodes = set()
    with contextlib.suppress(OSError):
        for line in table.read_text().splitlines()[1:]:
            fields = line.split()
            local, st, inode = fields[1], fields[3], fields[9]
            if st == "0A" and local.upper() == f"0100007F:{port:04X}":
                inodes.add(f"socket:[{inode}]")
    if not inodes:
        return False
    fd_dir = Path(f"/proc/{pid}/fd")
    with contextlib.suppress(OSError):
        for fd in fd_dir.iterdir():
            with contextlib.suppress(OSError):
                if os.readlink(fd) in inodes:
                    return True
    return False


def read_state(data_dir: Path) -> dict | None:
    """The supervisor's state file, or None when absent or unreadable."""
    try:
        return json.loads((data_dir / STATE_FILE).read_text())
    except (OSError, ValueError):
        return None


def _write_state(data_dir: Path, state: dict) -> None:
    tmp = data_dir / f".{STATE_FILE}.{os.getpid()}"
    tmp.write_text(json.dumps(state))
    os.replace(tmp, data_dir / STATE_FILE)


def _die_with_parent() -> None:
    """In the nx-27017 child: get SIGTERM when the supervisor dies (Linux prctl PR_SET_PDEATHSIG)."""
    with contextlib.suppress(Exception):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


def _describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"signal {signal.Signals(-code).name}"
        return f"signal {-code}"
    return f"code {code}"


class Supervisor:
    """Runs, watches and restarts one nx-27017 server (see the module docstring)."""

    def __init__(self, data_dir: Path, idle_exit_s: float, port: int | None = None):
        self.data_dir = data_dir
        self.idle_exit_s = idle_exit_s
        self.port = port
        self.proc: subprocess.Popen | None = None
        self.restarts = 0
        self.stopping = False
        self._clients_fd: int | None = None

    # ------------------------------------------------------------------ life cycle

    def run(self) -> int:
        """Supervise until stopped or idle; 0 also when another supervisor already runs."""
        lock_fd = os.open(self.data_dir / SUPERVISOR_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        if not self._lock(lock_fd, fcntl.LOCK_EX, timeout_s=2.0):
            log.info("another supervisor holds %s; exiting", self.data_dir / SUPERVISOR_LOCK)
            return 0
        self._clients_fd = os.open(self.data_dir / CLIENTS_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        signal.signal(signal.SIGTERM, self._on_signal)
        signal.signal(signal.SIGINT, self._on_signal)
        self._stop_leftover_server()
        self.port = self._choose_port()
        try:
            self._loop()
        finally:
            self._stop_server()
            self.proc = None
            self._state("stopped")  # keeps the port: the next supervisor takes it again if it is free
            log.info("supervisor pid %s stopped", os.getpid())
            # release the supervisor lock before the clients lock: a client waiting on the
            # clients lock must then find no supervisor and start a new one
            os.close(lock_fd)
            os.close(self._clients_fd)
        return 0

    def _loop(self) -> None:
        failures, port_failures, idle_since = 0, 0, None
        while not self.stopping:
            started = time.monotonic()
            ready = self._start_server()
            while ready and not self.stopping and self.proc.poll() is None:
                idle_since = self._idle_since(idle_since)
                if self._idle_too_long(idle_since):
                    return
                time.sleep(POLL_S)
            idle_since = self._idle_since(idle_since)  # also while the server keeps failing to start
            if self.stopping or self._idle_too_long(idle_since):
                return
            code = self.proc.wait()
            ran = time.monotonic() - started
            failures = 0 if ran >= STABLE_S else failures + 1
            port_failures = port_failures + 1 if not ready else 0
            if port_failures >= PORT_FAILURES_BEFORE_MOVING:
                old, self.port, port_failures = self.port, free_port(), 0
                log.warning("port %s could not be used %d times; moving to port %s", old, PORT_FAILURES_BEFORE_MOVING, self.port)
            delay = BACKOFF_S[min(max(failures - 1, 0), len(BACKOFF_S) - 1)]
            self.restarts += 1
            log.warning("nx-27017 pid %s on port %s exited (%s) after %.1f s; restart %d in %.1f s",
                        self.proc.pid, self.port, _describe_exit(code), ran, self.restarts, delay)
            self._state("restarting")
            self._sleep(delay)

    def _idle_too_long(self, idle_since: float | None) -> bool:
        """Idle for ``idle_exit_s``: take ``clients.lock`` for good, so no client registers while we stop."""
        if idle_since is None or time.monotonic() - idle_since < self.idle_exit_s:
            return False
        try:
            fcntl.flock(self._clients_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # released when we exit
        except BlockingIOError:  # a client came just now
            return False
        log.info("no Ionbase process has used the store for %.0f s; stopping", self.idle_exit_s)
        return True

    def _on_signal(self, signum, frame) -> None:
        self.stopping = True

    def _sleep(self, seconds: float) -> None:
        end = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < end:
            time.sleep(min(POLL_S, max(end - time.monotonic(), 0)))

    # ------------------------------------------------------------------ the server

    def _start_server(self) -> bool:
        """Start nx-27017 on ``self.port``; True once it listens, False if it exited or never listened."""
        pid_file = self.data_dir / "nx-27017.pid"
        with contextlib.suppress(OSError):
            pid_file.unlink()  # our previous child is reaped: its pid file is stale ("already running")
        (self.data_dir / "mongo").mkdir(parents=True, exist_ok=True)
        cmd = [
            sys.executable, "-c", "from nx_27017.nx_27017 import main; main()",
            "--data-dir", str(self.data_dir / "mongo"), "--host", "127.0.0.1", "-p", str(self.port),
            "--log-file", str(self.data_dir / "nx-27017.log"), "--pid-file", str(pid_file),
        ]
        with open(self.data_dir / "nx-27017.out", "ab") as out:
            self.proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                         preexec_fn=_die_with_parent)
        self._state("starting")
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline and not self.stopping:
            if self.proc.poll() is not None:
                return False
            if owns_listener(self.proc.pid, self.port):
                self._state("up")
                log.info("nx-27017 pid %s listening on port %s", self.proc.pid, self.port)
                return True
            time.sleep(0.05)
        if not self.stopping:
            log.error("nx-27017 pid %s did not listen on port %s within %.0f s; killing it", self.proc.pid, self.port, READY_TIMEOUT_S)
            self.proc.kill()
        return False

    def _stop_server(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)

    def _stop_leftover_server(self) -> None:
        """A server left by a supervisor that died (it should have followed it): stop it."""
        state = read_state(self.data_dir) or {}
        pid = state.get("pid")
        if pid and "nx_27017" in _cmdline(pid) and str(self.data_dir / "mongo") in _cmdline(pid):
            log.warning("stopping nx-27017 pid %s left by a previous supervisor", pid)
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)
            for _ in range(100):
                if not _cmdline(pid):
                    break
                time.sleep(0.1)
            else:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)

    def _choose_port(self) -> int:
        """The requested port, else the previous one (clients keep their URI), else a free one."""
        previous = (read_state(self.data_dir) or {}).get("port")
        for port in (self.port, previous):
            if port and port_is_free(port):
                return int(port)
        return free_port()

    def _state(self, status: str) -> None:
        _write_state(self.data_dir, {
            "supervisor_pid": None if status == "stopped" else os.getpid(),
            "pid": self.proc.pid if self.proc else None, "port": self.port,
            "status": status, "restarts": self.restarts, "updated_at": time.time(),
        })

    # ------------------------------------------------------------------ clients

    def _idle_since(self, since: float | None) -> float | None:
        """When the store became unused (no client holds ``clients.lock``), or None while used."""
        try:
            fcntl.flock(self._clients_fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        fcntl.flock(self._clients_fd, fcntl.LOCK_UN)
        return since if since is not None else time.monotonic()

    @staticmethod
    def _lock(fd: int, mode: int, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        while True:
            try:
                fcntl.flock(fd, mode | fcntl.LOCK_NB)
                return True
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    return False
                time.sleep(0.05)


def main(argv: list[str] | None = None) -> int:
    """``python -c 'from ionbase.store.supervisor import main; main()' --data-dir D [--idle-exit S] [--port P]``."""
    parser = argparse.ArgumentParser(prog="ionbase-store-supervisor")
    parser.add_argument("--data-dir", required=True, type=Path)
    parser.add_argument("--idle-exit", type=float, default=15.0, help="stop after this many seconds without clients")
    parser.add_argument("--port", type=int, default=None)
    parser.add_argument("--foreground", action="store_true", help="do not detach (for debugging)")
    args = parser.parse_args(argv)
    if not args.foreground and os.fork() > 0:
        os._exit(0)  # the caller reaps this parent at once; the supervisor is re-parented to init
    logging.basicConfig(filename=args.data_dir / "supervisor.log", level=logging.INFO,
                        format="%(asctime)s %(levelname)s [%(process)d] %(message)s")
    log.info("supervisor pid %s for %s", os.getpid(), args.data_dir)
    return Supervisor(args.data_dir.resolve(), args.idle_exit, args.port).run()


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
