"""``/api/v1/imports``: upload lab records or instrument files; list import batches."""

from __future__ import annotations

import json
from pathlib import Path, PurePath

import marshmallow as ma
from flask import request
from ionbase.service.params import Blueprint
from werkzeug.utils import secure_filename

from ionbase.ingest.loaders import SECTIONS
from ionbase.schemas.documents import ImportBatch
from ionbase.service.auth import WRITE_SECURITY, current_key, requires
from ionbase.service.common import PageArgs, clean, get_settings, get_store, list_page
from ionbase.schemas.api import document_schema
from ionbase.service.common import page_schema
from ionbase.service.imports.uploads import upload_folder
from ionbase.errors import Conflict, InvalidRequest, NotFound, UnknownParameter, Unprocessable

F = ma.fields
blp = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="Import batches")

MAX_FILES = 500


_FLAG_DOCS = {
    "dry_run": "Validate and report; write nothing (default false).",
    "skip_invalid": "Import the valid records, report the rest (default false).",
}


class ImportArgs(ma.Schema):
    """Query-string flags (any body). No defaults here: a flag may also come as a form field."""

    dry_run = F.Boolean(metadata={"description": _FLAG_DOCS["dry_run"] + " Also accepted as a multipart form field."})
    skip_invalid = F.Boolean(metadata={"description": _FLAG_DOCS["skip_invalid"] + " Also accepted as a multipart form field."})


class ImportForm(ma.Schema):
    """A multipart upload: the files and, optionally, the same flags as form fields."""

    files = F.List(F.Raw(metadata={"type": "string", "format": "binary"}),
                   metadata={"description": "Import files (YAML/JSON/CSV/XLSX records, instrument files); "
                                            "a file name may contain sub-folders (spectra/x.mpt)."})
    dry_run = F.Boolean(metadata={"description": _FLAG_DOCS["dry_run"] + " Same as the query parameter; "
                                                                          "a conflicting value in both is refused (400)."})
    skip_invalid = F.Boolean(metadata={"description": _FLAG_DOCS["skip_invalid"] + " Same as the query parameter; "
                                                                                    "a conflicting value in both is refused (400)."})


def import_flags(query: dict, form: dict) -> dict[str, bool]:
    """``dry_run`` and ``skip_invalid`` from the query string or form fields; 400 when they disagree."""
    out: dict[str, bool] = {}
    for name in _FLAG_DOCS:
        q, f = query.get(name), form.get(name)
        if q is not None and f is not None and q != f:
            raise InvalidRequest(f"{name} is {str(q).lower()} in the query string but {str(f).lower()} in the form fields; "
                             "send it once", {name: {"query": [q], "form": [f]}})
        out[name] = bool(q if q is not None else f)
    return out


class ImportReportOut(ma.Schema):
    batch_id = F.String(allow_none=True)
    status = F.String(metadata={"description": "committed | dry_run"})
    dry_run = F.Boolean()
    counts = F.Dict()
    files = F.List(F.Dict())
    errors = F.List(F.Dict())
    touched_samples = F.List(F.String())


#: the top level of a JSON import document (ingest/loaders.py checks the same keys); the records
#: themselves are validated by the importer against the vocabulary and each other (422 with every issue)
IMPORT_DOCUMENT_SCHEMA = {
    "type": "object",
    "description": "One import file in JSON (docs/import-format.md); flags go in the query string",
    "properties": {
        **{section: {"type": "array", "nullable": True, "items": {"type": "object"}} for section in SECTIONS},
        "source": {"type": "object", "nullable": True, "description": "{doi, citation, title} or {notebook[, page]}"},
        "ionbase_format": {"description": "Format version (informative)"},
        "notes": {"type": "string"},
        "description": {"type": "string"},
    },
    "additionalProperties": False,
}
BatchOut = document_schema(ImportBatch, "ImportBatch")
BatchPage = page_schema(BatchOut, "ImportBatchPage")
_BATCH_PROJECTION = {"previous": 0}

