"""The ONE place where API field names map to database paths (``properties`` collection).

Filter fields (``filter=``), sort fields (``sort=``), sparse fieldsets (``fields=``) and the trend
endpoints all resolve names here. Values are in the canonical unit of the registry
(``schemas.registry``): conductivities in S/cm, temperatures in °C or K as named, durations in h.
"""

from __future__ import annotations

from dataclasses import dataclass

STR, NUM, INT, BOOL, STR_LIST = "string", "number", "integer", "boolean", "string list"


@dataclass(frozen=True)
class Field:
    """A queryable field: API name, database path, value type, sortability, description."""

    name: str
    path: str
    type: str
    description: str
    sortable: bool = False

    @property
    def top(self) -> str:
        """Top-level key of the output document that holds this field."""
        top = self.path.split(".")[0]
        return "id" if top == "_id" else top


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
    Field("milling_time_h", "synthesis.milling_time_h", NUM, "Total ball-milling time in h (0 when not milled)", sortable=True),
    Field("max_rpm", "synthesis.max_rpm", NUM, "Highest milling speed in rpm (absent when not milled)", sortable=True),
    Field("max_anneal_c", "synthesis.max_anneal_c", NUM,
          "Highest annealing/sintering temperature in °C. Upper bounds (<, <=) also match samples that "
          "were never annealed (see docs/api.md)", sortable=True),
    Field("anneal_time_h", "synthesis.anneal_time_h", NUM, "Total annealing/sintering time in h (0 when not annealed)", sortable=True),
    Field("milled", "synthesis.milled", BOOL, "Ball-milled at some step"),
    Field("annealed", "synthesis.annealed", BOOL, "Annealed or sintered at some step"),
    Field("hot_pressed", "synthesis.hot_pressed", BOOL, "Hot-pressed at some step"),
    Field("cold_pressed", "synthesis.cold_pressed", BOOL, "Cold-pressed at some step"),
    Field("coated", "synthesis.coated", BOOL, "Coated (PVD, gas treatment, casting)"),
    Field("n_steps", "synthesis.n_steps", INT, "Number of synthesis steps", sortable=True),
    Field("step_types", "synthesis.step_types", STR_LIST, "Synthesis step types (use HAS)"),
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

#: booleans accepted in filters (OPTIMADE has no boolean literal): annealed="false", stale=0
BOOL_WORDS = {"true": True, "false": False, "1": True, "0": False}

#: keys of a property document as the API returns it (id instead of _id)
OUTPUT_FIELDS: tuple[str, ...] = (
    "id", "name", "value", "uncertainty", "unit", "qualifier", "range", "entered", "conditions",
    "temperature_c", "temperature_k", "origin", "source", "provenance", "measurement", "structure", "stale",
    "flags", "notes", "sample", "sample_label", "material_id", "formula", "reduced_formula", "elements", "nelements",
    "family", "series_name", "series_value", "components", "component_formulas", "doi", "synthesis", "batch_id",
    "updated_at",
)

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
