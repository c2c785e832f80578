"""The one way a CLI command gets its settings and opens the store.

``ionbase`` (``service/cli.py``) puts the settings it read from the environment into ``ctx.obj``; a
command run on its own (``CliRunner().invoke(export, ...)``) reads them from the environment here. A
store already in ``ctx.obj`` (a caller's, e.g. a test's) is used as it is and left open; a store opened
here is closed when the command's context closes.
"""

from __future__ import annotations

from typing import Any

import click

from ionbase.settings import Settings


def command_settings(ctx: click.Context) -> Settings:
    """The settings of this invocation (read from the environment once, then kept in ``ctx.obj``)."""
    obj = ctx.ensure_object(dict)
    if obj.get("settings") is None:
        obj["settings"] = Settings.from_env()
    return obj["settings"]


def command_store(ctx: click.Context) -> Any:
    """The store of this invocation, opened on first use with :func:`command_settings`."""
    from ionbase.store import open_store

    obj = ctx.ensure_object(dict)
    if obj.get("store") is None:
        obj["store"] = open_store(command_settings(ctx))
        ctx.call_on_close(obj["store"].close)
    return obj["store"]