#: what a batch shows to anyone but an admin: no server paths, host names, process ids or user/key names
_PUBLIC = {
    "top": ("_id", "id", "status", "files", "counts", "started_at", "finished_at", "errors", "options", "touched_samples",
            "rolled_back_at", "rollback", "recovered"),
    "files": ("name", "sha256", "size", "format"),
    "options": ("skip_invalid",),
    "rollback": ("state", "started_at", "finished_at"),
}


def _public_batch(doc: dict) -> dict:
    """A batch as a non-admin may see it: listed fields only (a whitelist, so a field added to batches
    later stays hidden until it is listed), error locations as file names. Admin keys see the whole
    batch (``_admin_view``). Done in Python: nx-27017 ignores dotted exclusions such as ``files.path``."""
    out = {k: doc[k] for k in _PUBLIC["top"] if k in doc}
    out["files"] = [{k: f[k] for k in _PUBLIC["files"] if k in f} for f in doc.get("files") or []]
    for name in ("options", "rollback"):
        if isinstance(doc.get(name), dict):
            out[name] = {k: doc[name][k] for k in _PUBLIC[name] if k in doc[name]}
    out["errors"] = [{**e, "file": PurePath(str(e["file"])).name} if isinstance(e, dict) and e.get("file") else e
                     for e in doc.get("errors") or []]
    return out


def _batch_view():
    """The view of a batch for this request's key: whole for admins, public otherwise."""
    key = current_key()
    if key is not None and key.get("role") == "admin":
        return lambda doc: doc
    return _public_batch


def _safe_relpath(name: str) -> Path:
    parts = [secure_filename(p) for p in name.replace("\\", "/").split("/") if p not in ("", ".", "..")]
    parts = [p for p in parts if p]
    if not parts:
        raise InvalidRequest(f"unusable file name {name!r}")
    return Path(*parts[-4:])


def _save_upload(tmp: Path) -> None:
    uploads = [f for key in request.files for f in request.files.getlist(key)]
    if request.files:
        if len(uploads) > MAX_FILES:
            raise InvalidRequest(f"at most {MAX_FILES} files per import")
        for up in uploads:
            rel = _safe_relpath(up.filename or "upload")
            target = tmp / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            up.save(target)
            if target.stat().st_size > get_settings().max_file_bytes:
                raise InvalidRequest(f"{rel} is larger than {get_settings().max_file_bytes} bytes")
        return
    if "files" in request.form:  # a part named files without a filename is a form field, not a file
        raise InvalidRequest("send each file as a file part (Content-Disposition with a filename)",
                             {"files": ["not a file part"]})
    body = request.get_json(silent=True) if request.is_json else None
    if not isinstance(body, dict):
        raise InvalidRequest("send files as multipart/form-data or one JSON object in the import format "
                         "(docs/import-format.md)")
    (tmp / "records.json").write_text(json.dumps(body))


def _relative_report(report: dict, tmp: Path) -> dict:
    for f in report.get("files") or []:
        if f.get("path"):
            try:
                f["path"] = str(Path(f["path"]).relative_to(tmp))
            except ValueError:
                f["path"] = Path(f["path"]).name
    for e in report.get("errors") or []:
        if isinstance(e, dict) and e.get("file"):
            e["file"] = Path(str(e["file"])).name
    report.pop("rejected_files", None)  # none is written for an upload (write_rejected=False)
    return report


