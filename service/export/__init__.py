"""ML-ready export of the properties collection: one row per (sample, temperature) with features.

``plan_export(store, mongo_filter)`` reads the selection once (columns, summary, spooled rows;
rules in ``cells`` and docs/export.md); ``export_csv(plan)`` / ``export_parquet(plan, sink)`` /
``export_parquet_stream(plan)`` write the spooled rows column by column (``table.iter_chunks``,
``writers``); ``build_rows(store, mongo_filter, plan)`` streams them as dicts, which ``write_csv`` /
``write_jsonl`` / ``write_parquet`` / ``stream_parquet`` serialise; ``filter_to_mongo`` turns an
OPTIMADE filter into the Mongo query (through the query package's parser).
"""

from __future__ import annotations

from ionbase.service.export.table import (  # noqa: F401
    FORMATS,
    MIMETYPES,
    ExportPlan,
    build_rows,
    export_csv,
    export_parquet,
    export_parquet_stream,
    iter_chunks,
    plan_export,
    stream_parquet,
    write_csv,
    write_jsonl,
    write_parquet,
)


def filter_to_mongo(text: str | None) -> dict:
    """OPTIMADE filter -> Mongo query on ``properties`` (``{}`` when empty).

    Uses ``service.query.filters.optimade_to_mongo`` when it exists, else the query package's
    ``service.query.filter.parse_filter``; both raise the API's typed 400 error on a bad filter.
    """
    if text is None or not text.strip():
        return {}
    try:
        from ionbase.service.query.filters import optimade_to_mongo  # type: ignore[import-not-found]
    except ImportError:
        from ionbase.service.query.filter import parse_filter as optimade_to_mongo
    return optimade_to_mongo(text)
