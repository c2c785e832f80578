"""schemas/ is the one declaration of document shapes.

The API's property output (PropertyOut, OUTPUT_FIELDS for ``fields=``) is generated from
``schemas.documents.Property`` (the size limits: tests/test_code_limits.py).
"""

from __future__ import annotations

from ionbase.schemas.documents import PROPERTY_INTERNAL_FIELDS, Property
from ionbase.service.properties.schemas import PropertyOut
from ionbase.service.query.fields import FIELDS, OUTPUT_FIELDS


def test_property_output_comes_from_the_storage_declaration():
    declared = {"id" if n == "id" else n for n in Property._fields} - set(PROPERTY_INTERNAL_FIELDS)
    assert set(OUTPUT_FIELDS) == declared
    assert set(PropertyOut().fields) == declared | {"sample_expanded"}
    # the description lives beside the field (help_text) and reaches the OpenAPI document
    assert "QUALITY_FLAGS" in PropertyOut().fields["flags"].metadata["description"]
    # every filter field reads a declared top-level key
    assert {f.path.split(".")[0] for f in FIELDS.values()} <= {"_id", *Property._fields}
