"""``mint admin-keys``: keys for the admin API and the console, the platform's or one
channel's (``--as-channel C``). A key is printed once, as the last line, and never again."""

from __future__ import annotations

import typer
from rich.table import Table

from modelmint.cli.common import AS_CHANNEL, console, when
from modelmint.cli.keys import prefix_column
from modelmint.cli.runtime import Runtime

admin_keys_app = typer.Typer(
    help="Keys for the admin API (platform or one channel).", no_args_is_help=True
)


@admin_keys_app.command("create")
def admin_keys_create(
    as_channel: str | None = AS_CHANNEL,
    name: str = typer.Option("", help="A label for the key."),
) -> None:
    """Create an admin key (for /admin/v1 and the console), printed once as the last line."""
    rt = Runtime.open()
    created = rt.admin_keys.create(rt.scope(as_channel), name)
    whose = f"channel {created.channel!r}" if created.channel else "the platform"
    console.print(
        f"admin key {created.prefix} for {whose}; store it now, it will not be shown again:"
    )
    print(created.key)


@admin_keys_app.command("list")
def admin_keys_list() -> None:
    """Admin keys of the platform and the channels (prefixes only)."""
    rt = Runtime.open()
    table = Table(prefix_column(), "channel", "name", "created", "expires", "revoked")
    for k in rt.admin_keys.list(rt.scope()):
        table.add_row(
            k.prefix,
            k.channel or "(platform)",
            k.name,
            when(k.created_at),
            when(k.expires_at),
            when(k.revoked_at),
        )
    console.print(table)


@admin_keys_app.command("revoke")
def admin_keys_revoke(prefix: str) -> None:
    """Refuse the admin key from the next request on, in the API and the console."""
    rt = Runtime.open()
    rt.admin_keys.revoke(rt.scope(), prefix)
    console.print(f"admin key {prefix} revoked")
