"""``mint channels``: channel partners, who resell to their own tenants and buy at a
platform price book. The CLI acts as the platform (actor ``cli:<os user>`` in the audit
log)."""

from __future__ import annotations

import typer
from rich.table import Table

from modelmint.cli.common import console, when
from modelmint.cli.runtime import Runtime

channels_app = typer.Typer(
    help="Channel partners who resell to their own tenants.", no_args_is_help=True
)


@channels_app.command("create")
def channels_create(name: str) -> None:
    """Create a channel (a reseller). It buys at the platform's `wholesale` book unless
    `mint channels set-book` says otherwise."""
    rt = Runtime.open()
    c = rt.channels.create(rt.scope(), name)
    console.print(f"channel {c.name!r} created (wholesale book: {c.effective_wholesale_book})")


@channels_app.command("list")
def channels_list() -> None:
    """Channels with their wholesale price book and how many tenants each has."""
    rt = Runtime.open()
    tenants = rt.tenants.list(rt.scope())
    table = Table("name", "wholesale book", "tenants", "created")
    for c in rt.channels.list(rt.scope()):
        count = sum(1 for t in tenants if t.channel_id == c.id)
        table.add_row(c.name, c.effective_wholesale_book, str(count), when(c.created_at))
    console.print(table)


@channels_app.command("set-book")
def channels_set_book(
    channel: str,
    book: str | None = typer.Argument(
        None, help="A platform price book; leave out to go back to `wholesale`."
    ),
) -> None:
    """Choose the platform price book a channel buys at."""
    rt = Runtime.open()
    c = rt.channels.set_wholesale_book(rt.scope(), channel, book)
    console.print(f"channel {c.name!r} now buys at {c.effective_wholesale_book!r}")
