"""The one explicit list of API blueprints. Imports are plain: a broken module fails loudly."""

from __future__ import annotations

from service.analysis_runs.views import blp as analysis_runs
from service.export.views import blp as export
from service.health.views import blp as health
from service.imports.views import blp as imports
from service.materials.views import blp as materials
from service.measurements.views import blp as measurements
from service.plots.views import blp as plots
from service.properties.views import blp as properties
from service.routes.views import blp as routes
from service.samples.views import blp as samples
from service.structures.views import blp as structures
from service.trends.views import blp as trends

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
