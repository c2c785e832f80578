"""The ``ionbase`` command line.

Every command builds its settings from the environment once, at invocation (``Settings.from_env``),
and opens the store through ``service.commands.context.command_store`` (the one helper every command uses).
"""

from __future__ import annotations

import json
import logging
import signal
import sys
from pathlib import Path

import click

from ionbase import __version__
from ionbase.service.commands.context import command_settings, command_store
from ionbase.settings import Settings


def _echo_json(obj) -> None:
    click.echo(json.dumps(obj, indent=2, default=str, ensure_ascii=False))


class DefaultGroup(click.Group):
    """A group that runs ``default_cmd`` when the first argument is not a subcommand."""

    def __init__(self, *args, default_cmd: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.default_cmd = default_cmd

    def parse_args(self, ctx, args):
        if args and args[0] not in self.commands and args[0] not in ("--help", "-h"):
            args = [self.default_cmd, *args]
        return super().parse_args(ctx, args)


@click.group()
@click.version_option(__version__, prog_name="ionbase")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens.")
@click.pass_context
def main(ctx: click.Context, verbose: bool) -> None:
    """Ionbase: a materials database for solid-state battery research."""
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    # SIGTERM (systemd, `timeout`, `kill`) exits like Ctrl-C (the embedded store's supervisor stops the
    # store once no Ionbase process uses it)
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(128 + signum))
    ctx.ensure_object(dict)
    ctx.obj["settings"] = Settings.from_env()


# ------------------------------------------------------------------ db


@main.group()
def db() -> None:
    """The store: status and maintenance."""


@db.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.pass_context
def db_status(ctx: click.Context, as_json: bool) -> None:
    """Which store is in use, its version, collections and document counts."""
    status = command_store(ctx).status()
    if as_json:
        _echo_json(status)
        return
    click.echo(f"store: {status['store']} ({status['uri']}), server version {status['server_version']}")
    if status.get("embedded"):
        e = status["embedded"]
        click.echo(f"embedded nx-27017: data in {e['data_dir']}, pid {e['pid']}, port {e['port']}, "
                   f"supervisor pid {e['supervisor_pid']}, {e['restarts']} restart(s)")
    click.echo(f"database: {status['database']}")
    for name, count in status["collections"].items():
        click.echo(f"  {name:<22} {count:>10}")


@db.command("stop")
@click.pass_context
def db_stop(ctx: click.Context) -> None:
    """Stop the embedded store now, even while other Ionbase processes use it."""
    from ionbase.store.embedded import EmbeddedServer, supervisor_running

    settings = command_settings(ctx)
    if settings.mongodb_uri:
        raise click.ClickException("MONGODB_URI is set: Ionbase does not manage that server")
    if not supervisor_running(settings.data_dir):
        click.echo(f"no embedded store runs for {settings.data_dir}")
        return
    EmbeddedServer(settings.data_dir).shutdown()
    click.echo(f"stopped the embedded store of {settings.data_dir}")


# ------------------------------------------------------------------ import


@main.group("import", cls=DefaultGroup, default_cmd="files")
def import_group() -> None:
    """Import lab records and instrument files: ionbase import PATH... [--dry-run] [--json]
    [--skip-invalid] [--quiet] [--no-analyze] [--rejected-dir DIR] (the options of `import files`,
    see `ionbase import files --help`); also list, rollback ID, recover.

    An import runs the analysis jobs for the samples it touched unless --no-analyze is given."""


