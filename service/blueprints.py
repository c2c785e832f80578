"""The one explicit list of API blueprints. Imports are plain: a broken module fails loudly."""

from __future__ import annotations

from ionbase.service.analysis_runs.views import blp as analysis_runs
from ionbase.service.export.views import blp as export
from ionbase.service.health.views import blp as health
from ionbase.service.imports.views import blp as imports
from ionbase.service.materials.views import blp as materials
from ionbase.service.measurements.views import blp as measurements
from ionbase.service.plots.views import blp as plots
from ionbase.service.properties.views import blp as properties
from ionbase.service.routes.views import blp as routes
from ionbase.service.samples.views import blp as samples
from ionbase.service.structures.views import blp as structures
from ionbase.service.trends.views import blp as trends

BLUEPRINTS = [
    health,
    materials,
    samples,
    routes,
    structures,
    measurements,
    properties,
    trends,
    plots,
    export,
    imports,
    analysis_runs,
]
