"""The supervised embedded store under real processes (issue 13, points 3 and 5).

kill -9 of nx-27017 under ``python -m ionbase serve`` and under gunicorn with 2 workers (also with
workers recycled, gracefully and by SIGKILL, while the store is down): every request answers 503
with ``Retry-After`` within 1 s while it is down, the API is healthy again within 30 s without a
restart, and the documents counted before are all there after. SIGKILL of the client process
that started the store (an ``ionbase import`` in progress, with its whole process group) leaves
the store running for another client.

To see the down window for certain, the supervisor is paused (SIGSTOP) before the server is
killed and resumed (SIGCONT) after the 503s are checked; a second kill without pausing checks
the natural restart path.
"""

from __future__ import annotations

import os
import signal
import sys
import time
from pathlib import Path

import pymongo
import pytest

from tests.store.supervision_helpers import Processes, alive, env_for, free_port, get, state, wait_for

pytestmark = [
    pytest.mark.skipif(bool(os.environ.get("MONGODB_URI")), reason="embedded store only"),
    pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process supervision is tested on Linux"),
    pytest.mark.timeout(300),
]

REPO = Path(__file__).resolve().parents[2]
SEED_FILE = REPO / "seed_data" / "nainzrcl6_jmca_2024.yaml"
SAMPLES = "/api/v1/samples?page_limit=1000"
COLLECTIONS = ("samples", "properties", "measurements", "import_batches")


@pytest.fixture()
def procs(tmp_path):
    p = Processes(tmp_path)
    try:
        yield p
    finally:
        p.cleanup()


def _seed(data_dir: Path, db_name: str) -> None:
    """Import one seed paper into ``db_name`` from this process (which then stops using the store)."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.settings import Settings
    from ionbase.store import open_store

    st = open_store(Settings(data_dir=data_dir, db_name=db_name))
    try:
        report = Importer(st, ImportOptions(progress=False)).run([SEED_FILE])
        assert report.status == "committed"
    finally:
        st.close()


def _counts(data_dir: Path, db_name: str) -> dict:
    """Documents per collection, read with raw pymongo from the server's current port."""
    client = pymongo.MongoClient("127.0.0.1", state(data_dir)["port"], serverSelectionTimeoutMS=5000)
    try:
        return {c: client[db_name][c].count_documents({}) for c in COLLECTIONS}
    finally:
        client.close()


def _children(pid: int) -> set[int]:
    out = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            if int(stat.split(")")[-1].split()[1]) == pid:
                out.add(int(entry.name))
    return out


def _descendants(pid: int) -> set[int]:
    found, todo = set(), [pid]
    while todo:
        for child in _children(todo.pop()):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _check_down(port: int, n: int = 4) -> list[float]:
    """``n`` data requests and one health request: each 503 with Retry-After within 1 s."""
    seconds = []
    for path in [SAMPLES] * n + ["/api/v1/health"]:
        a = get(port, path)
        assert a.status == 503, (path, a.status, a.body)
        assert a.seconds < 1.0, (path, a.seconds)
        assert int(a.headers["retry-after"]) > 0
        assert a.body["code"] == 503 and "store does not answer" in a.body["message"]
        seconds.append(round(a.seconds, 3))
    return seconds


def _kill_store_paused(data_dir: Path, procs: Processes) -> tuple[int, int]:
    """Pause the supervisor, SIGKILL the server; return (supervisor pid, killed server pid)."""
    st = state(data_dir)
    sup, nx = st["supervisor_pid"], st["pid"]
    os.kill(sup, signal.SIGSTOP)
    procs.stopped.append(sup)
    os.kill(nx, signal.SIGKILL)
    return sup, nx


def _resume_and_wait(data_dir: Path, api_port: int, sup: int, store_port: int) -> float:
    """SIGCONT the supervisor; seconds until the data endpoint answers 200 again (at most 30)."""
    os.kill(sup, signal.SIGCONT)
    t0 = time.monotonic()
    wait_for(lambda: get(api_port, SAMPLES).status == 200, 30, 0.1, "200 after the store restarted")
    back = time.monotonic() - t0
    st = state(data_dir)
    assert st["supervisor_pid"] == sup and st["port"] == store_port, st
    return back


