"""schemas/ is the one declaration of document shapes, within the project's size limits.

The API's property output (PropertyOut, OUTPUT_FIELDS for ``fields=``) is generated from
``schemas.documents.Property``; schemas/ functions stay at cyclomatic complexity <= 20 and modules
at <= 600 lines.
"""

from __future__ import annotations

from pathlib import Path

from radon.complexity import cc_visit

from ionbase.schemas.documents import PROPERTY_INTERNAL_FIELDS, Property
from ionbase.service.properties.schemas import PropertyOut
from ionbase.service.query.fields import FIELDS, OUTPUT_FIELDS

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


def test_property_output_comes_from_the_storage_declaration():
    declared = {"id" if n == "id" else n for n in Property._fields} - set(PROPERTY_INTERNAL_FIELDS)
    assert set(OUTPUT_FIELDS) == declared
    assert set(PropertyOut().fields) == declared | {"sample_expanded"}
    # the description lives beside the field (help_text) and reaches the OpenAPI document
    assert "QUALITY_FLAGS" in PropertyOut().fields["flags"].metadata["description"]
    # every filter field reads a declared top-level key
    assert {f.path.split(".")[0] for f in FIELDS.values()} <= {"_id", *Property._fields}


def test_schemas_functions_and_modules_within_limits():
    too_complex, too_long = [], []
    for path in sorted(SCHEMAS.glob("*.py")):
        text = path.read_text(encoding="utf-8")
        if text.count("\n") > 600:
            too_long.append(f"{path.name}: {text.count(chr(10))} lines")
        for block in cc_visit(text):
            for fn in [block, *getattr(block, "methods", [])]:
                if fn.complexity > 20:
                    too_complex.append(f"{path.name}:{fn.lineno} {fn.name} ({fn.complexity})")
    assert not too_complex and not too_long, too_complex + too_long
