"""Code size limits for the next people (issue 12): no function above cyclomatic complexity 20
(radon grade C or better) and no module above 600 lines, in every package of ionbase."""

from __future__ import annotations

from pathlib import Path

import pytest
from radon.visitors import ComplexityVisitor, Function

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("analysis", "ingest", "jobs", "schemas", "service", "store", "ionbase")
MAX_COMPLEXITY = 20
MAX_LINES = 600


def _modules(package: str) -> list[Path]:
    return sorted(p for p in (REPO / package).rglob("*.py") if "__pycache__" not in p.parts)


def _functions(blocks) -> list[Function]:
    """Every function, method and closure of a module's blocks."""
    out = []
    for b in blocks:
        if isinstance(b, Function):
            out.append(b)
            out += _functions(b.closures)
        else:  # a class: its methods and inner classes
            out += _functions(b.methods) + _functions(getattr(b, "inner_classes", []))
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_no_function_above_complexity_20(package):
    too_complex = []
    for path in _modules(package):
        visitor = ComplexityVisitor.from_code(path.read_text())
        for f in _functions(visitor.functions + visitor.classes):
            if f.complexity > MAX_COMPLEXITY:
                too_complex.append(f"{path.relative_to(REPO)}:{f.lineno} {f.fullname} ({f.complexity})")
    assert too_complex == []


@pytest.mark.parametrize("package", PACKAGES)
def test_no_module_above_600_lines(package):
    long = [f"{p.relative_to(REPO)} ({n})" for p in _modules(package) if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert long == []


def test_the_check_sees_a_complex_function():
    """The walk finds methods and closures, so the limit cannot pass by not looking."""
    branches = "\n".join(f"        if x == {i}:\n            return {i}" for i in range(25))
    code = f"class A:\n    def m(self, x):\n{branches}\n        return -1\n"
    (method,) = _functions(ComplexityVisitor.from_code(code).classes)
    assert method.fullname == "A.m" and method.complexity > MAX_COMPLEXITY