def _kill_store_natural(data_dir: Path, api_port: int) -> tuple[float, set]:
    """SIGKILL the server and poll: every answer is 200, or 503 with Retry-After within 1 s; back within 30 s."""
    nx = state(data_dir)["pid"]
    os.kill(nx, signal.SIGKILL)
    t0, seen = time.monotonic(), set()
    while True:
        a = get(api_port, SAMPLES)
        seen.add(a.status)
        if a.status == 503:
            assert a.seconds < 1.0 and int(a.headers["retry-after"]) > 0, (a.seconds, a.headers)
        else:
            assert a.status == 200, (a.status, a.body)
            if time.monotonic() - t0 > 0.2 and state(data_dir).get("pid") not in (None, nx):
                return time.monotonic() - t0, seen
        assert time.monotonic() - t0 < 30, "not healthy again within 30 s"
        time.sleep(0.05)


def test_store_killed_under_serve_comes_back(tmp_path, procs):
    _seed(tmp_path, "sup_serve")
    api_port = free_port()
    serve = procs.start(["-m", "ionbase", "serve", "--port", str(api_port)], env_for(tmp_path, "sup_serve"), "serve.out")
    wait_for(lambda: get(api_port, "/api/v1/health").status == 200 or serve.poll() is not None, 90, 0.2, "serve up")
    assert serve.poll() is None, procs.output("serve.out")
    before = _counts(tmp_path, "sup_serve")
    listed = len(get(api_port, SAMPLES).body["data"])
    assert before["samples"] > 0 and listed == before["samples"]
    store_port = state(tmp_path)["port"]

    sup, nx = _kill_store_paused(tmp_path, procs)
    down = _check_down(api_port)
    back = _resume_and_wait(tmp_path, api_port, sup, store_port)
    natural, seen = _kill_store_natural(tmp_path, api_port)

    assert serve.poll() is None, "the API process was not restarted"
    assert _counts(tmp_path, "sup_serve") == before
    assert len(get(api_port, SAMPLES).body["data"]) == listed
    log = (tmp_path / "supervisor.log").read_text()
    assert f"nx-27017 pid {nx} on port {store_port} exited (signal SIGKILL)" in log and "restart 1 in" in log
    assert state(tmp_path)["restarts"] == 2
    print(f"serve: 503 in {down} s; back {back:.2f} s after resume; natural restart {natural:.2f} s, statuses {sorted(seen)}")


