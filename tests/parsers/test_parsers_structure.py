"""Every registered instrument format is fully declared (the size limits: tests/test_code_limits.py)."""

from __future__ import annotations

from ionbase.ingest.parsers import registry


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
