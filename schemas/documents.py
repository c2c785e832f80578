"""Storage documents (mongoengine). One collection per entity; ids are deterministic strings.

This is the one declaration of every stored document: writers validate each dict against it just
before writing (``schemas.validate``), and the API output schemas and field lists are generated from
it (``schemas.api``; a field's ``help_text`` is its API description). Indexes are declared here, in
each document's ``meta``, and nowhere else; ``store.ensure_indexes`` creates them at start-up. Domain logic (formula parsing, unit conversion, route hashing) lives in
``schemas.build``; these classes only describe shape and constraints.
"""

from __future__ import annotations

from mongoengine import (
    BooleanField,
    DateTimeField,
    DictField,
    Document,
    EmbeddedDocument,
    EmbeddedDocumentField,
    EmbeddedDocumentListField,
    FloatField,
    IntField,
    ListField,
    ReferenceField,
    StringField,
    ValidationError,
)

from ionbase.schemas import registry


def _in(choices):
    def check(value):
        if value is not None and value not in choices:
            raise ValidationError(f"{value!r} is not one of {sorted(choices)}")

    return check


def _nonnegative(value):
    if value is not None and value < 0:
        raise ValidationError(f"must not be negative, got {value}")


def _positive(value):
    if value is not None and value <= 0:
        raise ValidationError(f"must be positive, got {value}")


def _occupancy(value):
    if value is not None and not (0 < value <= 1.0 + 1e-6):
        raise ValidationError(f"occupancy must be in (0, 1], got {value}")


class SourceRef(EmbeddedDocument):
    """Where a record comes from: a DOI or a notebook, and the place inside it."""

    doi = StringField()
    notebook = StringField()
    citation = StringField()
    title = StringField()
    table = StringField()
    figure = StringField()
    section = StringField()
    page = StringField()
    quote = StringField()
    file = StringField()
    line = IntField()


class Measured(EmbeddedDocument):
    """A number in its canonical unit with uncertainty and what was entered."""

    value = FloatField(required=True)
    unit = StringField(required=True)
    uncertainty = FloatField(validation=_nonnegative)
    qualifier = StringField(validation=_in(registry.QUALIFIERS))
    range = ListField(FloatField())
    entered = DictField()


class Series(EmbeddedDocument):
    name = StringField(required=True)
    parameter = StringField(required=True)
    nominal = FloatField()
    refined = FloatField()


class Component(EmbeddedDocument):
    formula = StringField(required=True)
    reduced_formula = StringField()
    fraction = FloatField(validation=_nonnegative)
    basis = StringField(validation=_in(("vol", "wt", "mol")))
    role = StringField()
    name = StringField()
    descriptors = DictField()  # property name -> Measured-like dict


class Material(Document):
    id = StringField(primary_key=True)
    key = StringField(required=True)
    formula = StringField(required=True)
    reduced_formula = StringField(required=True)
    elements = ListField(StringField())
    nelements = IntField()
    chemsys = StringField()
    family = StringField(validation=_in(registry.FAMILIES))
    name = StringField()
    series = EmbeddedDocumentField(Series)
    components = EmbeddedDocumentListField(Component)
    source = EmbeddedDocumentField(SourceRef)
    notes = StringField()
    batch_id = StringField()
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {
        "collection": "materials",
        "indexes": ["reduced_formula", "elements", "family", "series.name", "batch_id"],
    }


class Step(EmbeddedDocument):
    order = IntField(required=True)
    type = StringField(required=True, validation=_in(registry.STEP_TYPES))
    params = DictField()  # canonical values (numbers, strings, bools)
    entered = DictField()  # what the user wrote
    notes = StringField()
    description = StringField()


class RouteSummary(EmbeddedDocument):
    """What queries filter on, computed from the steps (see schemas.build.summarize_route)."""

    step_types = ListField(StringField())
    milled = BooleanField(default=False)
    milling_time_h = FloatField()
    max_rpm = FloatField()
    annealed = BooleanField(default=False)
    max_anneal_c = FloatField()
    anneal_ceiling_c = FloatField()  # max_anneal_c, or 25 °C when never annealed
    anneal_time_h = FloatField()
    hot_pressed = BooleanField(default=False)
    cold_pressed = BooleanField(default=False)
    coated = BooleanField(default=False)
    n_steps = IntField()