@blp.route("", methods=["POST"])
@blp.arguments(ImportArgs, location="query")
@blp.arguments(ImportForm, location="multipart")
@blp.response(201, ImportReportOut, description="Batch report (200 for a dry run)")
@blp.alt_response(200, schema=ImportReportOut, description="Dry-run report", success=True)
@blp.doc(security=WRITE_SECURITY, requestBody={
    "required": True,
    "content": {
        "application/json": {"schema": IMPORT_DOCUMENT_SCHEMA},
        # an upload without a file is refused (400): at least one file part
        "multipart/form-data": {"schema": {"allOf": [ImportForm],
                                           "required": ["files"], "properties": {"files": {"minItems": 1}}}},
    },
})
@requires("writer")
def create_import(query_args, form_args):
    """Import uploaded files (multipart) or one JSON document in the import format.

    Runs the importer on a temporary folder: validation first, then one batch that becomes
    visible at once. Invalid records -> 422 with every issue (nothing written) unless `skip_invalid`.
    `dry_run` and `skip_invalid` come from the query string or, for a multipart upload, from form
    fields (a different value in both -> 400); unknown parameters or form fields -> 400.
    """
    args = import_flags(query_args, form_args)
    from ionbase.ingest.errors import ImportFailed
    from ionbase.ingest.importer import Importer, ImportOptions

    settings = get_settings()
    key = current_key() or {}
    with upload_folder(settings.data_dir) as tmp:
        _save_upload(tmp)
        opts = ImportOptions(dry_run=args["dry_run"], skip_invalid=args["skip_invalid"],
                             user=f"api:{key.get('name', key.get('_id', '?'))}",
                             max_file_bytes=settings.max_file_bytes, max_rows=settings.max_rows_per_batch,
                             write_rejected=False)  # the report lists every error; no file on the server
        try:
            report = Importer(get_store(), opts).run([tmp])
        except ImportFailed as exc:
            raise Unprocessable(
                f"{len(exc.issues)} invalid record(s); nothing was written",
                {"issues": [_relative_report({"errors": [i.to_dict()]}, tmp)["errors"][0] for i in exc.issues[:1000]]},
            ) from None
        out = _relative_report(report.to_dict(), tmp)
        return out, (200 if args["dry_run"] else 201)


@blp.route("", methods=["GET"])
@blp.arguments(PageArgs, location="query")
@blp.response(200, BatchPage)
def list_imports(args):
    """List import batches (sorted by id, which starts with the time)."""
    page = list_page("import_batches", {}, args, projection=_BATCH_PROJECTION)
    view = _batch_view()
    page["data"] = [view(d) for d in page["data"]]
    return page


@blp.route("/<string:batch_id>")
@blp.response(200, BatchOut)
def get_import(batch_id):
    """One import batch."""
    doc = get_store().import_batches.get(batch_id, _BATCH_PROJECTION)
    if doc is None:
        raise NotFound(f"no import batch {batch_id!r}")
    return clean(_batch_view()(doc))


class RollbackOut(ma.Schema):
    batch = F.String()
    status = F.String(metadata={"description": "rolled_back"})
    deleted = F.Integer(metadata={"description": "documents the batch created, deleted"})
    restored = F.Integer(metadata={"description": "documents the batch replaced, restored to their earlier version"})
    derived_deleted = F.Integer(metadata={"description": "derived values computed from the batch's documents, removed"})
    job_states_deleted = F.Integer()
    samples = F.List(F.String(), metadata={"description": "samples whose derived values were recomputed"})
    analysis = F.Dict(allow_none=True, metadata={"description": "summary of the recomputation (jobs.runner.run_jobs)"})
    note = F.String()


@blp.route("/<string:batch_id>/rollback", methods=["POST"])
@blp.response(200, RollbackOut)
@blp.alt_response(404, description="No such batch")
@blp.alt_response(409, description="The batch is not committed, or a later batch replaced documents it wrote")
@blp.doc(security=WRITE_SECURITY)
@requires("writer")
def rollback_import(batch_id):
    """Undo a committed batch, derived values included.

    Deletes what the batch created, restores what it replaced, removes every derived value computed
    from its documents and recomputes the derived values of the samples it touched before answering,
    so the store is as it was before the batch. Rolling back a rolled-back batch changes nothing.
    """
    from ionbase.store.rollback import RollbackRefused
    from ionbase.service.imports.rollback import rollback_batch

    unknown = sorted(set(request.args) | set(request.form) | set(request.files))
    if unknown:
        raise UnknownParameter(f"unknown parameter(s) {unknown}; this endpoint takes none")
    try:
        result = rollback_batch(get_store(), get_settings(), str(batch_id))
    except LookupError as exc:
        raise NotFound(str(exc)) from None
    except RollbackRefused as exc:
        raise Conflict(str(exc)) from None
    return clean(result)
