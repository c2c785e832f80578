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


SUBPACKAGES = {"schemas", "store", "ingest", "analysis", "jobs", "service"}


def _layer(module: str) -> str:
    """The layer a module belongs to: 'ionbase.store.shapes' -> 'store', 'ionbase.settings' -> 'ionbase'."""
    parts = module.split(".")
    if parts[0] == "ionbase" and len(parts) > 1 and parts[1] in SUBPACKAGES:
        return parts[1]
    return parts[0]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(_layer(a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(_layer(node.module))
            if node.module == "ionbase":
                out.update(_layer(f"ionbase.{a.name}") for a in node.names)
    return out


def test_no_top_level_imports_of_subpackages():
    """Inside the project, the subpackages are imported as ionbase.<name>, never as top-level names."""
    bad = []
    for path in sorted(REPO.rglob("*.py")):
        if ".git" in path.parts or "build" in path.parts:
            continue
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module] if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module else [])
            bad += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] in SUBPACKAGES]
    assert bad == []


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
