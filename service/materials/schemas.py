"""Schemas of the materials endpoints."""

from __future__ import annotations

import marshmallow as ma

from ionbase.schemas.documents import Material
from ionbase.service.common import PageArgs
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema

F = ma.fields


class MaterialListArgs(PageArgs):
    family = F.String(validate=ma.validate.Length(max=100), metadata={"description": "Materials family"})
    element = F.List(F.String(validate=ma.validate.Length(max=3)), metadata={"description": "Contains all these elements (repeatable)"})
    reduced_formula = F.String(validate=ma.validate.Length(max=200))
    series = F.String(validate=ma.validate.Length(max=200), metadata={"description": "Series name"})


class MaterialSampleRef(ma.Schema):
    id = F.String()
    label = F.String()
    source_key = F.String(allow_none=True)


MaterialOut = document_schema(Material)
MaterialDetail = document_schema(Material, "MaterialDetail", samples=F.List(F.Nested(MaterialSampleRef)))
MaterialPage = page_schema(MaterialOut, "MaterialPage")