@pytest.mark.slow  # about 20 s each on a loaded 2-core machine; runs in the default suite
@pytest.mark.parametrize("config", ["shipped", "none"])
def test_store_killed_under_gunicorn_with_recycled_workers(tmp_path, procs, config):
    """With the shipped config the master holds the store; without it the first worker started it:
    either way recycling every worker leaves the store running, and a killed store comes back."""
    _seed(tmp_path, "sup_gunicorn")
    api_port = free_port()
    how = ["-c", "python:ionbase.service.gunicorn_conf"] if config == "shipped" else ["ionbase.service.wsgi:create_wsgi_app()"]
    master = procs.start(["-m", "gunicorn", *how, "-w", "2", "-b", f"127.0.0.1:{api_port}", "--graceful-timeout", "5"],
                         env_for(tmp_path, "sup_gunicorn"), "gunicorn.out")
    wait_for(lambda: get(api_port, "/api/v1/health").status == 200 or master.poll() is not None, 120, 0.2, "gunicorn up")
    assert master.poll() is None, procs.output("gunicorn.out")
    before = _counts(tmp_path, "sup_gunicorn")
    store_port, nx_before = state(tmp_path)["port"], state(tmp_path)["pid"]
    workers = wait_for(lambda: len(_children(master.pid)) == 2 and _children(master.pid), 60, 0.2, "2 workers")

    # recycle both workers with the store up: one gracefully (what max_requests does), one by SIGKILL
    first, second = sorted(workers)
    os.kill(first, signal.SIGTERM)
    os.kill(second, signal.SIGKILL)
    workers = wait_for(lambda: (w := _children(master.pid)) and len(w) == 2 and not w & {first, second} and w, 60, 0.2,
                       "2 new workers")
    wait_for(lambda: all(get(api_port, SAMPLES).status == 200 for _ in range(4)), 60, 0.2, "new workers serve")
    assert state(tmp_path)["pid"] == nx_before and state(tmp_path)["restarts"] == 0, "recycling workers never stopped the store"

    # the store dies; while it is down a worker is recycled: the new one boots and answers 503 too
    sup, nx = _kill_store_paused(tmp_path, procs)
    down = _check_down(api_port)
    recycled = min(workers)
    os.kill(recycled, signal.SIGTERM)
    wait_for(lambda: (w := _children(master.pid)) and len(w) == 2 and recycled not in w, 60, 0.2, "replacement worker")
    time.sleep(1.0)
    down += _check_down(api_port, n=8)
    back = _resume_and_wait(tmp_path, api_port, sup, store_port)
    assert all(get(api_port, SAMPLES).status == 200 for _ in range(10))
    natural, seen = _kill_store_natural(tmp_path, api_port)
    assert all(get(api_port, SAMPLES).status == 200 for _ in range(10))

    assert master.poll() is None, "gunicorn was not restarted"
    assert _counts(tmp_path, "sup_gunicorn") == before
    print(f"gunicorn ({config} config): 503 in {down} s; back {back:.2f} s after resume; natural restart {natural:.2f} s, statuses {sorted(seen)}")


def test_sigkill_of_the_client_that_started_the_store_spares_the_others(tmp_path, procs):
    from bench.bench_ingest import generate

    folder = tmp_path / "bulk"
    folder.mkdir()
    generate(folder, 20_000)
    env = env_for(tmp_path, "sup_clients")
    importer = procs.start(["-m", "ionbase", "import", str(folder), "--no-analyze", "--quiet"], env, "import.out")

    def pending_batch():
        st = state(tmp_path)
        if st.get("status") != "up":
            return None
        client = pymongo.MongoClient("127.0.0.1", st["port"], serverSelectionTimeoutMS=2000)
        try:
            return client["sup_clients"].import_batches.find_one({"status": "pending"})
        finally:
            client.close()

    wait_for(lambda: pending_batch() or importer.poll() is not None, 120, 0.3, "import writing")
    assert importer.poll() is None, "the import finished before it could be killed: " + procs.output("import.out")
    sup, nx = state(tmp_path)["supervisor_pid"], state(tmp_path)["pid"]
    assert importer.pid not in (sup, nx) and sup not in _children(importer.pid), "the supervisor is not the importer's child"

    api_port = free_port()
    serve = procs.start(["-m", "ionbase", "serve", "--port", str(api_port)], env, "serve.out")
    wait_for(lambda: get(api_port, "/api/v1/health").status == 200 or serve.poll() is not None, 90, 0.2, "serve up")
    assert serve.poll() is None, procs.output("serve.out")

    # the importer, every process it started (recursively) and its process group, as a harness or
    # an OOM kill of the tree would: the supervisor is none of them
    tree = _descendants(importer.pid)
    assert not tree & {sup, nx}, "the store is not in the importer's process tree"
    for pid in tree:
        os.kill(pid, signal.SIGKILL)
    os.killpg(importer.pid, signal.SIGKILL)
    importer.wait(timeout=10)
    assert importer.returncode == -signal.SIGKILL
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        health = get(api_port, "/api/v1/health")
        assert health.status == 200, health.body
        assert get(api_port, SAMPLES).status == 200
        time.sleep(0.2)
    st = state(tmp_path)
    assert alive(sup) and alive(nx) and st["pid"] == nx and st["restarts"] == 0, st


