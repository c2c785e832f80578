"""``/api/v1/measurements``: measurement metadata, and their arrays as JSON or CSV."""

from __future__ import annotations

import csv
import io
import math

import marshmallow as ma
from flask import Response
from ionbase.service.params import Blueprint

from ionbase.schemas.documents import Measurement
from ionbase.service.common import PageArgs, clean, get_or_404, get_store, list_page
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema

F = ma.fields
blp = Blueprint("measurements", __name__, url_prefix="/api/v1/measurements", description="Measurements and their data arrays")


class MeasurementListArgs(PageArgs):
    sample = F.String(validate=ma.validate.Length(max=200), metadata={"description": "Sample id"})
    kind = F.String(validate=ma.validate.Length(max=100), metadata={"description": "Measurement kind"})


class DataArgs(ma.Schema):
    format = F.String(load_default="json", validate=ma.validate.OneOf(["json", "csv"]),
                      metadata={"description": "`json` (default) or `csv` (download)"})


class MeasurementData(ma.Schema):
    id = F.String()
    n_points = F.Integer()
    units = F.Dict(keys=F.String(), values=F.String())
    arrays = F.Dict(keys=F.String(), values=F.List(F.Float(allow_none=True)))


MeasurementOut = document_schema(Measurement)
MeasurementPage = page_schema(MeasurementOut, "MeasurementPage")


def load_arrays(measurement_id: str) -> tuple[list[str], dict[str, list]]:
    """Concatenate the measurement's array chunks in ``chunk`` order."""
    a = get_store().measurement_arrays.arrays(measurement_id)
    return a.names, a.arrays


def _finite(v):
    return v if not (isinstance(v, float) and not math.isfinite(v)) else None


@blp.route("")
@blp.arguments(MeasurementListArgs, location="query")
@blp.response(200, MeasurementPage)
def list_measurements(args):
    """List measurements (metadata; arrays via /measurements/{id}/data)."""
    q = {k: args[k] for k in ("sample", "kind") if args.get(k)}
    return list_page("measurements", q, args)


@blp.route("/<string:measurement_id>")
@blp.response(200, MeasurementOut)
def get_measurement(measurement_id):
    """One measurement's metadata and small payload."""
    return clean(get_or_404("measurements", measurement_id, "measurement"))


@blp.route("/<string:measurement_id>/data")
@blp.arguments(DataArgs, location="query")
@blp.response(200, MeasurementData, description="Arrays as JSON (or text/csv with format=csv)")
@blp.doc(responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
def get_measurement_data(args, measurement_id):
    """The measurement's arrays (e.g. frequency, z_real, z_imag) as JSON or CSV."""
    meas = get_or_404("measurements", measurement_id, "measurement", {"array_names": 1, "array_units": 1, "label": 1})
    names, arrays = load_arrays(measurement_id)
    order = _array_order(meas, names, arrays)
    units = {n: str((meas.get("array_units") or {}).get(n, "")) for n in order}
    n_points = max((len(arrays[n]) for n in order), default=0)
    if args["format"] == "csv":
        return _csv_response(measurement_id, order, units, arrays, n_points)
    return {"id": measurement_id, "n_points": n_points, "units": units,
            "arrays": {n: [_finite(v) for v in arrays[n]] for n in order}}


def _array_order(meas: dict, names: list[str], arrays: dict[str, list]) -> list[str]:
    """The declared ``array_names`` that have data, then any other stored arrays in chunk order."""
    declared = meas.get("array_names") or []
    return [n for n in declared if n in arrays] + [n for n in names if n not in declared]


def _csv_response(measurement_id: str, order: list[str], units: dict[str, str], arrays: dict[str, list],
                  n_points: int) -> Response:
    """The arrays as a CSV download: a 'name (unit)' header, values as repr, short arrays padded with ''."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    from ionbase.service.export.table import escape_formula

    w.writerow([escape_formula(f"{n} ({units[n]})" if units[n] else n) for n in order])
    for i in range(n_points):
        w.writerow([repr(arrays[n][i]) if i < len(arrays[n]) else "" for n in order])
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in measurement_id)[:100]
    return Response(buf.getvalue(), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{safe}.csv"'})
