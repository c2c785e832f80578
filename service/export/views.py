"""``GET /api/v1/export?filter=<OPTIMADE filter>&format=csv|jsonl|parquet``: the ML table, streamed."""

from __future__ import annotations

import json

from flask import Response, current_app, stream_with_context
from ionbase.service.params import Blueprint
from marshmallow import Schema, fields, validate

from ionbase.service.export import (FORMATS, MIMETYPES, build_rows, export_csv, export_parquet_stream, filter_to_mongo,
                                    plan_export, write_jsonl)

blp = Blueprint("export", __name__, url_prefix="/api/v1/export",
                description="ML-ready table: one row per (sample, temperature) with targets and features.")


class ExportArgs(Schema):
    filter = fields.String(load_default=None, metadata={"description": "OPTIMADE filter on property documents"})
    format = fields.String(load_default="csv", validate=validate.OneOf(FORMATS))
    row_group_size = fields.Integer(load_default=10_000, validate=validate.Range(min=100, max=1_000_000),
                                    metadata={"description": "Parquet row-group size"})


@blp.route("")
@blp.arguments(ExportArgs, location="query")
@blp.response(200, content_type="text/csv", description="CSV (default), JSON Lines or Parquet, streamed")
@blp.alt_response(400, description="Invalid filter")
def export(args: dict):
    """Export the selected properties as a feature table (units in the column names).

    The filter is parsed and the selection read once (rows spooled to a temporary file) before
    streaming starts, so a bad filter gives a normal error response and the headers describe
    exactly the streamed rows; the rows are then streamed from the spool. The headers
    ``X-Ionbase-Samples``, ``-Rows``, ``-Columns`` count the filtered export and
    ``X-Ionbase-Conflicts`` (JSON) how many cells per column had competing values (docs/export.md).
    """
    store = current_app.extensions["ionbase_store"]
    query = filter_to_mongo(args.get("filter"))
    fmt = args["format"]
    plan = plan_export(store, query, for_csv=fmt == "csv")
    if fmt == "csv":
        body = export_csv(plan)
    elif fmt == "jsonl":
        body = write_jsonl(build_rows(store, query, plan), plan.columns)
    else:
        body = export_parquet_stream(plan, row_group_size=args["row_group_size"])
    resp = Response(stream_with_context(body), mimetype=MIMETYPES[fmt])
    resp.headers["Content-Disposition"] = f'attachment; filename="ionbase-export.{fmt}"'
    summary = plan.summary()  # of the filtered selection, known before streaming
    resp.headers["X-Ionbase-Columns"] = str(summary["columns"])
    resp.headers["X-Ionbase-Samples"] = str(summary["samples"])
    resp.headers["X-Ionbase-Rows"] = str(summary["rows"])
    resp.headers["X-Ionbase-Conflicts"] = json.dumps(summary["conflicts"], separators=(",", ":"))
    return resp
