"""Turn validated import records into storage documents (plain dicts ready for MongoDB).

Pure functions: no database access. Each raises :class:`RecordError` naming the field when a value
is wrong. Ids are deterministic from natural keys, so importing the same record twice yields the
same document id. Every document is checked against its declaration in ``schemas.documents``
(:func:`validate_document`) just before it is written.

This module is the public face of the builders, which live by responsibility in
``build_common`` (errors, ids, quantities, sources, formulas), ``build_records`` (materials,
steps, routes, samples, properties), ``build_structures`` and ``build_measurements``.
"""

from __future__ import annotations

from ionbase.schemas.build_common import (  # noqa: F401 (re-exported)
    ARRAY_CHUNK_POINTS,
    RecordError,
    _drop_none,
    _float,
    _known,
    build_source,
    location_key,
    make_id,
    measured,
    parse_formula,
    source_key,
    stable_hash,
    stable_json,
)
from ionbase.schemas.build_measurements import (  # noqa: F401 (re-exported)
    build_cell,
    build_measurement,
    chunk_arrays,
    measurement_properties,
)
from ionbase.schemas.build_records import (  # noqa: F401 (re-exported)
    HEAT_TREATMENTS,
    build_conditions,
    build_material,
    build_property,
    build_route,
    build_sample,
    build_steps,
    denormalize,
    property_id,
    sample_id,
    summarize_route,
)
from ionbase.schemas.build_structures import (  # noqa: F401 (re-exported)
    build_phase,
    build_site,
    build_structure,
    structure_properties,
)
from ionbase.schemas.validate import DocumentError, validate_document  # noqa: F401 (re-exported)
