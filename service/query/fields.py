"""The ONE place where API field names map to database paths (``properties`` and ``samples``).

Filter fields (``filter=``), sort fields (``sort=``), sparse fieldsets (``fields=``) and the trend
endpoints all resolve names here. Values are in the canonical unit of the registry
(``schemas.registry``): conductivities in S/cm, temperatures in °C or K as named, durations in h.
"""

from __future__ import annotations

from dataclasses import dataclass

from ionbase.schemas.api import output_fields
from ionbase.schemas.documents import PROPERTY_INTERNAL_FIELDS, Property

STR, NUM, INT, BOOL, STR_LIST = "string", "number", "integer", "boolean", "string list"


@dataclass(frozen=True)
class Field:
    """A queryable field: API name, database path, value type, sortability, description."""

    name: str
    path: str
    type: str
    description: str
    sortable: bool = False
    #: a boolean whose absence means false (``stale``); a route flag's absence means the route is
    #: unknown, so ``= "false"`` matches only samples known not to be (annealed, milled, ...)
    absent_is_false: bool = True

    @property
    def top(self) -> str:
        """Top-level key of the output document that holds this field."""
        top = self.path.split(".")[0]
        return "id" if top == "_id" else top


def _synthesis_fields(prefix: str) -> tuple[Field, ...]:
    """The route-summary fields (``schemas.build.summarize_route``) stored under ``prefix``.

    Properties carry the summary as ``synthesis``, samples as ``summary``: one list, two paths.
    """
    return (
        Field("milling_time_h", f"{prefix}.milling_time_h", NUM, "Total ball-milling time in h (0 when not milled)", sortable=True),
        Field("max_rpm", f"{prefix}.max_rpm", NUM, "Highest milling speed in rpm (absent when not milled)", sortable=True),
        Field("max_anneal_c", f"{prefix}.max_anneal_c", NUM,
              "Highest annealing/sintering temperature in °C. Upper bounds (<, <=) also match samples that "
              "were never annealed (see docs/api.md)", sortable=True),
        Field("anneal_time_h", f"{prefix}.anneal_time_h", NUM, "Total annealing/sintering time in h (0 when not annealed)", sortable=True),
        Field("milled", f"{prefix}.milled", BOOL, "Ball-milled at some step", absent_is_false=False),
        Field("annealed", f"{prefix}.annealed", BOOL, "Annealed or sintered at some step", absent_is_false=False),
        Field("hot_pressed", f"{prefix}.hot_pressed", BOOL, "Hot-pressed at some step", absent_is_false=False),
        Field("cold_pressed", f"{prefix}.cold_pressed", BOOL, "Cold-pressed at some step", absent_is_false=False),
        Field("coated", f"{prefix}.coated", BOOL, "Coated (PVD, gas treatment, casting)", absent_is_false=False),
        Field("n_steps", f"{prefix}.n_steps", INT, "Number of synthesis steps", sortable=True),
        Field("step_types", f"{prefix}.step_types", STR_LIST, "Synthesis step types (use HAS)"),
    )


