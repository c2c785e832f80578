"""Issue 12: every function of ingest/ (parsers excepted: their own rework) is at cyclomatic
complexity <= 20 and every module at most 600 lines, measured with radon on the real source."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

INGEST = Path(__file__).resolve().parents[2] / "ingest"
MAX_COMPLEXITY = 20
MAX_LINES = 600


def _modules() -> list[Path]:
    return [p for p in sorted(INGEST.rglob("*.py")) if "parsers" not in p.relative_to(INGEST).parts]


def test_ingest_functions_at_most_complexity_20():
    assert len(_modules()) > 10  # the folder was found and read
    too_complex = [
        f"{p.relative_to(INGEST)}:{b.lineno} {b.fullname} = {b.complexity}"
        for p in _modules() for b in cc_visit(p.read_text()) if b.complexity > MAX_COMPLEXITY
    ]
    assert too_complex == []


def test_ingest_modules_at_most_600_lines():
    too_long = [f"{p.relative_to(INGEST)}: {n}" for p in _modules() if (n := len(p.read_text().splitlines())) > MAX_LINES]
    assert too_long == []
