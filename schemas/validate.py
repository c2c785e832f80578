"""Validate a storage document (a plain dict) against its class in ``schemas.documents`` before it is written.

``schemas.documents`` is the one declaration of every stored document. The importer and the job
runner write plain dicts (fast bulk writes); each dict is checked here, just before it is handed to
the store, against the mongoengine class of its collection: undeclared fields, missing required
fields, the exact type of every value (a string where a number is declared is refused, not
converted: mongoengine's own ``to_python`` would coerce ``"1e-4"`` in memory while the dict stored
the string), non-finite numbers, and every declared validator and choice list (registry names,
qualifiers, quality flags, non-negative uncertainties, space-group numbers, occupancies).

The walk reads the declarations (``cls._fields``) and calls each field's own mongoengine validation
on the raw value, so adding a field or a validator in ``schemas.documents`` is all it takes. It costs
about 50-100 µs per property document, where ``Property._from_son(doc).validate()`` cost 280-370 µs
(and coerced numeric strings) on the same machine. A failure raises :class:`DocumentError` naming the collection, the document id
and the dotted field path. A compiled fast path (``_ok_document``) answers valid-or-not first; only a
document it fails is walked again with paths for the message.
"""

from __future__ import annotations

import datetime as _dt
import math
from functools import lru_cache
from typing import Any, Callable

import mongoengine.fields as mf
from mongoengine import EmbeddedDocument
from mongoengine.errors import ValidationError

from ionbase.schemas.build_common import RecordError
from ionbase.schemas.documents import ALL_DOCUMENTS
from ionbase.schemas.ranges import document_problem

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


#: field options that only the field's own mongoengine validate() checks
_OPTIONS = ("validation", "choices", "min_value", "max_value", "regex", "max_length", "min_length")


@lru_cache(maxsize=None)
def _declared(cls: type) -> tuple[dict[str, tuple[str, Any]], tuple[tuple[str, str], ...], bool]:
    """Stored key -> (field name, field), the required (name, key) pairs, and whether the class adds
    its own validate(); computed once per class."""
    by_key = {f.db_field or name: (name, f) for name, f in cls._fields.items()}
    required = tuple((name, key) for key, (name, f) in by_key.items() if f.required)
    own_validate = issubclass(cls, EmbeddedDocument) and cls.validate is not EmbeddedDocument.validate
    return by_key, required, own_validate


@lru_cache(maxsize=None)
def _scalar_rule(field: Any) -> tuple[tuple[type, ...], bool]:
    """The raw types a scalar field accepts, and whether its own validate() has more to check
    (a validator, choices, bounds, string keys of a dict); computed once per declared field."""
    types = next((t for kind, t in _RAW_TYPES if isinstance(field, kind)), (object,))
    more = not isinstance(field, _TYPE_ONLY) and (
        isinstance(field, mf.DictField) or any(getattr(field, o, None) is not None for o in _OPTIONS)
    )
    return types, more


def _type_name(types: tuple[type, ...]) -> str:
    return " or ".join("number" if t is float else t.__name__ for t in types if not (t is int and float in types))


def _check_scalar(field: Any, value: Any, path: str) -> None:
    types, more = _scalar_rule(field)
    if not isinstance(value, types) or (isinstance(value, bool) and bool not in types):
        raise _Invalid(path, f"expected {_type_name(types)}, got {type(value).__name__} {value!r:.60}")
    if type(value) is float and not math.isfinite(value):
        raise _Invalid(path, f"expected a finite number, got {value!r}")
    if more:
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
    by_key, required, own_validate = _declared(cls)
    for key, value in son.items():
        declared = by_key.get(key)
        if declared is None:
            undeclared = sorted(str(k) for k in son if k not in by_key)
            raise _Invalid(prefix + undeclared[0], f"undeclared field(s) {undeclared} "
                           f"(declare them in schemas.documents.{cls.__name__})")
        if value is not None:
            _check_value(declared[1], value, prefix + declared[0])
    for name, key in required:
        if son.get(key) is None:
            raise _Invalid(prefix + name, "is required")
    if own_validate:  # e.g. Site: the occupancies of its species
        try:
            cls._from_son(son).validate()
        except ValidationError as exc:
            raise _Invalid(prefix.rstrip("."), exc.message) from None


# ------------------------------------------------------------------ the fast path
# The same rules as _check_document, compiled once per declared field into closures that answer
# only "valid or not" (no paths, no messages, no dispatch on the field's kind per value). A document
# the fast path passes is valid; one it fails is checked again by _check_document, which raises
# with the field path and message (or, should the two ever disagree, decides).


@lru_cache(maxsize=None)
def _checker(field: Any) -> Callable[[Any], bool]:
    """Whether a non-null raw value is valid for ``field`` (as _check_value would find it)."""
    if isinstance(field, mf.EmbeddedDocumentField):
        return lambda v: isinstance(v, dict) and _ok_document(field.document_type, v)
    if isinstance(field, mf.ListField):
        inner = field.field
        if inner is None:
            return lambda v: isinstance(v, (list, tuple))
        ok = _checker(inner)
        return lambda v: isinstance(v, (list, tuple)) and all(item is not None and ok(item) for item in v)
    types, more = _scalar_rule(field)
    bool_ok = bool in types

    def scalar(v: Any) -> bool:
        if not isinstance(v, types) or (not bool_ok and isinstance(v, bool)):
            return False
        if type(v) is float and not math.isfinite(v):
            return False
        if more:
            try:
                field._validate(v)
            except ValidationError:
                return False
        return True

    return scalar


@lru_cache(maxsize=None)
def _compiled(cls: type) -> tuple[dict[str, Callable[[Any], bool]], tuple[str, ...], bool]:
    by_key, required, own_validate = _declared(cls)
    return {key: _checker(f) for key, (_name, f) in by_key.items()}, tuple(key for _name, key in required), own_validate


def _ok_document(cls: type, son: dict) -> bool:
    """Whether _check_document(cls, son) would pass."""
    checkers, required, own_validate = _compiled(cls)
    for key, value in son.items():
        ok = checkers.get(key)
        if ok is None or (value is not None and not ok(value)):
            return False
    for key in required:
        if son.get(key) is None:
            return False
    if own_validate:
        try:
            cls._from_son(son).validate()
        except ValidationError:
            return False
    return True


def stored_fields(doc: dict) -> dict:
    """``doc`` without the builders' scratch keys (``_name`` other than ``_id``): what is stored."""
    return {k: v for k, v in doc.items() if not k.startswith("_") or k == "_id"}


def validate_document(collection: str, doc: dict) -> None:
    """Raise DocumentError unless ``doc`` is a valid document of ``collection``.

    Keys starting with ``_`` (other than ``_id``) are the builders' scratch keys, never stored, and
    are not checked.
    """
    cls = DOCUMENT_CLASSES.get(collection)
    doc_id = doc.get("_id")
    if cls is None:
        raise DocumentError(collection, doc_id, f"no document class declares collection {collection!r}")
    son = stored_fields(doc)
    try:
        if not _ok_document(cls, son):  # the fast path; only a failing document is walked for its message
            _check_document(cls, son)
    except _Invalid as exc:
        raise DocumentError(collection, doc_id, exc.message, exc.path) from None
    problem = document_problem(collection, son)  # ranges (registry.VALID_RANGES), NaN/inf when nested
    if problem:
        raise DocumentError(collection, doc_id, problem[1], problem[0])
