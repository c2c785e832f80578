"""``ionbase export``: the ML table to a file or stdout (registered on the ``ionbase`` group by the lead).

    ionbase export --filter 'family="halide"' --format csv -o halides.csv
    ionbase export --format jsonl | head
    ionbase export --format parquet -o all.parquet
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from ionbase.service.commands.context import command_store

__all__ = ["export"]


@click.command("export")
@click.option("--filter", "filter_", default=None, metavar="F", help="OPTIMADE filter on property documents, e.g. 'family=\"halide\"'.")
@click.option("--format", "fmt", type=click.Choice(["csv", "parquet", "jsonl"]), default="csv", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Output file (stdout when omitted; parquet needs a file).")
@click.option("--mongo-filter", default=None, hidden=True, help="A raw Mongo query as JSON (debugging).")
@click.option("--row-group-size", default=10_000, show_default=True, help="Parquet row-group size.")
@click.pass_context
def export(ctx: click.Context, filter_: str | None, fmt: str, output: Path | None, mongo_filter: str | None, row_group_size: int) -> None:
    """Export properties as an ML-ready table: one row per (sample, temperature)."""
    from ionbase.service.export import export_parquet, filter_to_mongo, plan_export

    if fmt == "parquet" and output is None:
        raise click.UsageError("--format parquet needs -o FILE")
    if filter_ and mongo_filter:
        raise click.UsageError("give --filter or --mongo-filter, not both")
    if mongo_filter:
        try:
            query = json.loads(mongo_filter)
        except json.JSONDecodeError as exc:
            raise click.BadParameter(f"not JSON: {exc}", param_hint="--mongo-filter") from None
        if not isinstance(query, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--mongo-filter")
    else:
        try:
            query = filter_to_mongo(filter_)
        except Exception as exc:  # the API's typed filter error: show its message
            raise click.ClickException(getattr(exc, "description", None) or str(exc)) from None

    store = command_store(ctx)
    plan = None
    try:
        plan = plan_export(store, query, for_csv=fmt == "csv")
        if fmt == "parquet":
            n_rows = export_parquet(plan, str(output), row_group_size=row_group_size)
        else:
            n_rows = _write_text(store, query, plan, fmt, output)
        _echo_summary(plan.summary(), n_rows, output)
    finally:
        if plan is not None:
            plan.close()


def _write_text(store, query: dict, plan, fmt: str, output: Path | None) -> int:
    """CSV (column by column) or JSON Lines (row dicts) to ``output`` or stdout; the row count."""
    from ionbase.service.export import build_rows, export_csv, write_jsonl

    n_rows = 0
    if fmt == "csv":
        pieces = export_csv(plan)
        n_rows = plan.n_rows  # the plan counts exactly the spooled rows
    else:
        def counted():
            nonlocal n_rows
            for r in build_rows(store, query, plan):
                n_rows += 1
                yield r
        pieces = write_jsonl(counted(), plan.columns)
    if output is None:
        for piece in pieces:
            sys.stdout.write(piece)
        sys.stdout.flush()
    else:
        with open(output, "w", encoding="utf-8", newline="") as fh:
            for piece in pieces:
                fh.write(piece)
    return n_rows


def _echo_summary(summary: dict, n_rows: int, output: Path | None) -> None:
    """The summary of the filtered export on stderr: rows, columns, samples, conflicts per column."""
    click.echo(f"{n_rows} rows x {summary['columns']} columns ({summary['samples']} samples) -> {output or 'stdout'}", err=True)
    conflicts = ", ".join(f"{c}={n}" for c, n in summary["conflicts"].items())
    click.echo(f"conflicts (cells with competing values, resolved by the documented rule): {conflicts or 'none'}", err=True)
