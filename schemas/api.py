"""Marshmallow output schemas generated from the storage documents (``schemas.documents``).

The API returns stored documents with ``_id`` renamed ``id`` and datetimes as ISO strings; these
schemas document (and dump) exactly that shape, so a new field in ``schemas.documents`` shows up in
the API and its OpenAPI document without touching this package.
"""

from __future__ import annotations

from functools import lru_cache

import marshmallow as ma
import mongoengine.fields as mf

F = ma.fields


def _field(f) -> ma.fields.Field:
    kw: dict = {"allow_none": True}
    if getattr(f, "help_text", None):
        kw["metadata"] = {"description": f.help_text}
    if isinstance(f, mf.EmbeddedDocumentListField):
        return F.List(F.Nested(embedded_schema(f.field.document_type)), **kw)
    if isinstance(f, mf.EmbeddedDocumentField):
        return F.Nested(embedded_schema(f.document_type), **kw)
    if isinstance(f, mf.ListField):
        inner = f.field
        if isinstance(inner, mf.StringField):
            return F.List(F.String(), **kw)
        if isinstance(inner, (mf.FloatField, mf.IntField)):
            return F.List(F.Float(), **kw)
        return F.List(F.Raw(), **kw)
    if isinstance(f, (mf.StringField, mf.ReferenceField, mf.DateTimeField)):
        return F.String(**kw)
    if isinstance(f, mf.FloatField):
        return F.Float(**kw)
    if isinstance(f, mf.IntField):
        return F.Integer(**kw)
    if isinstance(f, mf.BooleanField):
        return F.Boolean(**kw)
    if isinstance(f, mf.DictField):
        return F.Dict(**kw)
    return F.Raw(**kw)


def output_fields(doc_cls, exclude: tuple[str, ...] = ()) -> tuple[str, ...]:
    """Keys of a stored document as the API returns it (``id`` for ``_id``), in declaration order."""
    return tuple("id" if name in ("id", "_id") else name for name in doc_cls._fields if name not in exclude)


def _fields_of(doc_cls, exclude: tuple[str, ...] = ()) -> dict:
    out = {}
    for name, f in doc_cls._fields.items():
        if name not in exclude:
            out["id" if name in ("id", "_id") else name] = _field(f)
    return out


@lru_cache(maxsize=None)
def embedded_schema(doc_cls) -> type[ma.Schema]:
    return ma.Schema.from_dict(_fields_of(doc_cls), name=doc_cls.__name__)


@lru_cache(maxsize=None)
def document_schema(doc_cls, name: str | None = None, exclude: tuple[str, ...] = (),
                    **extra: ma.fields.Field) -> type[ma.Schema]:
    """Schema of a stored document without the ``exclude`` fields, plus ``extra`` fields (e.g. embedded
    related records)."""
    return ma.Schema.from_dict({**_fields_of(doc_cls, exclude), **extra}, name=name or doc_cls.__name__)
