"""``/api/v1/analysis-runs``: runs of the analysis jobs (derived properties)."""

from __future__ import annotations

import marshmallow as ma
from ionbase.service.params import Blueprint

from ionbase.schemas.documents import AnalysisRun
from ionbase.service.auth import WRITE_SECURITY, requires
from ionbase.service.common import PageArgs, clean, get_settings, get_store, list_page
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema
from ionbase.errors import NotFound
from ionbase.jobs.definitions import JOBS

F = ma.fields
blp = Blueprint("analysis_runs", __name__, url_prefix="/api/v1/analysis-runs", description="Analysis runs")


class RunRequest(ma.Schema):
    # the job names are an enum in the OpenAPI document: an unknown name is a schema violation (422)
    jobs = F.List(F.String(validate=ma.validate.OneOf(sorted(JOBS), error="unknown job {input!r}; known: {choices}")),
                  load_default=None,
                  validate=ma.validate.Length(max=100), metadata={"description": "Job names (default: all)"})
    sample_ids = F.List(F.String(validate=ma.validate.Length(min=1, max=200)), load_default=None,
                        validate=ma.validate.Length(max=10000), metadata={"description": "Only these samples"})
    force = F.Boolean(load_default=False, metadata={"description": "Recompute even when inputs did not change"})


class RunResult(ma.Schema):
    result = F.Dict(metadata={"description": "What jobs.runner.run_jobs returned"})


RunOut = document_schema(AnalysisRun)
RunPage = page_schema(RunOut, "AnalysisRunPage")


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, RunPage)
def list_runs(args):
    """List analysis runs."""
    return list_page("analysis_runs", {}, args)


@blp.route("", methods=["POST"])
@blp.arguments(RunRequest)
@blp.response(200, RunResult)
@blp.doc(security=WRITE_SECURITY)
@requires("writer")
def create_run(body):
    """Run the analysis jobs now (synchronously) and return their summary."""
    from ionbase.jobs.runner import run_jobs

    result = run_jobs(get_store(), get_settings(), job_names=body["jobs"], sample_ids=body["sample_ids"],
                      force=body["force"], progress=False)
    return {"result": clean(result if isinstance(result, dict) else {"value": result})}


@blp.route("/<string:run_id>")
@blp.response(200, RunOut)
def get_run(run_id):
    """One analysis run."""
    doc = get_store().analysis_runs.get(run_id)
    if doc is None:
        raise NotFound(f"no analysis run {run_id!r}")
    return clean(doc)
