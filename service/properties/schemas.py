"""Marshmallow schemas of the properties endpoints."""

from __future__ import annotations

import marshmallow as ma

from ionbase.schemas.api import document_schema
from ionbase.schemas.documents import PROPERTY_INTERNAL_FIELDS, Property
from ionbase.service.common import PageArgs, PageMeta
from ionbase.service.query.filter import MAX_FILTER_LENGTH

F = ma.fields


class PropertyQueryArgs(PageArgs):
    filter = F.String(load_default=None, validate=ma.validate.Length(max=MAX_FILTER_LENGTH), metadata={
        "description": "OPTIMADE filter over Ionbase field names (GET /api/v1/properties/fields), e.g. "
                       '`property="ionic_conductivity" AND temperature_c=25 AND value>=1e-4 AND elements HAS "Na"`. '
                       "Values in canonical units.",
    })
    sort = F.String(load_default=None, validate=ma.validate.Length(max=200),
                    metadata={"description": "Comma-separated sort fields, `-` for descending, e.g. `-value,temperature_c`."})
    fields = F.String(load_default=None, validate=ma.validate.Length(max=1000),
                      metadata={"description": "Sparse fieldset: comma-separated output keys, e.g. `name,value,sample_label`."})
    include_total = F.Boolean(load_default=False,
                              metadata={"description": "Also count all matches (slow on large collections)."})
    unit = F.String(load_default=None, validate=ma.validate.Length(max=50),
                    metadata={"description": "Convert value and uncertainty to this unit, e.g. `mS/cm` "
                                             "(400 unless every returned property has a compatible dimension)."})
    expand = F.String(load_default=None, validate=ma.validate.OneOf(["sample"]),
                      metadata={"description": "`sample`: embed each sample's label, parent and synthesis steps."})


class SampleExpanded(ma.Schema):
    id = F.String()
    label = F.String()
    parent = F.String(allow_none=True)
    route = F.String(allow_none=True)
    summary = F.Dict(allow_none=True)
    steps = F.List(F.Dict())


#: a property as the API returns it, generated from the storage declaration (schemas.documents.Property)
PropertyOut = document_schema(Property, "PropertyOut", exclude=PROPERTY_INTERNAL_FIELDS,
                              sample_expanded=F.Nested(SampleExpanded))


class PropertyPage(ma.Schema):
    data = F.List(F.Nested(PropertyOut))
    meta = F.Nested(PageMeta)


class FieldOut(ma.Schema):
    name = F.String()
    path = F.String()
    type = F.String()
    sortable = F.Boolean()
    description = F.String()


class FieldList(ma.Schema):
    data = F.List(F.Nested(FieldOut))