def test_the_client_that_started_the_store_may_exit_while_another_uses_it(tmp_path, procs):
    from ionbase.settings import Settings
    from ionbase.store import open_store

    st = open_store(Settings(data_dir=tmp_path, db_name="starter", embedded_idle_exit_s=0.5))  # starts it
    api_port = free_port()
    serve = procs.start(["-m", "ionbase", "serve", "--port", str(api_port)],
                        env_for(tmp_path, "starter", IONBASE_EMBEDDED_IDLE_EXIT_S="0.5"), "serve.out")
    try:
        wait_for(lambda: get(api_port, "/api/v1/health").status == 200 or serve.poll() is not None, 90, 0.2, "serve up")
        assert serve.poll() is None, procs.output("serve.out")
        nx = state(tmp_path)["pid"]
    finally:
        st.close()  # the starter leaves normally
    time.sleep(2.0)  # four times the idle grace
    assert get(api_port, "/api/v1/health").status == 200 and get(api_port, SAMPLES).status == 200
    assert state(tmp_path)["pid"] == nx and alive(nx)


# ---------------------------------------------------------------- in-process, a few seconds each


def test_stale_nx_pid_file_does_not_block_a_start(tmp_path):
    """nx-27017 refuses to start while its pid file names a live process ("already running (PID n)");
    the supervisor owns that file and clears it before every start."""
    from ionbase.store.embedded import EmbeddedServer

    (tmp_path / "nx-27017.pid").write_text(str(os.getpid()))  # alive, and not an nx-27017
    server = EmbeddedServer(tmp_path)
    try:
        uri = server.ensure_running(timeout_s=30)
        client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
        assert client.admin.command("ping")["ok"] == 1
        client.close()
    finally:
        server.shutdown()


def test_restarts_back_off_and_are_logged_in_one_line(tmp_path):
    from ionbase.store.embedded import EmbeddedServer

    server = EmbeddedServer(tmp_path)
    try:
        server.ensure_running()
        port = server.port
        killed = []
        for attempt in (1, 2):
            nx = wait_for(lambda: (s := state(tmp_path)).get("status") == "up" and s["pid"] not in killed and s["pid"], 30, 0.05,
                          f"server up before kill {attempt}")
            os.kill(nx, signal.SIGKILL)
            killed.append(nx)
        wait_for(lambda: (s := state(tmp_path)).get("status") == "up" and s["pid"] not in killed, 30, 0.05, "server back")
        lines = [line for line in (tmp_path / "supervisor.log").read_text().splitlines() if "exited" in line]
        assert len(lines) == 2, lines
        assert f"nx-27017 pid {killed[0]} on port {port} exited (signal SIGKILL)" in lines[0] and "restart 1 in 0.5 s" in lines[0]
        assert f"nx-27017 pid {killed[1]} on port {port} exited (signal SIGKILL)" in lines[1] and "restart 2 in 1.0 s" in lines[1]
        assert state(tmp_path)["port"] == port and state(tmp_path)["restarts"] == 2
    finally:
        server.shutdown()


def test_app_follows_a_store_that_had_to_move_port(tmp_path):
    """If the old port cannot be bound again, the supervisor moves the server after 3 tries and the app
    (503 with Retry-After meanwhile) reconnects to the new port by itself, with the data intact."""
    import socket
    import threading

    from ionbase.settings import Settings
    from ionbase.service.app import create_app
    from ionbase.store import open_store

    settings = Settings(data_dir=tmp_path, db_name="moved", testing=True)
    st = open_store(settings)
    blocker = socket.socket()
    try:
        _seed_via(st)
        client = create_app(settings, store=st).test_client()
        before = len(client.get(SAMPLES).get_json()["data"])
        assert before > 0
        old = state(tmp_path)
        os.kill(old["supervisor_pid"], signal.SIGSTOP)
        try:
            os.kill(old["pid"], signal.SIGKILL)
            # squat the old port: accept and hang up at once (the server cannot bind it again)
            blocker.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            wait_for(lambda: _bind(blocker, old["port"]), 10, 0.05, "old port free")
            blocker.listen(16)
            threading.Thread(target=_hang_up, args=(blocker,), daemon=True).start()
        finally:
            os.kill(old["supervisor_pid"], signal.SIGCONT)
        r = client.get(SAMPLES)
        assert r.status_code == 503 and int(r.headers["Retry-After"]) > 0
        wait_for(lambda: state(tmp_path).get("port") not in (None, old["port"]), 40, 0.1, "server moved")
        wait_for(lambda: client.get(SAMPLES).status_code == 200, 30, 0.1, "app reconnected")
        assert st.embedded.port == state(tmp_path)["port"] != old["port"]
        assert len(client.get(SAMPLES).get_json()["data"]) == before
        assert "moving to port" in (tmp_path / "supervisor.log").read_text()
    finally:
        blocker.close()
        st.embedded.shutdown()
        st.client.close()


