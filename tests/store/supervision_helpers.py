"""Helpers for the supervision tests: real processes on loopback, bounded waits, certain clean-up."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def env_for(data_dir: Path, db_name: str, **extra: str) -> dict:
    """The environment of an Ionbase process on ``data_dir`` running this worktree's code."""
    env = {**os.environ, "IONBASE_DATA_DIR": str(data_dir), "IONBASE_DB_NAME": db_name,
           "IONBASE_EMBEDDED_IDLE_EXIT_S": "3", "PYTHONPATH": str(REPO), **extra}
    env.pop("MONGODB_URI", None)
    env.pop("IONBASE_MONGODB_URI", None)
    return env


@dataclass
class Answer:
    status: int
    headers: dict
    body: dict | None
    seconds: float


def get(port: int, path: str, timeout: float = 10.0) -> Answer:
    """One GET on 127.0.0.1:``port``; status 0 when the connection itself failed."""
    start = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        raw = resp.read()
        try:
            body = json.loads(raw)
        except ValueError:
            body = None
        return Answer(resp.status, {k.lower(): v for k, v in resp.getheaders()}, body, time.monotonic() - start)
    except OSError:
        return Answer(0, {}, None, time.monotonic() - start)
    finally:
        conn.close()


def wait_for(predicate, timeout: float, interval: float = 0.1, what: str = "condition"):
    """Poll ``predicate`` until it returns a truthy value; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached within {timeout} s")
        time.sleep(interval)


def state(data_dir: Path) -> dict:
    try:
        return json.loads((data_dir / "embedded-store.json").read_text())
    except (OSError, ValueError):
        return {}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] == "Z":
            return False
    return True


class Processes:
    """Processes started by a test; all killed (with their process groups) at tear-down."""

    def __init__(self, data_dir: Path):
        self.data_dir = data_dir
        self.procs: list[subprocess.Popen] = []
        self.stopped: list[int] = []  # pids we SIGSTOPped, to SIGCONT whatever happens

    def start(self, args: list[str], env: dict, log_name: str) -> subprocess.Popen:
        log = open(self.data_dir / log_name, "ab")
        proc = subprocess.Popen([sys.executable, *args], env=env, cwd=str(REPO), stdout=log, stderr=subprocess.STDOUT,
                                stdin=subprocess.DEVNULL, start_new_session=True)
        log.close()
        self.procs.append(proc)
        return proc

    def output(self, log_name: str) -> str:
        with contextlib.suppress(OSError):
            return (self.data_dir / log_name).read_text(errors="replace")[-3000:]
        return ""

    def cleanup(self) -> None:
        for pid in self.stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        for proc in self.procs:
            if proc.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGTERM)
        for proc in self.procs:
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=5)
        from ionbase.store.embedded import EmbeddedServer

        EmbeddedServer(self.data_dir).shutdown()