class SynthesisRoute(Document):
    id = StringField(primary_key=True)  # content hash of the steps
    steps = EmbeddedDocumentListField(Step)
    summary = EmbeddedDocumentField(RouteSummary)
    batch_id = StringField()
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {"collection": "routes", "indexes": ["summary.step_types", "batch_id"]}


class Sample(Document):
    id = StringField(primary_key=True)
    label = StringField(required=True)
    source_key = StringField(required=True)  # DOI or notebook reference
    material = ReferenceField(Material, dbref=False, required=True)
    route = ReferenceField(SynthesisRoute, dbref=False)
    parent = ReferenceField("Sample", dbref=False)
    own_steps = EmbeddedDocumentListField(Step)
    source = EmbeddedDocumentField(SourceRef)
    operator = StringField()
    date = StringField()
    notes = StringField()
    tags = ListField(StringField())
    # denormalized for queries
    reduced_formula = StringField()
    elements = ListField(StringField())
    family = StringField()
    summary = EmbeddedDocumentField(RouteSummary)
    # set (True) when a steps row of this sample or of an ancestor was refused (import --skip-invalid):
    # its route is stored empty, as unknown, rather than missing a step (ingest/adapt_samples.route_for)
    route_unknown = BooleanField()
    # set (True) when this sample's own steps rows were refused: its route stays unknown when its
    # parent's route is derived again (ingest/cascade.py), whatever the parent's route becomes
    steps_refused = BooleanField()
    batch_id = StringField()
    shadow_batch = StringField()  # only on a new version written beside the old one (store/shadows.py)
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {
        "collection": "samples",
        "indexes": [
            {"fields": ["source_key", "label", "shadow_batch"], "unique": True},
            "material",
            "parent",
            "elements",
            "family",
            "label",
            "batch_id",
        ],
    }


class Site(EmbeddedDocument):
    label = StringField(required=True)
    species = DictField(required=True)  # element -> occupancy
    wyckoff = StringField()
    multiplicity = IntField(validation=_positive)
    x = FloatField()
    y = FloatField()
    z = FloatField()
    b_iso = EmbeddedDocumentField(Measured)
    u_iso = EmbeddedDocumentField(Measured)
    occupancy = EmbeddedDocumentField(Measured)

    def validate(self, clean=True):
        super().validate(clean)
        for element, occ in (self.species or {}).items():
            try:
                _occupancy(float(occ))
            except ValidationError as exc:
                raise ValidationError(f"site {self.label}: {element}: {exc}") from None


class Phase(EmbeddedDocument):
    name = StringField()
    formula = StringField()
    space_group_symbol = StringField()
    space_group_number = IntField(min_value=1, max_value=230)
    lattice = DictField()  # a, b, c, alpha, beta, gamma -> Measured-like dict
    volume = EmbeddedDocumentField(Measured)
    density = EmbeddedDocumentField(Measured)
    z = IntField(validation=_positive)
    crystallite_size = EmbeddedDocumentField(Measured)
    microstrain = EmbeddedDocumentField(Measured)
    coherence_length = EmbeddedDocumentField(Measured)
    phase_fraction = EmbeddedDocumentField(Measured)
    fit = DictField()  # Rp, Rwp, Rexp, chi2, Rw, range
    sites = EmbeddedDocumentListField(Site)
    structure = DictField()  # pymatgen Structure.as_dict(), optional
    cif = StringField()
    notes = StringField()


class StructureResult(Document):
    id = StringField(primary_key=True)
    sample = ReferenceField(Sample, dbref=False, required=True)
    label = StringField(required=True)
    method = StringField(required=True, validation=_in(registry.STRUCTURE_METHODS))
    radiation = StringField()
    wavelength = EmbeddedDocumentField(Measured)
    temperature = EmbeddedDocumentField(Measured)
    phases = EmbeddedDocumentListField(Phase)
    source = EmbeddedDocumentField(SourceRef)
    notes = StringField()
    batch_id = StringField()
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {"collection": "structures", "indexes": ["sample", "batch_id"]}


class Layer(EmbeddedDocument):
    material = StringField()
    role = StringField()
    thickness = EmbeddedDocumentField(Measured)
    resistance = EmbeddedDocumentField(Measured)


class Cell(EmbeddedDocument):
    """Geometry and configuration of the measured cell or pellet."""

    electrodes = StringField()
    blocking = StringField(validation=_in(("ion", "electron", "none", "mixed")))
    thickness = EmbeddedDocumentField(Measured)  # µm
    area = EmbeddedDocumentField(Measured)  # cm²
    diameter = EmbeddedDocumentField(Measured)  # mm
    layers = EmbeddedDocumentListField(Layer)
    notes = StringField()


