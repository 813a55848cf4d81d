"""``mint prices``: price books (plan tiers) and their prices, typed in USD per million
tokens and kept as integer micro-units. ``--as-channel C`` works on channel C's own books."""

from __future__ import annotations

import typer
from rich.table import Table

from modelmint.cli.common import AS_CHANNEL, console, when
from modelmint.cli.runtime import Runtime
from modelmint.commerce import format_money, parse_money

prices_app = typer.Typer(
    help="Price books: USD per million tokens per model.", no_args_is_help=True
)


@prices_app.command("create-book")
def prices_create_book(name: str, as_channel: str | None = AS_CHANNEL) -> None:
    """Create a price book (a plan tier): the platform's, or a channel's own retail book."""
    rt = Runtime.open()
    book = rt.prices.create_book(rt.scope(as_channel), name)
    owner = f"channel {as_channel!r}" if as_channel else "the platform"
    console.print(f"price book {book.name!r} created for {owner}")


@prices_app.command("set")
def prices_set(
    book: str,
    model: str = typer.Argument(..., help="A model name (every version) or NAME:VERSION."),
    input_price: str = typer.Option(..., "--input", help="USD per million input tokens."),
    output_price: str = typer.Option(..., "--output", help="USD per million output tokens."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Set a model's price in a book. Requests already billed keep their price."""
    rt = Runtime.open()
    row = rt.prices.set_price(
        rt.scope(as_channel),
        book,
        model,
        parse_money(input_price, "--input"),
        parse_money(output_price, "--output"),
    )
    console.print(
        f"{book}: {row.model} costs {format_money(row.input_micros_per_mtok)} in / "
        f"{format_money(row.output_micros_per_mtok)} out USD per million tokens"
    )


@prices_app.command("list")
def prices_list(
    book: str | None = typer.Argument(None, help="Show this book's prices."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """The price books, or one book's prices (USD per million tokens)."""
    rt = Runtime.open()
    scope = rt.scope(as_channel)
    if book is None:
        table = Table("book", "owner", "models", "created")
        names = {c.id: c.name for c in rt.channels.list(scope)}
        for b in rt.prices.list_books(scope):
            owner = names.get(b.channel_id, "") if b.channel_id else "(platform)"
            table.add_row(b.name, owner, str(b.models), when(b.created_at))
    else:
        table = Table("model", "input", "output", "updated", title=f"{book} (USD / 1M tok)")
        for p in rt.prices.prices(scope, book):
            table.add_row(
                p.model,
                format_money(p.input_micros_per_mtok),
                format_money(p.output_micros_per_mtok),
                when(p.updated_at),
            )
    console.print(table)
