"""A Python client of the Ionbase API for data scientists: tables as pandas DataFrames, structures as pymatgen.

    from ionbase.client import Client
    c = Client("http://127.0.0.1:8000")            # key="..." for writes or closed servers
    df = c.properties(filter='property="ionic_conductivity" AND elements HAS "Na" AND temperature_c=25 '
                             'AND value>=1e-4', unit="mS/cm", sort="-value")
    table = c.export(filter='elements HAS "Na"')    # the ML table (docs/export.md)
    structures = c.structures(sample="smp-...")     # pymatgen Structures, one per phase with positions
    report = c.import_files(["lab.yaml"], dry_run=True)

List endpoints are read page by page (``meta.next``) until the last; the export is streamed as JSON
lines. Every error answer raises a subclass of ``ApiError`` carrying the API's error document
(``{code, status, message, errors}``). Only HTTP and the public API: no database, no server code.
"""

from __future__ import annotations

import io
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Iterable, Iterator

import requests

API = "/api/v1"


class ApiError(Exception):
    """An error answer of the API; ``status``, ``message`` and the whole ``document``."""

    def __init__(self, status: int, document: dict[str, Any], url: str):
        self.status = status
        self.document = document
        self.message = str(document.get("message") or document.get("status") or f"HTTP {status}")
        self.errors = document.get("errors")
        self.url = url
        super().__init__(f"{status}: {self.message}")


class BadRequest(ApiError):
    """400: an unknown parameter or a filter that cannot be used (``errors`` says where)."""


class AuthError(ApiError):
    """401 / 403: a key is missing, invalid or its role may not do this."""


class NotFoundError(ApiError):
    """404: no such document."""


class ValidationFailed(ApiError):
    """422: well-formed input whose content is refused (an import with invalid records: every issue)."""


class ServerError(ApiError):
    """5xx, including 503 while the store restarts (``Retry-After``)."""


_BY_STATUS = {400: BadRequest, 401: AuthError, 403: AuthError, 404: NotFoundError, 422: ValidationFailed}


def _error(resp: requests.Response) -> ApiError:
    try:
        doc = resp.json()
    except ValueError:
        doc = {"code": resp.status_code, "message": resp.text[:2000]}
    if not isinstance(doc, dict):
        doc = {"code": resp.status_code, "message": str(doc)[:2000]}
    cls = ServerError if resp.status_code >= 500 else _BY_STATUS.get(resp.status_code, ApiError)
    return cls(resp.status_code, doc, resp.url)


class Client:
    """The Ionbase API at ``url`` (e.g. ``http://127.0.0.1:8000``), with an optional API key."""

    def __init__(self, url: str, key: str | None = None, *, timeout: float = 60.0, page_limit: int = 1000):
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.page_limit = page_limit
        self.session = requests.Session()
        if key:
            self.session.headers["Authorization"] = f"Bearer {key}"

    # ------------------------------------------------------------------ plumbing

    def _request(self, method: str, path: str, **kw: Any) -> requests.Response:
        if path.startswith("http"):
            url = path
        elif path.startswith(API + "/") or path.startswith(API + "?"):  # meta.next is relative to the server
            url = f"{self.url}{path}"
        else:
            url = f"{self.url}{API}{path}"
        resp = self.session.request(method, url, timeout=self.timeout, **kw)
        if resp.status_code >= 400:
            raise _error(resp)
        return resp

    def get_json(self, path: str, **params: Any) -> dict:
        """One GET answered with JSON (parameters with value None are not sent)."""
        return self._request("GET", path, params=_params(params)).json()

    def pages(self, path: str, **params: Any) -> Iterator[dict]:
        """Every document of a list endpoint, following ``meta.next`` page by page."""
        params.setdefault("page_limit", self.page_limit)
        body = self.get_json(path, **params)
        while True:
            yield from body["data"]
            nxt = (body.get("meta") or {}).get("next")
            if not nxt:
                return
            body = self._request("GET", nxt).json()

    # ------------------------------------------------------------------ tables

    def properties(self, filter: str | None = None, unit: str | None = None, **params: Any):  # noqa: A002
        """``GET /properties`` (every page) as a DataFrame; nested fields flattened with dots."""
        import pandas as pd

        return pd.json_normalize(list(self.pages("/properties", filter=filter, unit=unit, **params)))

    def samples(self, filter: str | None = None, **params: Any):  # noqa: A002
        """``GET /samples`` (every page) as a DataFrame; nested fields flattened with dots."""
        import pandas as pd

        return pd.json_normalize(list(self.pages("/samples", filter=filter, **params)))

    def export(self, filter: str | None = None):  # noqa: A002
        """The ML table of ``GET /export`` (streamed JSON lines) as a DataFrame, columns in export order."""
        import pandas as pd

        resp = self._request("GET", "/export", params=_params({"filter": filter, "format": "jsonl"}), stream=True)
        buf = io.StringIO()
        resp.encoding = "utf-8"  # JSON lines are UTF-8
        with resp:
            for chunk in resp.iter_content(chunk_size=1 << 16, decode_unicode=True):
                buf.write(chunk)
        if not buf.getvalue().strip():
            return pd.DataFrame()
        buf.seek(0)
        # every row carries every column in export order; nulls become NaN, strings stay strings; numbers
        # parsed exactly (pandas' default float parser turns 0.3 into 0.30000000000000004)
        return pd.read_json(buf, lines=True, dtype=False, convert_dates=False, precise_float=True)

    # ------------------------------------------------------------------ structures and imports

    def structures(self, sample: str | None = None, method: str | None = None) -> list:
        """pymatgen Structures of the structure results (one per phase with atomic positions).

        Each is read from the API's CIF (``?format=cif``); ``structure.properties`` names the result
        and the CIF block. Phases with a cell only (no positions) or no cell have no Structure."""
        out = []
        for doc in self.pages("/structures", sample=sample, method=method):
            try:
                text = self._request("GET", f"/structures/{doc['id']}", params={"format": "cif"}).text
            except NotFoundError:  # no phase with a unit cell
                continue
            out += _cif_structures(text, doc["id"])
        return out

    def import_files(self, paths: Iterable[str | Path], dry_run: bool = False, skip_invalid: bool = False) -> dict:
        """``POST /imports`` with the files (a folder's files included): the batch report.

        A batch with errors writes nothing and raises ValidationFailed with every issue."""
        files = _expand(paths)
        with ExitStack() as stack:
            parts = [("files", (name, stack.enter_context(open(p, "rb")))) for name, p in files]
            params = {"dry_run": str(dry_run).lower(), "skip_invalid": str(skip_invalid).lower()}
            return self._request("POST", "/imports", params=params, files=parts).json()


def _params(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in params.items() if v is not None}


def _expand(paths: Iterable[str | Path]) -> list[tuple[str, Path]]:
    out = []
    for p in map(Path, paths):
        if p.is_dir():
            out += [(str(f.relative_to(p.parent)), f) for f in sorted(p.rglob("*")) if f.is_file()]
        elif p.is_file():
            out.append((p.name, p))
        else:
            raise FileNotFoundError(f"{p}: no such file or folder")
    return out


def _cif_structures(text: str, structure_id: str) -> list:
    from pymatgen.io.cif import CifFile, CifParser

    out = []
    for name, block in CifFile.from_str(text).data.items():
        if "_atom_site_fract_x" not in block.data:
            continue  # a cell-only block
        (s,) = CifParser(io.StringIO(str(block))).parse_structures(primitive=False)
        s.properties = {"ionbase_structure_id": structure_id, "cif_block": name}
        out.append(s)
    return out
