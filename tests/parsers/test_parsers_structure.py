"""ingest/parsers stays readable: every function at radon complexity <= 20, every module
<= 600 lines, and every registered format fully declared."""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

from ionbase.ingest.parsers import registry

PARSERS = Path(__file__).resolve().parents[2] / "ingest" / "parsers"


def test_no_parser_function_above_complexity_20_or_module_above_600_lines():
    too_complex, too_long = [], []
    for path in sorted(PARSERS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if len(text.splitlines()) > 600:
            too_long.append(path.name)
        for block in cc_visit(text):
            for b in [block, *getattr(block, "methods", [])]:
                if b.complexity > 20:
                    too_complex.append(f"{path.name}:{b.lineno} {b.name} ({b.complexity})")
    assert not too_complex and not too_long, (too_complex, too_long)


def test_every_format_declares_kinds_suffixes_and_a_distinct_priority():
    classes = registry.classes()
    assert len(classes) >= 13
    detectable = [c for c in classes if c.detectable]
    assert len({c.priority for c in detectable}) == len(detectable)
    for cls in classes:
        assert cls.kinds and cls.suffixes, cls
        assert registry.get(cls.format) is cls
    # a format reached only through refine() is named by the class that refines to it
    assert {c.format for c in classes if not c.detectable} == {"impedance_xlsx"}