def _bind(sock, port: int) -> bool:
    try:
        sock.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False


def _hang_up(sock) -> None:
    while True:
        try:
            conn, _ = sock.accept()
        except OSError:  # closed by the test
            return
        conn.close()


def _seed_via(st) -> None:
    from ionbase.ingest.importer import Importer, ImportOptions

    assert Importer(st, ImportOptions(progress=False)).run([SEED_FILE]).status == "committed"


def test_a_killed_supervisor_takes_its_server_along_and_the_next_client_starts_both(tmp_path):
    """SIGKILL of the supervisor: its server follows (PR_SET_PDEATHSIG) instead of lingering unsupervised,
    and the next Ionbase command (`ionbase db status`) starts a new supervisor on the same port."""
    import json
    import subprocess

    from ionbase.store.embedded import EmbeddedServer, pid_alive

    server = EmbeddedServer(tmp_path)
    try:
        server.ensure_running()
        old = state(tmp_path)
        server.stop()  # this process no longer uses it
        os.kill(old["supervisor_pid"], signal.SIGKILL)
        wait_for(lambda: not pid_alive(old["pid"]), 10, 0.05, "the server followed its supervisor")
        out = subprocess.run([sys.executable, "-m", "ionbase", "db", "status", "--json"], env=env_for(tmp_path, "revived"),
                             cwd=str(REPO), capture_output=True, text=True, timeout=120)
        assert out.returncode == 0, out.stderr[-2000:]
        embedded = json.loads(out.stdout)["embedded"]
        assert embedded["supervisor_pid"] != old["supervisor_pid"] and embedded["pid"] != old["pid"]
        assert embedded["port"] == old["port"] and embedded["status"] == "up"
    finally:
        server.shutdown()


def test_an_idle_supervisor_locks_out_new_clients_until_it_has_stopped(tmp_path):
    """Once the supervisor decides to stop for idleness it keeps clients.lock exclusively, so a client
    arriving then waits for it to exit (and starts a new one) instead of getting a server being stopped;
    a client that holds the lock keeps the store from going idle."""
    import fcntl

    from ionbase.store.supervisor import CLIENTS_LOCK, Supervisor

    sup = Supervisor(tmp_path, idle_exit_s=0.0)
    sup._clients_fd = os.open(tmp_path / CLIENTS_LOCK, os.O_RDWR | os.O_CREAT)
    client = os.open(tmp_path / CLIENTS_LOCK, os.O_RDWR)
    try:
        fcntl.flock(client, fcntl.LOCK_SH | fcntl.LOCK_NB)
        assert sup._idle_since(None) is None and not sup._idle_too_long(time.monotonic() - 1), "a client holds it"
        fcntl.flock(client, fcntl.LOCK_UN)
        since = sup._idle_since(None)
        assert since is not None and sup._idle_too_long(since - 1)
        with pytest.raises(BlockingIOError):
            fcntl.flock(client, fcntl.LOCK_SH | fcntl.LOCK_NB)
    finally:
        os.close(client)
        os.close(sup._clients_fd)
