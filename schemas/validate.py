"""Validate a storage document (a plain dict) against its class in ``schemas.documents`` before it is written.

``schemas.documents`` is the one declaration of every stored document. The importer and the job
runner write plain dicts (fast bulk writes); each dict is checked here, just before it is handed to
the store, against the mongoengine class of its collection: undeclared fields, missing required
fields, the exact type of every value (a string where a number is declared is refused, not
converted: mongoengine's own ``to_python`` would coerce ``"1e-4"`` in memory while the dict stored
the string), non-finite numbers, and every declared validator and choice list (registry names,
qualifiers, quality flags, non-negative uncertainties, space-group numbers, occupancies).

The walk reads the declarations (``cls._fields``) and calls each field's own mongoengine validation
on the raw value, so adding a field or a validator in ``schemas.documents`` is all it takes; it is
several times faster than building a mongoengine object per document (``bench`` figures in the
module's tests). A failure raises :class:`DocumentError` naming the collection, the document id
and the dotted field path.
"""

from __future__ import annotations

import datetime as _dt
import math
from functools import lru_cache
from typing import Any

import mongoengine.fields as mf
from mongoengine import EmbeddedDocument
from mongoengine.errors import ValidationError

from ionbase.schemas.build_common import RecordError
from ionbase.schemas.documents import ALL_DOCUMENTS

#: collection name -> document class
DOCUMENT_CLASSES = {cls._meta["collection"]: cls for cls in ALL_DOCUMENTS}

#: the Python types a raw stored value of each field kind may have (checked before its validators)
_RAW_TYPES: tuple[tuple[type, tuple[type, ...]], ...] = (
    (mf.BooleanField, (bool,)),
    (mf.IntField, (int,)),
    (mf.FloatField, (int, float)),
    (mf.StringField, (str,)),
    (mf.ReferenceField, (str,)),  # deterministic string ids (dbref=False)
    (mf.DateTimeField, (_dt.datetime,)),
    (mf.DictField, (dict,)),
)
#: field kinds whose mongoengine ``validate`` expects a converted value, not the raw one
_TYPE_ONLY = (mf.ReferenceField, mf.DateTimeField)


class DocumentError(RecordError):
    """A document does not match its declaration in ``schemas.documents``; nothing of it is written."""

    def __init__(self, collection: str, doc_id: Any, message: str, field: str | None = None):
        self.collection = collection
        self.doc_id = doc_id
        super().__init__(f"{collection} document {doc_id}: {message}", field)


class _Invalid(Exception):
    def __init__(self, path: str, message: str):
        self.path = path
        self.message = message


@lru_cache(maxsize=None)
def _declared(cls: type) -> tuple[tuple[tuple[str, str, Any], ...], frozenset[str], bool]:
    """(name, stored key, field) of every field, the stored keys, and whether the class adds its own validate()."""
    fields = tuple((name, f.db_field or name, f) for name, f in cls._fields.items())
    own_validate = issubclass(cls, EmbeddedDocument) and cls.validate is not EmbeddedDocument.validate
    return fields, frozenset(key for _n, key, _f in fields), own_validate


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("number" if t is float else t.__name__ for t in types if not (t is int and float in types))


def _check_scalar(field: Any, value: Any, path: str) -> None:
    for kind, types in _RAW_TYPES:
        if isinstance(field, kind):
            if isinstance(value, bool) and bool not in types or not isinstance(value, types):
                raise _Invalid(path, f"expected {_type_name(types)}, got {type(value).__name__} {value!r:.60}")
            break
    if isinstance(value, float) and not math.isfinite(value):
        raise _Invalid(path, f"expected a finite number, got {value!r}")
    if isinstance(field, _TYPE_ONLY):
        return
    try:
        field._validate(value)
    except ValidationError as exc:
        raise _Invalid(path, exc.message) from None


def _check_value(field: Any, value: Any, path: str) -> None:
    if isinstance(field, mf.EmbeddedDocumentField):
        if not isinstance(value, dict):
            raise _Invalid(path, f"expected a mapping, got {type(value).__name__}")
        _check_document(field.document_type, value, path + ".")
    elif isinstance(field, mf.ListField):
        if not isinstance(value, (list, tuple)):
            raise _Invalid(path, f"expected a list, got {type(value).__name__}")
        inner = field.field
        for i, item in enumerate(value):
            if inner is not None:
                if item is None:
                    raise _Invalid(f"{path}[{i}]", "null inside a list")
                _check_value(inner, item, f"{path}[{i}]")
    else:
        _check_scalar(field, value, path)


def _check_document(cls: type, son: dict, prefix: str = "") -> None:
    fields, keys, own_validate = _declared(cls)
    undeclared = [k for k in son if k not in keys]
    if undeclared:
        raise _Invalid(prefix + str(undeclared[0]), f"undeclared field(s) {sorted(map(str, undeclared))} "
                       f"(declare them in schemas.documents.{cls.__name__})")
    for name, key, field in fields:
        value = son.get(key)
        if value is None:
            if field.required:
                raise _Invalid(prefix + name, "is required")
            continue
        _check_value(field, value, prefix + name)
    if own_validate:  # e.g. Site: the occupancies of its species
        try:
            cls._from_son(son).validate()
        except ValidationError as exc:
            raise _Invalid(prefix.rstrip("."), exc.message) from None


def validate_document(collection: str, doc: dict) -> None:
    """Raise DocumentError unless ``doc`` is a valid document of ``collection``.

    Keys starting with ``_`` (other than ``_id``) are the builders' scratch keys, never stored, and
    are not checked.
    """
    cls = DOCUMENT_CLASSES.get(collection)
    doc_id = doc.get("_id")
    if cls is None:
        raise DocumentError(collection, doc_id, f"no document class declares collection {collection!r}")
    son = {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}
    try:
        _check_document(cls, son)
    except _Invalid as exc:
        raise DocumentError(collection, doc_id, exc.message, exc.path) from None
