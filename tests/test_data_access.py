"""Outside store/, no module touches a pymongo collection: reads and writes go through the typed
collections of ``ionbase.store`` (store.properties, store.samples, ...), which own batch visibility,
the query shapes the embedded server answers correctly, and measurement-array chunk reassembly."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: application code; store/ is the data-access layer itself, schemas/ and analysis/ hold no store
#: access (tests/test_layers.py keeps database modules out of analysis/)
PACKAGES = ("service", "jobs", "ingest", "ionbase")

#: modules outside store/ allowed raw collection access: none (the batch protocol, claims and rollback
#: live in store/: store/batches.py, store/claims.py, store/rollback.py)
ALLOWED_RAW: set[str] = set()

#: helpers of store/ that take a raw pymongo collection
RAW_HELPERS = {"find_union", "count_union", "set_fields"}


def violations(source: str, filename: str = "<source>") -> list[str]:
    """Each raw-collection access in ``source``: ``.db``, ``.objects``, a subscripted ``.client``,
    get_collection/get_database, a pymongo import other than ``pymongo.errors``, or a raw helper."""
    out = []
    for node in ast.walk(ast.parse(source, filename=filename)):
        where = f"{filename}:{getattr(node, 'lineno', '?')}"
        if isinstance(node, ast.Attribute):
            if node.attr == "db":
                out.append(f"{where}: .db (use the store's typed collections)")
            elif node.attr in ("objects", "get_collection", "get_database"):
                out.append(f"{where}: .{node.attr}")
        elif isinstance(node, ast.Subscript) and isinstance(node.value, ast.Attribute) and node.value.attr == "client":
            out.append(f"{where}: .client[...]")
        elif isinstance(node, ast.Import):
            out += [f"{where}: import {a.name}" for a in node.names
                    if a.name.split(".")[0] == "pymongo" and a.name != "pymongo.errors"]
        elif isinstance(node, ast.ImportFrom) and node.module:
            if node.module.split(".")[0] == "pymongo" and node.module != "pymongo.errors":
                out.append(f"{where}: from {node.module} import ...")
            if node.module.startswith("ionbase.store"):
                out += [f"{where}: {a.name} takes a raw collection" for a in node.names if a.name in RAW_HELPERS]
    return out


def _modules():
    for pkg in PACKAGES:
        for path in sorted((REPO / pkg).rglob("*.py")):
            yield path.relative_to(REPO).as_posix(), path


def test_no_raw_collection_access_outside_store():
    bad = []
    for rel, path in _modules():
        if rel not in ALLOWED_RAW:
            bad += violations(path.read_text(), rel)
    assert bad == []


@pytest.mark.parametrize("snippet", [
    "store.db.properties.find({})",
    "db = store.db",
    "get_store().db['samples'].find_one({})",
    "store.client['ionbase'].properties.find({})",
    "import pymongo",
    "from pymongo import ReplaceOne",
    "from ionbase.store.shapes import find_union",
    "from ionbase.store import set_fields",
    "Sample.objects(label='x')",
])
def test_the_checker_sees_raw_access(snippet):
    assert violations(snippet), snippet


@pytest.mark.parametrize("snippet", [
    "store.properties.find({'name': 'x'})",
    "store.measurement_arrays.arrays('m1')",
    "store.samples.including_pending().find({})",
    "from pymongo.errors import ConnectionFailure",
    "store.client.admin.command('ping')",
])
def test_the_checker_allows_the_layer(snippet):
    assert violations(snippet) == []
