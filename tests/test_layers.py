"""The architecture shows in the imports: each layer imports only the layers below it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
OURS = {"ionbase", "schemas", "store", "ingest", "analysis", "jobs", "service", "bench", "tests"}
ALLOWED = {
    "analysis": {"analysis"},
    "schemas": {"schemas"},
    "ionbase": {"ionbase", "service"},  # ionbase/__main__.py starts the CLI
    "store": {"store", "schemas", "ionbase"},
    "ingest": {"ingest", "schemas", "store", "ionbase"},
    "jobs": {"jobs", "analysis", "schemas", "store", "ionbase"},
    "service": OURS - {"bench", "tests"},
}
DATABASE_MODULES = {"pymongo", "mongoengine", "mongomock", "bson", "flask"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module.split(".")[0])
    return out


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_layer_imports(layer):
    bad = []
    for path in sorted((REPO / layer).rglob("*.py")):
        used = _imports(path)
        for mod in sorted(used & OURS - ALLOWED[layer]):
            bad.append(f"{path.relative_to(REPO)} imports {mod}")
        if layer == "analysis":
            bad += [f"{path.relative_to(REPO)} imports {m} (analysis is pure science)" for m in sorted(used & DATABASE_MODULES)]
    assert bad == []
