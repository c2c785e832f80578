"""``/trends``: a property against a synthesis or composition parameter, drawn from ``/api/v1/trends``.

The page only builds the API request (the browser fetches it), so the plot shows exactly what the
API answers. The measurement temperature must be chosen: values at different temperatures are never
mixed silently.
"""

from __future__ import annotations

from urllib.parse import urlencode

from flask import render_template, request

from ionbase.errors import InvalidRequest, UnknownParameter
from ionbase.schemas import registry
from ionbase.service.plots.views import PARAMETERS
from ionbase.service.query.fields import FIELDS, TREND_PARAMETERS
from ionbase.service.query.pipelines import GROUP_KEYS
from ionbase.service.trends.views import CompositionTrendArgs, SynthesisTrendArgs

TREND_FIELDS = ("property", "parameter", "series", "temperature_c", "group_by", "filter")
COMPOSITION = "x"  # the parameter value that plots against the series composition parameter


def _axis_label(parameter: str, series: str | None) -> str:
    if parameter == COMPOSITION:
        return f"x in {series}" if series else "series composition parameter x"
    return PARAMETERS[parameter][1] if parameter in PARAMETERS else FIELDS[parameter].description


def trend_request(form: dict) -> tuple[str, str]:
    """The form -> (API URL, x-axis label); the form is validated with the API's own argument schemas."""
    unknown = sorted(set(form) - set(TREND_FIELDS))
    if unknown:
        raise UnknownParameter(f"unknown trend parameter(s): {', '.join(unknown)}", {k: ["unknown parameter"] for k in unknown})
    if not (form.get("temperature_c") or "").strip():
        raise InvalidRequest("choose the measurement temperature (°C): values at different temperatures are not mixed",
                             {"temperature_c": ["required"]})
    params = {k: v.strip() for k, v in form.items() if k != "parameter" and (v or "").strip()}
    parameter = form.get("parameter") or "milling_time_h"
    if parameter == COMPOSITION:
        params.pop("group_by", None)
        schema, path = CompositionTrendArgs(), "/api/v1/trends/composition"
    else:
        params.pop("series", None)
        params["parameter"] = parameter
        schema, path = SynthesisTrendArgs(), "/api/v1/trends/synthesis"
    errors = schema.validate(params)
    if errors:
        raise InvalidRequest("; ".join(f"{k}: {' '.join(map(str, v))}" for k, v in errors.items()), errors)
    return f"{path}?{urlencode(params)}", _axis_label(parameter, params.get("series"))


def trends_page():
    """The form, and (when complete) a plot element the browser fills from the API."""
    form = request.args.to_dict()
    api_url, x_label, error = None, None, None
    if form:
        try:
            api_url, x_label = trend_request(form)
        except InvalidRequest as exc:
            error = str(exc)
    prop = form.get("property") or "ionic_conductivity"
    unit = registry.QUANTITIES[registry.PROPERTIES[prop].quantity].display_unit if prop in registry.PROPERTIES else ""
    return render_template(
        "trends.html", form=form, error=error, api_url=api_url, x_label=x_label, unit=unit,
        log_y=prop in registry.PROPERTIES and registry.PROPERTIES[prop].quantity == "conductivity",
        properties=sorted(registry.PROPERTIES), parameters=[(p, _axis_label(p, None)) for p in TREND_PARAMETERS],
        group_keys=sorted(GROUP_KEYS),
    ), (400 if error else 200)
