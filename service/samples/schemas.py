"""Schemas of the samples endpoints."""

from __future__ import annotations

import marshmallow as ma

from ionbase.schemas import registry
from ionbase.schemas.documents import Material, Measurement, Property, Sample, StructureResult, SynthesisRoute
from ionbase.service.common import PageArgs
from ionbase.service.query.filter import MAX_FILTER_LENGTH
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema

F = ma.fields


class SampleListArgs(PageArgs):
    material = F.String(validate=ma.validate.Length(max=200), metadata={"description": "Material id"})
    element = F.List(F.String(validate=ma.validate.Length(max=3)), metadata={"description": "Contains all these elements"})
    family = F.String(validate=ma.validate.Length(max=100))
    label = F.String(validate=ma.validate.Length(max=200))
    source_key = F.String(validate=ma.validate.Length(max=300), metadata={"description": "DOI or notebook reference"})
    filter = F.String(load_default=None, validate=ma.validate.Length(max=MAX_FILTER_LENGTH), metadata={
        "description": "OPTIMADE filter over sample fields (family, elements, label, material, reduced_formula, "
                       "synthesis summary: milling_time_h, max_rpm, max_anneal_c, anneal_time_h, milled, annealed, "
                       "hot_pressed, ...; docs/api.md), e.g. `elements HAS \"Na\" AND milling_time_h>=4 AND "
                       "max_anneal_c<=300`. Combined with the other parameters by AND.",
    })


class SampleRef(ma.Schema):
    id = F.String()
    label = F.String()


class Lineage(ma.Schema):
    parents = F.List(F.Nested(SampleRef), metadata={"description": "Parent chain, nearest first"})
    children = F.List(F.Nested(SampleRef))


SampleOut = document_schema(Sample)
SamplePage = page_schema(SampleOut, "SamplePage")
SampleDetail = document_schema(
    Sample, "SampleDetail",
    material_doc=F.Nested(document_schema(Material)),
    lineage=F.Nested(Lineage),
    route_doc=F.Nested(document_schema(SynthesisRoute, "Route"), allow_none=True),
    measurements=F.List(F.Nested(document_schema(Measurement))),
    structures=F.List(F.Nested(document_schema(StructureResult, "Structure"))),
    properties=F.List(F.Nested(document_schema(Property))),
)


class ArrheniusArgs(ma.Schema):
    property = F.String(load_default="ionic_conductivity", validate=ma.validate.OneOf(registry.CONDUCTIVITY_PROPERTIES))


class ArrheniusPoint(ma.Schema):
    id = F.String()
    temperature_c = F.Float()
    temperature_k = F.Float()
    inverse_temperature = F.Float(metadata={"description": "1000/T in 1/K"})
    value = F.Float()
    uncertainty = F.Float(allow_none=True)
    log10_value = F.Float(allow_none=True)
    qualifier = F.String(allow_none=True, validate=ma.validate.OneOf(registry.QUALIFIERS), metadata={"description": (
        "null/exact: a value; approximate (e.g. an Arrhenius extrapolation); upper_bound / lower_bound: "
        "the value is a bound (< or >), not a measured value; range")})
    origin = F.String(metadata={"description": "reported, measured or derived"})
    method = F.String(allow_none=True, metadata={"description": "conditions.method, e.g. EIS or Arrhenius extrapolation"})
    flags = F.List(F.String(), metadata={"description": "Quality flags of the value"})
    measurement = F.String(allow_none=True)


class Arrhenius(ma.Schema):
    sample = F.Nested(SampleRef)
    property = F.String()
    unit = F.String()
    carrier = F.String(allow_none=True, metadata={"description": (
        "Charge carrier of the property: ionic, electronic or total (null: a property the Arrhenius job does not fit)")})
    points = F.List(F.Nested(ArrheniusPoint), metadata={"description": "Values of the property with a temperature; stale ones left out"})
    fits = F.List(F.Dict(), metadata={"description": (
        "Derived Arrhenius fits of this carrier only, one per conductivity series (the analysis job fits each series "
        "on its own): {series, segment, carrier, flags, properties: {name: property document}}; several series of one "
        "sample are never merged; stale fits are left out")})
    reported = F.List(F.Dict(), metadata={"description": (
        "Stated (reported or measured) activation energies / prefactors whose `carrier` condition is this carrier")})
    carrier_unknown = F.List(F.Dict(), metadata={"description": (
        "Activation energies / prefactors (stated or derived) whose carrier is not stated: unknown, never counted as "
        "this carrier's (listed for every carrier); stale ones left out")})
    n_stale = F.Integer(metadata={"description": (
        "Stale derived values (points and fit values) left out: their inputs changed since they were computed; "
        "run the analysis again")})