@import_group.command("files")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--dry-run", is_flag=True, help="Validate and report; write nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@click.option("--skip-invalid", is_flag=True, help="Import the valid records; write the rejected records and table rows to files.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.option("--no-analyze", is_flag=True, help="Do not run the analysis jobs for the samples touched.")
@click.option("--rejected-dir", type=click.Path(path_type=Path), default=None, help="Folder for the rejected-records and rejected-rows files.")
@click.pass_context
def import_files(ctx, paths, dry_run, as_json, skip_invalid, quiet, no_analyze, rejected_dir) -> None:
    """Import PATH... (files or folders)."""
    from ionbase.ingest.errors import ImportFailed
    from ionbase.ingest.importer import Importer, ImportOptions

    settings = command_settings(ctx)
    store = command_store(ctx)
    opts = ImportOptions(
        dry_run=dry_run, skip_invalid=skip_invalid, progress=not quiet and not as_json,
        max_file_bytes=settings.max_file_bytes, max_rows=settings.max_rows_per_batch, rejected_dir=rejected_dir,
    )
    from ionbase.errors import ImportConflict, StoreUnavailable

    try:
        report = Importer(store, opts).run(paths)
    except ImportFailed as exc:
        _echo_import_failure(exc, as_json)
        sys.exit(1)
    except (ImportConflict, StoreUnavailable) as exc:  # another import holds documents of this one, or commits
        raise click.ClickException(exc.message) from None
    analyzed = None
    if not dry_run and not no_analyze and report.touched_samples and report.status == "committed":
        analyzed = _run_analysis(store, settings, samples=report.touched_samples, quiet=True)
    if as_json:
        out = report.to_dict()
        if analyzed is not None:
            out["analysis"] = analyzed
        _echo_json(out)
        return
    _echo_import_report(report, dry_run, analyzed)


def _echo_import_failure(exc, as_json: bool) -> None:
    """A refused batch: every issue as JSON, or the first 200 as text on stderr."""
    if as_json:
        _echo_json({"status": "invalid", "errors": [i.to_dict() for i in exc.issues], **{k: v for k, v in exc.report.items() if k not in ("errors", "status")}})
        return
    click.echo(f"Import failed: {len(exc.issues)} error(s); nothing was written.", err=True)
    for issue in exc.issues[:200]:
        click.echo(f"  {issue}", err=True)
    if len(exc.issues) > 200:
        click.echo(f"  ... and {len(exc.issues) - 200} more (use --json for all)", err=True)


def _rejected_line(report) -> str:
    """Where an import's errors went: the rejected files (--skip-invalid), and the errors no file holds."""
    n = len(report.errors)
    if not report.rejected_files:
        if report.dry_run:
            return f"{n} error(s), listed below (a dry run writes no rejected file)"
        return f"{n} error(s), listed below; none names a record or table row to write to a rejected file"
    line = f"{n} error(s); the rejected records and table rows are written to {', '.join(report.rejected_files)}"
    if report.errors_not_written:
        line += (f" ({report.errors_not_written} of the errors, about a whole file or table or rows not kept, "
                 "are not in these files: fix those in the original files)")
    return line


def _echo_import_report(report, dry_run: bool, analyzed: dict | None) -> None:
    """The text report of an import: counts, one line per file, rejected records, the analysis run."""
    t = report.counts.get("total", {})
    verb = "Would import" if dry_run else "Imported"
    click.echo(f"{verb}: {t.get('new', 0)} new, {t.get('changed', 0)} changed, {t.get('unchanged', 0)} unchanged documents"
               + (f" (batch {report.batch_id})" if report.batch_id else ""))
    per = [f"{coll} {'/'.join(str(c.get(k, 0)) for k in ('new', 'changed', 'unchanged'))}"
           for coll, c in sorted(report.counts.items()) if coll != "total" and isinstance(c, dict) and any(c.values())]
    if per:  # every document counted above, by collection (routes are built from steps, not read as records)
        click.echo("  by collection (new/changed/unchanged): " + ", ".join(per))
    rd = report.rederived
    if rd.get("samples") or rd.get("properties"):  # counted above among the changed documents
        click.echo(f"  of these, derived again from what this import changed: {rd.get('samples', 0)} sample(s) imported "
                   f"earlier (their route from their parent's, their material's fields), {rd.get('properties', 0)} "
                   "property(ies) not in these files (their synthesis, sample and material fields)")
    for f in report.files:
        summary = ", ".join(f"{n} {k}" for k, n in sorted(f.kinds.items()))
        click.echo(f"  {Path(f.path).name} [{f.format}]: {summary or 'no records'}" + (f", {len(f.errors)} error(s)" if f.errors else ""))
    if report.errors:
        click.echo(_rejected_line(report), err=True)
        for issue in report.errors[:50]:
            click.echo(f"  {issue}", err=True)
    if analyzed:
        click.echo(f"Analysis: {analyzed.get('computed', 0)} computed, {analyzed.get('failed', 0)} failed, "
                   f"{analyzed.get('flagged', 0)} values flagged")


@import_group.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.option("--limit", default=50, show_default=True)
@click.pass_context
def import_list(ctx, as_json, limit) -> None:
    """List import batches, newest first."""
    from ionbase.ingest.importer import list_batches

    batches = list_batches(command_store(ctx), limit)
    if as_json:
        _echo_json(batches)
        return
    for b in batches:
        t = (b.get("counts") or {}).get("total", {})
        files = ", ".join(f["name"] for f in b.get("files", [])[:3]) + (" ..." if len(b.get("files", [])) > 3 else "")
        click.echo(f"{b['_id']}  {b['status']:<11} {str(b.get('started_at'))[:19]}  {b.get('user', '')}  "
                   f"new {t.get('new', 0)} changed {t.get('changed', 0)}  {files}")


@import_group.command("rollback")
@click.argument("batch_id")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@click.pass_context
def import_rollback(ctx, batch_id, as_json) -> None:
    """Undo an import batch, derived values included (recomputed for the samples it touched)."""
    from ionbase.store.rollback import RollbackRefused
    from ionbase.service.imports.rollback import rollback_batch

    try:
        result = rollback_batch(command_store(ctx), command_settings(ctx), batch_id)
    except (LookupError, RollbackRefused) as exc:
        raise click.ClickException(str(exc))
    if as_json:
        _echo_json(result)
        return
    click.echo(f"Rolled back {batch_id}: {result['deleted']} documents deleted, {result['restored']} restored, "
               f"{result['derived_deleted']} derived values removed")
    if result.get("analysis"):
        a = result["analysis"]
        click.echo(f"Recomputed for {len(result['samples'])} sample(s): {a['computed']} computed, {a['failed']} failed")
    elif result.get("note"):
        click.echo(result["note"], err=True)


@import_group.command("recover")
@click.pass_context
def import_recover(ctx) -> None:
    """Finish or clean away imports (and rollbacks) whose process died."""
    from ionbase.ingest.importer import recover
    from ionbase.service.imports.rollback import recompute

    entries = recover(command_store(ctx))
    for entry in entries:
        click.echo(f"{entry['batch']}: {entry['action']}")
        if entry.get("samples"):
            out = recompute(command_store(ctx), command_settings(ctx), entry["samples"])
            click.echo(f"  derived values recomputed: {(out.get('analysis') or {}).get('computed', 0)}" if out.get("analysis") else f"  {out.get('note')}")
    leftovers = _clean_leftovers(command_store(ctx), command_settings(ctx), uploads=True)
    if not entries and not leftovers:
        click.echo("-: nothing to recover")


def _clean_leftovers(store, settings: Settings, *, uploads: bool) -> list[dict]:
    """Mark analysis runs whose process is gone failed and (``uploads``) remove upload folders of dead
    processes; one line per thing done (jobs/runs.py, service/imports/uploads.py)."""
    from ionbase.jobs.runs import recover_stale_runs
    from ionbase.service.imports.uploads import clean_stale_uploads

    done = recover_stale_runs(store) + (clean_stale_uploads(settings.data_dir) if uploads else [])
    for entry in done:
        what = entry.get("run") or entry.get("upload")
        click.echo(f"{what}: {entry['action']}" + (f" ({entry['reason']})" if entry.get("reason") else ""), err=True)
    return done


# ------------------------------------------------------------------ analysis


def _run_analysis(store, settings, samples=None, jobs=None, force=False, quiet=False):
    try:
        from ionbase.jobs.runner import run_jobs
    except ImportError:
        return None
    return run_jobs(store, settings, job_names=jobs, sample_ids=samples, force=force, progress=not quiet)


@main.command("analyze")
@click.option("--job", "jobs", multiple=True, help="Run only this job (repeatable).")
@click.option("--sample", "samples", multiple=True, help="Only this sample id (repeatable).")
@click.option("--force", is_flag=True, help="Recompute even when inputs did not change.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's counts and errors as JSON.")
@click.option("--quiet", is_flag=True, help="No progress bar.")
@click.pass_context
def analyze(ctx, jobs, samples, force, as_json, quiet) -> None:
    """Compute derived properties for what changed since the last run."""
    from ionbase.service.commands.analysis_cmds import echo_run_summary

    store, settings = command_store(ctx), command_settings(ctx)
    unknown = [s for s in samples if store.samples.get(s, {"_id": 1}) is None]
    if unknown:  # a label or a typo would silently analyse nothing
        raise click.BadParameter(f"no sample with id {', '.join(map(repr, unknown))} (give sample ids such as "
                                 "'smp-…', as listed by GET /api/v1/samples; labels repeat across sources)",
                                 param_hint="--sample")
    _clean_leftovers(store, settings, uploads=False)
    result = _run_analysis(store, settings, samples=list(samples) or None, jobs=list(jobs) or None, force=force,
                           quiet=quiet or as_json)
    if result is None:
        raise click.ClickException("the analysis jobs are not installed")
    if as_json:
        _echo_json(result)
    else:
        echo_run_summary(result)


# ------------------------------------------------------------------ vocabulary


@main.command("vocab")
@click.option("--json", "as_json", is_flag=True)
def vocab(as_json) -> None:
    """Print the controlled vocabulary: properties, conditions, step types, canonical units."""
    from ionbase.schemas import registry

    data = {
        "properties": {n: {"unit": registry.QUANTITIES[p.quantity].display_unit, "category": p.category, "description": p.description}
                       for n, p in registry.PROPERTIES.items()},
        "conditions": {n: (registry.QUANTITIES[c.quantity].display_unit if c.quantity else
                           "|".join(c.choices) if c.choices else "text") for n, c in registry.CONDITIONS.items()},
        "steps": {n: {p: (registry.QUANTITIES[q.quantity].display_unit if q.quantity else "text") for p, q in s.params.items()}
                  for n, s in registry.STEP_TYPES.items()},
        "families": list(registry.FAMILIES),
        "measurement_kinds": list(registry.MEASUREMENT_KINDS),
    }
    if as_json:
        _echo_json(data)
        return
    for section, entries in data.items():
        click.echo(f"[{section}]")
        if isinstance(entries, dict):
            for k, v in entries.items():
                click.echo(f"  {k}: {v}")
        else:
            click.echo("  " + ", ".join(entries))


# ------------------------------------------------------------------ serving


def _seed_if_empty(store, settings) -> dict | None:
    from ionbase.ingest.importer import Importer, ImportOptions

    if store.samples.estimated_count() > 0:
        return None
    seed = settings.seed_path
    if not seed.exists():
        click.echo(f"no seed data at {seed}", err=True)
        return None
    report = Importer(store, ImportOptions(progress=True, max_file_bytes=settings.max_file_bytes)).run([seed])
    return report.counts.get("total")


@main.command("run")
@click.option("--host", default=None, help="Interface to serve on (default IONBASE_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default IONBASE_PORT or 8000).")
@click.option("--no-serve", is_flag=True, help="Load and analyse, then exit.")
@click.pass_context
def run(ctx, host, port, no_serve) -> None:
    """The main job: start the store, load seed_data/ when empty, run the analyses, serve the API."""
    settings = command_settings(ctx)
    store = command_store(ctx)
    click.echo(f"store: {store.kind} ({store.status()['uri']})" + (f", data in {store.embedded.mongo_dir}" if store.embedded else ""))
    _clean_leftovers(store, settings, uploads=True)
    loaded = _seed_if_empty(store, settings)
    if loaded is not None:
        click.echo(f"seed data loaded: {loaded.get('new', 0)} documents")
    result = _run_analysis(store, settings, quiet=True)
    if result is not None:
        click.echo(f"analysis: {result.get('computed', 0)} computed, {result.get('skipped', 0)} up to date, {result.get('failed', 0)} failed")
    if no_serve:
        return
    _serve(settings.with_(host=host or settings.host, port=port or settings.port), store)


@main.command("serve")
@click.option("--host", default=None)
@click.option("--port", default=None, type=int)
@click.pass_context
def serve(ctx, host, port) -> None:
    """Serve the API (development server; see README for gunicorn)."""
    settings = command_settings(ctx)
    _clean_leftovers(command_store(ctx), settings, uploads=True)
    _serve(settings.with_(host=host or settings.host, port=port or settings.port), command_store(ctx))


def _serve(settings: Settings, store) -> None:
    from ionbase.service.app import create_app

    app = create_app(settings, store=store)
    url = f"http://{settings.host}:{settings.port}"
    click.echo(f"Ionbase API on {url}/api/v1  (docs: {url}/api/v1/docs, health: {url}/api/v1/health)")
    from werkzeug.serving import run_simple

    run_simple(settings.host, settings.port, app, threaded=True, use_reloader=False)


def _register_optional_commands() -> None:
    """Commands from other modules, registered explicitly (a failing import is an error, not silence)."""
    from ionbase.service.commands import COMMANDS

    for cmd in COMMANDS:
        main.add_command(cmd)


_register_optional_commands()

if __name__ == "__main__":  # pragma: no cover
    main()
