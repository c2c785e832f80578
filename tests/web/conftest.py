"""The real app (create_app) on a seeded store, served on 127.0.0.1 in a thread, and headless Chromium.

The browser is the Debian ``chromium`` package (``.ci/run`` installs it); Playwright drives it with
``executable_path``. Every request a page makes is recorded so a test can prove nothing left the host.
"""

from __future__ import annotations

import shutil
import threading
import uuid
from pathlib import Path
from urllib.parse import urlsplit

import pytest

REPO = Path(__file__).resolve().parents[2]
SEED = REPO / "seed_data"
EXTRA = [REPO / "tests" / "data" / "export" / "two_samples.yaml", REPO / "tests" / "data" / "export" / "impedance.yaml"]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def web_settings(base_settings, server_uri):
    """Seed data plus a synthetic impedance spectrum (tests/data/export), analysed: a fresh database."""
    from ionbase.ingest.importer import Importer, ImportOptions
    from ionbase.jobs.runner import run_jobs
    from ionbase.store import open_store

    s = base_settings.with_(mongodb_uri=server_uri, db_name=f"web_{uuid.uuid4().hex[:8]}")
    st = open_store(s)
    Importer(st, ImportOptions(progress=False)).run([SEED, *EXTRA])
    run_jobs(st, s, progress=False)
    yield s
    st.client.drop_database(s.db_name)
    st.client.close()


@pytest.fixture(scope="module")
def web_store(web_settings):
    from ionbase.store import open_store

    st = open_store(web_settings, create_indexes=False)
    yield st
    st.client.close()


@pytest.fixture(scope="module")
def live_url(web_settings, web_store):
    """``http://127.0.0.1:<port>``: werkzeug's server in a thread, stopped after the module."""
    from werkzeug.serving import make_server

    from ionbase.service.app import create_app

    server = make_server("127.0.0.1", 0, create_app(web_settings, store=web_store), threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(10)


@pytest.fixture(scope="module")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"no Chromium at {CHROMIUM}: install the Debian package chromium (.ci/run does)")
    with playwright.sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A browser page that records the host of every request and console errors."""

    def __init__(self, page, base: str, shots: Path):
        self.page, self.base, self.shots = page, base, shots
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        page.on("request", lambda req: self.hosts.add(urlsplit(req.url).netloc))
        page.on("pageerror", lambda exc: self.errors.append(str(exc)))
        page.on("console", lambda msg: self.errors.append(msg.text) if msg.type == "error" else None)

    def goto(self, path: str, status: int = 200):
        resp = self.page.goto(self.base + path)
        assert resp is not None and resp.status == status, f"{path}: HTTP {resp.status if resp else None}"
        return resp

    def shot(self, name: str) -> Path:
        out = self.shots / f"{name}.png"
        self.page.screenshot(path=str(out), full_page=True)
        return out

    def foreign_hosts(self) -> set[str]:
        own = urlsplit(self.base).netloc
        return {h for h in self.hosts if h and h != own}


@pytest.fixture()
def page(browser, live_url, tmp_path):
    ctx = browser.new_context(viewport={"width": 1400, "height": 900})
    p = Page(ctx.new_page(), live_url, tmp_path)
    yield p
    foreign = p.foreign_hosts()
    ctx.close()
    assert not foreign, f"a page requested resources from other hosts: {sorted(foreign)}"
