"""The importer's check of every document against ``schemas.documents`` before the writer gets it."""

from __future__ import annotations

from typing import Any

from ionbase.ingest.errors import ImportFailed, Issue
from ionbase.schemas.validate import DocumentError, validate_document

#: documents the importer assembles itself from records the builders already checked field by field
_ASSEMBLED = ("materials", "routes", "samples")


def check_document(coll: str, doc: dict, where: tuple[str, Any]) -> None:
    """Refuse ``doc`` unless it matches its declaration (see ``schemas.validate``).

    A property, measurement, array chunk or structure that fails is that record's error (DocumentError
    is a RecordError, reported with file, row and field; ``--skip-invalid`` drops the record). A
    material, route or sample that fails is a defect of the builders, not of one record: the batch is
    refused (ImportFailed naming the file, row and field) and nothing is written.
    """
    try:
        validate_document(coll, doc)
    except DocumentError as exc:
        if coll in _ASSEMBLED:
            raise ImportFailed([Issue(where[0], exc.message, row=where[1], field=exc.field)]) from None
        raise
