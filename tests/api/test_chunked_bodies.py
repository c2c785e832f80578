"""The body guard and the size limit hold for chunked bodies, on live servers (issue 14, point 2);
a URL over 8,190 characters gets the API's JSON 414 from both servers (point 7).

Raw HTTP/1.1 over a socket against werkzeug's server (in a thread) and gunicorn (a subprocess):
``Transfer-Encoding: chunked`` bodies get the same ``$``-key/depth refusal (400) as bodies with a
Content-Length, and a 100 MB chunked body gets 413 as soon as the limit is passed, without the
server reading the rest.
"""

from __future__ import annotations

import http.client
import json
import os
import select
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
LIMIT = 1024 * 1024
HOSTILE = {
    "ionbase_format": 1,
    "source": {"notebook": "CHUNK p. 1"},
    "materials": [{"key": "LiCl", "formula": "LiCl", "family": "halide"}],
    "samples": [{"label": "S-chunk", "material": "LiCl", "notes": {"$where": "function() { return true }"}}],
}
COLLECTIONS = ("materials", "samples", "properties", "import_batches")


def _counts(store) -> dict:
    return {c: store.db[c].count_documents({}) for c in COLLECTIONS}


def _post(port: int, path: str, body: bytes, token: str, chunked: bool) -> tuple[int, dict]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    headers = {"Content-Type": "application/json", "X-API-Key": token}
    if chunked:  # an iterable body without Content-Length: http.client sends it chunked
        conn.request("POST", path, body=iter([body[i:i + 7] for i in range(0, len(body), 7)]), headers=headers,
                     encode_chunked=True)
    else:
        conn.request("POST", path, body=body, headers=headers)
    resp = conn.getresponse()
    out = resp.status, json.loads(resp.read() or b"{}")
    conn.close()
    return out


def _huge_chunked(port: int, path: str, token: str, total: int = 100 * 1024 * 1024) -> tuple[int, int, float, bytes]:
    """Send up to ``total`` bytes chunked, stopping as soon as the server answers.

    Returns (status, bytes sent, seconds to the answer, the answer's head)."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nX-API-Key: {token}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n").encode()
    sock.sendall(head)
    piece = b"[" + b"0," * 32000 + b"0"
    frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent, t0, answer = 0, time.monotonic(), b""
    try:
        while sent < total:
            if select.select([sock], [], [], 0)[0]:
                break
            sock.sendall(frame)
            sent += len(piece)
    except (BrokenPipeError, ConnectionResetError):
        pass  # the server answered and closed while we were still sending
    try:
        sock.settimeout(10)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (ConnectionResetError, socket.timeout):
        pass
    elapsed = time.monotonic() - t0
    sock.close()
    status = int(answer.split(b" ", 2)[1]) if answer.startswith(b"HTTP/") else 0
    return status, sent, elapsed, answer[:300]


def _check_server(port: int, store, token: str) -> None:
    before = _counts(store)
    body = json.dumps(HOSTILE).encode()
    for chunked in (False, True):
        status, out = _post(port, "/api/v1/imports", body, token, chunked)
        assert status == 400 and "operator keys" in out["message"], (chunked, status, out)
    deep = b"[" * 5000 + b"]" * 5000
    status, out = _post(port, "/api/v1/analysis-runs", deep, token, True)
    assert status == 400 and "nested" in out["message"], (status, out)
    assert _counts(store) == before, "nothing stored"
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.request("GET", "/api/v1/properties?filter=" + "x" * 9000)
    resp = conn.getresponse()
    assert resp.status == 414 and resp.getheader("Content-Type") == "application/json", resp.getheader("Content-Type")
    assert json.loads(resp.read())["code"] == 414, "the API's JSON 414, not the server's HTML page"
    conn.close()
    status, sent, elapsed, answer = _huge_chunked(port, "/api/v1/imports", token)
    print(f"port {port}: 413 after {sent} bytes sent, {elapsed:.3f} s")
    assert status == 413, answer
    assert elapsed < 10 and sent < 30 * 1024 * 1024, (elapsed, sent)
    assert _counts(store) == before


@pytest.fixture()
def key_and_store(store, settings):
    from ionbase.service.keys import create_key, server_secret

    return create_key(store, "chunk-writer", "writer", server_secret(settings))[1], store


def test_werkzeug_server_guards_chunked_bodies(settings, key_and_store):
    from werkzeug.serving import make_server

    from ionbase.service.app import create_app

    token, store = key_and_store
    app = create_app(settings.with_(max_request_bytes=LIMIT), store=store)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        _check_server(server.server_port, store, token)
    finally:
        server.shutdown()
        thread.join(10)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_gunicorn_guards_chunked_bodies(settings, key_and_store, tmp_path):
    token, store = key_and_store
    port = _free_port()
    env = dict(os.environ, MONGODB_URI=settings.mongodb_uri, IONBASE_DB_NAME=settings.db_name,
               IONBASE_DATA_DIR=str(tmp_path), IONBASE_SECRET_FILE=str(settings.secret_path),
               IONBASE_MAX_REQUEST_BYTES=str(LIMIT), PYTHONPATH=str(REPO))
    proc = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "python:ionbase.service.gunicorn_conf", "-w", "1",
                             "-b", f"127.0.0.1:{port}", "--timeout", "30"],
                            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail("gunicorn exited: " + proc.stdout.read().decode(errors="replace")[-3000:])
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.05)
        _check_server(port, store, token)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