class Measurement(Document):
    """Metadata and small payloads of a measurement. Arrays live in MeasurementArrays chunks."""

    id = StringField(primary_key=True)
    sample = ReferenceField(Sample, dbref=False, required=True)
    kind = StringField(required=True, validation=_in(registry.MEASUREMENT_KINDS))
    label = StringField(required=True)
    temperature = EmbeddedDocumentField(Measured)
    cell = EmbeddedDocumentField(Cell)
    method = StringField()
    payload = DictField()  # kind-specific scalars and small lists (canonical units)
    array_names = ListField(StringField())
    array_units = DictField()
    n_points = IntField(min_value=0)
    n_chunks = IntField(min_value=0)
    file = DictField()  # name, sha256, format, loop
    source = EmbeddedDocumentField(SourceRef)
    notes = StringField()
    batch_id = StringField()
    shadow_batch = StringField()  # only on a new version written beside the old one (store/shadows.py)
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {
        "collection": "measurements",
        "indexes": [
            {"fields": ["sample", "label", "shadow_batch"], "unique": True},
            "kind",
            "batch_id",
        ],
    }


class MeasurementArrays(Document):
    """A chunk of a measurement's arrays; chunking keeps every document far below 16 MB."""

    id = StringField(primary_key=True)  # <measurement id>:<chunk>
    measurement = StringField(required=True)
    chunk = IntField(required=True, min_value=0)
    arrays = DictField()  # name -> list of floats
    batch_id = StringField()
    shadow_batch = StringField()  # only on a new version written beside the old one (store/shadows.py)
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {
        "collection": "measurement_arrays",
        "indexes": [{"fields": ["measurement", "chunk", "shadow_batch"], "unique": True}, "batch_id"],
    }


class Provenance(EmbeddedDocument):
    job = StringField()
    job_version = StringField()
    code_version = StringField()  # the installed ionbase version
    versions = DictField()  # {distribution: version} of ionbase, numpy, scipy, pymatgen, impedance, ...
    inputs = ListField(StringField())
    input_fingerprint = StringField()
    parameters = DictField()
    computed_at = DateTimeField()
    run_id = StringField()


class Property(Document):
    """One scalar value: reported, measured or derived. The collection the API queries."""

    id = StringField(primary_key=True)
    sample = ReferenceField(Sample, dbref=False, required=True)
    name = StringField(required=True, validation=_in(registry.PROPERTIES))
    value = FloatField(required=True)
    uncertainty = FloatField(validation=_nonnegative)
    unit = StringField(required=True)
    qualifier = StringField(validation=_in(registry.QUALIFIERS))
    range = ListField(FloatField())
    entered = DictField()
    conditions = DictField()  # canonical: temperature_k, temperature_c, current_density, method, ...
    temperature_k = FloatField()
    temperature_c = FloatField()
    origin = StringField(required=True, validation=_in(registry.ORIGINS))
    source = EmbeddedDocumentField(SourceRef)
    provenance = EmbeddedDocumentField(Provenance)
    measurement = StringField()
    structure = StringField()
    stale = BooleanField(default=False)
    flags = ListField(StringField(validation=_in(registry.QUALITY_FLAGS)),
                      help_text="Quality flags of a derived value (registry.QUALITY_FLAGS)")
    notes = StringField()
    # denormalized copies of what queries filter on
    sample_label = StringField()
    material_id = StringField()
    formula = StringField()
    reduced_formula = StringField()
    elements = ListField(StringField())
    nelements = IntField()
    family = StringField()
    series_name = StringField()
    series_value = FloatField()
    components = ListField(DictField(), help_text="Composites: [{formula, fraction (%), basis}]")
    component_formulas = ListField(StringField())
    component_keys = ListField(StringField())  # "<basis>:<formula>", one export column each
    doi = StringField()
    synthesis = EmbeddedDocumentField(RouteSummary)
    batch_id = StringField()
    content_hash = StringField()
    updated_at = DateTimeField()

    meta = {
        "collection": "properties",
        "indexes": [
            ("name", "temperature_c", "value"),
            ("name", "value"),
            ("elements", "name"),
            ("family", "name"),
            "sample",
            "sample_label",
            "reduced_formula",
            "series_name",
            "synthesis.milling_time_h",
            "synthesis.max_anneal_c",
            "batch_id",
            "provenance.job",
        ],
    }


