"""analysis/ stays readable: every function at cyclomatic complexity <= 20 (radon grade C or better)
and every module <= 600 lines (issue 12)."""
from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

import ionbase.analysis

ANALYSIS = Path(ionbase.analysis.__file__).parent
MAX_COMPLEXITY = 20
MAX_LINES = 600


def _modules() -> list[Path]:
    mods = sorted(ANALYSIS.glob("*.py"))
    assert len(mods) >= 10, f"analysis modules not found under {ANALYSIS}"
    return mods


def _functions(blocks) -> list:
    """Functions, methods and nested functions (radon reports a class's methods inside the class)."""
    out = []
    for b in blocks:
        if hasattr(b, "methods"):
            out += _functions(b.methods) + _functions(b.inner_classes)
        else:
            out += [b] + _functions(b.closures)
    return out


def test_no_analysis_function_above_complexity_20():
    funcs = [(p, f) for p in _modules() for f in _functions(cc_visit(p.read_text(encoding="utf-8")))]
    assert any(f.fullname == "_Parser.term" for _, f in funcs), "methods must be measured too"
    too_complex = [f"{p.name}:{f.lineno} {f.fullname} ({f.complexity})" for p, f in funcs if f.complexity > MAX_COMPLEXITY]
    assert not too_complex, f"functions above complexity {MAX_COMPLEXITY}: {too_complex}"


def test_no_analysis_module_above_600_lines():
    too_long = {p.name: n for p in _modules() if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert not too_long, f"modules above {MAX_LINES} lines: {too_long}"
