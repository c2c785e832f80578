"""``ionbase keys``: create, list and revoke API keys (the lead registers the ``keys`` group)."""

from __future__ import annotations

import json

import click

from ionbase.service.commands.context import command_settings, command_store


@click.group("keys")
def keys() -> None:
    """API keys for writes (and for reads when IONBASE_READ_REQUIRES_KEY is set)."""


@keys.command("create")
@click.argument("name")
@click.option("--role", type=click.Choice(["reader", "writer", "admin"]), default="reader", show_default=True)
@click.pass_context
def create(ctx: click.Context, name: str, role: str) -> None:
    """Create a key called NAME; prints the token once (store it: only its hash is kept)."""
    from ionbase.service.keys import create_key, server_secret

    key_id, token = create_key(command_store(ctx), name, role, server_secret(command_settings(ctx)))
    click.echo(f"key {key_id} ({role}) created for {name}. Token (shown once):")
    click.echo(token)


@keys.command("list")
@click.option("--json", "as_json", is_flag=True)
@click.pass_context
def list_(ctx: click.Context, as_json: bool) -> None:
    """List keys (never their secrets)."""
    from ionbase.service.keys import list_keys

    rows = list_keys(command_store(ctx))
    if as_json:
        click.echo(json.dumps(rows, default=str, indent=2))
        return
    for r in rows:
        state = "revoked" if r.get("revoked") else "active"
        click.echo(f"{r['_id']}  {r.get('role', ''):<7} {state:<8} {str(r.get('created_at'))[:19]}  {r.get('name', '')}")


@keys.command("revoke")
@click.argument("key_id")
@click.pass_context
def revoke(ctx: click.Context, key_id: str) -> None:
    """Revoke the key KEY_ID."""
    from ionbase.service.keys import revoke_key

    if not revoke_key(command_store(ctx), key_id):
        raise click.ClickException(f"no key {key_id}")
    click.echo(f"revoked {key_id}")