#: stored Property fields the API does not return (bookkeeping; component_keys serve the export's columns)
PROPERTY_INTERNAL_FIELDS = ("content_hash", "component_keys")


class ImportBatch(Document):
    id = StringField(primary_key=True)
    status = StringField(
        required=True, validation=_in(("pending", "committing", "committed", "failed", "rolled_back"))
    )
    files = ListField(DictField())  # path, name, sha256, size, format
    counts = DictField()
    user = StringField()
    started_at = DateTimeField()
    finished_at = DateTimeField()
    errors = ListField(DictField())
    options = DictField()
    touched_samples = ListField(StringField())
    rolled_back_at = DateTimeField()
    rollback = DictField()  # state running|done, started_at, finished_at, pid, host, proc_start, heartbeat (store/rollback.py)
    recovered = StringField()
    # changed documents written beside the old ones (store/shadows.py): staged while pending, live
    # from the commit point, dead once the changed documents hold the new versions, then done
    # (or removed, for a failed batch)
    shadows = StringField(validation=_in(("staged", "live", "dead", "done", "removed")))

    meta = {"collection": "import_batches", "indexes": ["status", "-started_at"]}


class ImportHistory(Document):
    """A version that an import batch replaced, saved before the batch commits (store/batches.py): rollback
    restores it; the batch's commit settles its changed documents from this list."""

    id = StringField(primary_key=True)  # <batch id>:<collection>:<document id>
    batch_id = StringField(required=True)
    coll = StringField(required=True)
    doc = DictField()

    meta = {"collection": "import_history", "indexes": ["batch_id", "doc.batch_id"]}


class ImportClaim(Document):
    """A record document held by a running import batch or rollback (store/claims.py)."""

    id = StringField(primary_key=True)  # <collection>:<document id> (exclusive) or ...#<batch id> (shared)
    doc = StringField(required=True)  # <collection>:<document id>
    batch_id = StringField(required=True)
    mode = StringField(validation=_in(("x", "s")))  # exclusive (to write) or shared (counted unchanged)

    meta = {"collection": "import_claims", "indexes": ["batch_id", "doc"]}


class AnalysisRun(Document):
    id = StringField(primary_key=True)
    jobs = ListField(StringField())
    status = StringField(validation=_in(("running", "finished", "failed")))
    started_at = DateTimeField()
    finished_at = DateTimeField()
    counts = DictField()
    executor = StringField()
    options = DictField()
    errors = ListField(DictField())
    pid = IntField()  # the process running it, on host: a run whose process is gone is stale (jobs/runs.py)
    host = StringField()
    heartbeat_at = DateTimeField()
    recovered = StringField()  # set when recover marked the run failed

    meta = {"collection": "analysis_runs", "indexes": ["-started_at"]}


class JobItemState(Document):
    """Per (job, item) bookkeeping for incremental recomputation."""

    id = StringField(primary_key=True)  # <job>:<item id>
    job = StringField(required=True)
    item = StringField(required=True)
    sample = StringField()
    job_version = StringField()
    input_fingerprint = StringField()
    state = StringField(validation=_in(("ok", "failed", "skipped")))
    error = StringField()
    outputs = ListField(StringField())
    run_id = StringField()
    updated_at = DateTimeField()

    meta = {"collection": "job_items", "indexes": [("job", "item"), ("job", "sample"), "state"]}


class ApiKey(Document):
    id = StringField(primary_key=True)  # key prefix (public part)
    name = StringField(required=True)
    role = StringField(required=True, validation=_in(("reader", "writer", "admin")))
    hash = StringField(required=True)
    created_at = DateTimeField()
    revoked = BooleanField(default=False)

    meta = {"collection": "api_keys"}


ALL_DOCUMENTS = (
    Material,
    SynthesisRoute,
    Sample,
    StructureResult,
    Measurement,
    MeasurementArrays,
    Property,
    ImportBatch,
    ImportHistory,
    ImportClaim,
    AnalysisRun,
    JobItemState,
    ApiKey,
)

#: collections that hold imported records (visibility filtered by batch)
RECORD_DOCUMENTS = (Material, SynthesisRoute, Sample, StructureResult, Measurement, MeasurementArrays, Property)