_FIELDS: tuple[Field, ...] = (
    Field("id", "_id", STR, "Property id", sortable=True),
    Field("property", "name", STR, "Property name (controlled vocabulary, e.g. ionic_conductivity)", sortable=True),
    Field("name", "name", STR, "Alias of property", sortable=True),
    Field("value", "value", NUM, "Value in the canonical unit of the property", sortable=True),
    Field("uncertainty", "uncertainty", NUM, "Uncertainty (canonical unit)", sortable=True),
    Field("unit", "unit", STR, "Canonical unit of the value (pint syntax, e.g. S/cm)"),
    Field("qualifier", "qualifier", STR, "approximate | upper_bound | lower_bound | range | exact"),
    Field("temperature_c", "temperature_c", NUM, "Measurement temperature in °C", sortable=True),
    Field("temperature_k", "temperature_k", NUM, "Measurement temperature in K", sortable=True),
    Field("elements", "elements", STR_LIST, "Elements of the material (use HAS / HAS ALL / HAS ANY / HAS ONLY)"),
    Field("nelements", "nelements", INT, "Number of elements", sortable=True),
    Field("formula", "formula", STR, "Formula as entered", sortable=True),
    Field("reduced_formula", "reduced_formula", STR, "Reduced formula (pymatgen)", sortable=True),
    Field("material_id", "material_id", STR, "Material id", sortable=True),
    Field("family", "family", STR, "Materials family (registry.FAMILIES)", sortable=True),
    Field("components", "component_formulas", STR_LIST,
          "Reduced formulas of a composite's components, e.g. components HAS \"SiO2\""),
    Field("series", "series_name", STR, "Solid-solution series name, e.g. Na3-xIn1-xZrxCl6", sortable=True),
    Field("x", "series_value", NUM, "Series parameter value (refined if known, else nominal)", sortable=True),
    Field("doi", "doi", STR, "DOI of the source", sortable=True),
    Field("sample", "sample_label", STR, "Sample label", sortable=True),
    Field("sample_label", "sample_label", STR, "Sample label", sortable=True),
    Field("sample_id", "sample", STR, "Sample id", sortable=True),
    Field("origin", "origin", STR, "reported | measured | derived", sortable=True),
    Field("stale", "stale", BOOL, "Derived value whose inputs changed since it was computed"),
    Field("flags", "flags", STR_LIST, "Quality flags of a derived value (poor_fit, few_points); "
          "flags HAS \"poor_fit\" finds them, NOT flags IS KNOWN excludes every flagged value"),
    Field("measurement", "measurement", STR, "Id of the measurement the value comes from"),
    Field("structure", "structure", STR, "Id of the structure result the value comes from"),
    Field("job", "provenance.job", STR, "Analysis job that derived the value"),
    # synthesis route summary (schemas.build.summarize_route)
    *_synthesis_fields("synthesis"),
    # measurement conditions
    Field("method", "conditions.method", STR, "Measurement method (EIS, DC polarization, ...)"),
    Field("cell", "conditions.cell", STR, "Cell configuration"),
    Field("atmosphere", "conditions.atmosphere", STR, "Atmosphere during the measurement"),
    Field("current_density", "conditions.current_density", NUM, "Applied current density in mA/cm²"),
    Field("areal_capacity", "conditions.areal_capacity", NUM, "Areal capacity per half cycle in mAh/cm²"),
    Field("c_rate", "conditions.c_rate", NUM, "C-rate in 1/h"),
    Field("cycle_number", "conditions.cycle_number", INT, "Cycle the value refers to"),
    Field("voltage", "conditions.voltage", NUM, "Applied voltage in V"),
    Field("stack_pressure", "conditions.stack_pressure", NUM, "Stack pressure in MPa"),
)

#: filter/sort name -> Field
FIELDS: dict[str, Field] = {f.name: f for f in _FIELDS}

#: ``GET /samples?filter=``: the same grammar over sample documents (``samples`` collection), so
#: samples without any property can be found by composition and synthesis
_SAMPLE_FIELDS: tuple[Field, ...] = (
    Field("id", "_id", STR, "Sample id", sortable=True),
    Field("label", "label", STR, "Sample label", sortable=True),
    Field("sample", "label", STR, "Alias of label", sortable=True),
    Field("source_key", "source_key", STR, "DOI or notebook reference of the sample's source", sortable=True),
    Field("material_id", "material", STR, "Material id", sortable=True),
    Field("material", "material", STR, "Alias of material_id", sortable=True),
    Field("parent", "parent", STR, "Id of the parent sample"),
    Field("reduced_formula", "reduced_formula", STR, "Reduced formula (pymatgen)", sortable=True),
    Field("elements", "elements", STR_LIST, "Elements of the material (use HAS / HAS ALL / HAS ANY)"),
    Field("family", "family", STR, "Materials family (registry.FAMILIES)", sortable=True),
    Field("operator", "operator", STR, "Who made the sample"),
    Field("tags", "tags", STR_LIST, "Sample tags (use HAS)"),
    *_synthesis_fields("summary"),
)
SAMPLE_FIELDS: dict[str, Field] = {f.name: f for f in _SAMPLE_FIELDS}

#: collection -> its filter fields (``service.query.filter.parse_filter(text, on=...)``)
FIELD_SETS: dict[str, dict[str, Field]] = {"properties": FIELDS, "samples": SAMPLE_FIELDS}

#: booleans accepted in filters (OPTIMADE has no boolean literal): annealed="false", stale=0
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}

#: keys of a property document as the API returns it (id instead of _id), from schemas.documents.Property
OUTPUT_FIELDS: tuple[str, ...] = output_fields(Property, exclude=PROPERTY_INTERNAL_FIELDS)

#: numeric synthesis parameters the synthesis-trend endpoint accepts
TREND_PARAMETERS = tuple(f.name for f in _FIELDS if f.path.startswith("synthesis.") and f.type in (NUM, INT))

DEFAULT_SORT = "id"


def field(name: str) -> Field:
    """The Field called ``name``; KeyError if unknown."""
    return FIELDS[name]


def output_key(name: str) -> str | None:
    """Top-level output key for a ``fields=`` entry (output names and filter names both work)."""
    if name in OUTPUT_FIELDS:
        return name
    f = FIELDS.get(name)
    return f.top if f else None
