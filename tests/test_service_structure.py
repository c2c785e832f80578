"""Structure of service/ (issue 12): one way for the CLI to open the store (size limits: tests/test_code_limits.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from pymongo.errors import InvalidOperation

REPO = Path(__file__).resolve().parents[1]
SERVICE = REPO / "service"


def _names_used(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.ImportFrom):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.Attribute):
            names.add(node.attr)
    return names


def test_cli_opens_the_store_in_one_place():
    """Only service/commands/context.py calls open_store; cli.py and every command module use it."""
    helper = SERVICE / "commands" / "context.py"
    cli_modules = [SERVICE / "cli.py", *sorted((SERVICE / "commands").glob("*.py"))]
    opening = [str(p.relative_to(REPO)) for p in cli_modules if p != helper and "open_store" in _names_used(p)]
    assert opening == []
    assert "open_store" in _names_used(helper)
    users = {p.name for p in cli_modules if "command_store" in _names_used(p) and p != helper}
    assert {"cli.py", "keys_cmds.py", "export_cmds.py"} <= users


def test_command_store_reuses_a_given_store_and_closes_only_its_own(settings, store):
    """A store passed in ctx.obj is used and left open; one opened from the settings is closed with the command."""
    import click
    from click.testing import CliRunner

    from ionbase.service.commands.context import command_settings, command_store

    seen = {}

    @click.command()
    @click.pass_context
    def probe(ctx):
        seen["store"] = command_store(ctx)
        seen["again"] = command_store(ctx)
        seen["settings"] = command_settings(ctx)

    res = CliRunner().invoke(probe, [], obj={"settings": settings, "store": store})
    assert res.exit_code == 0, res.output
    assert seen["store"] is store and seen["again"] is store and seen["settings"] is settings
    assert store.db.samples.estimated_document_count() == 0  # still open

    res = CliRunner().invoke(probe, [], obj={"settings": settings})
    assert res.exit_code == 0, res.output
    opened = seen["store"]
    assert opened is not store and seen["again"] is opened and opened.db.name == settings.db_name
    with pytest.raises(InvalidOperation):  # closed when the command's context closed
        opened.db.samples.estimated_document_count()
