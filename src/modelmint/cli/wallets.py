"""``mint wallets``: prepaid wallets, their top-ups, credits and adjustments. Amounts are USD
(``12.50``), stored as integer micro-units. Changes are audited as ``cli:<os user>``;
``--as-channel C`` acts in channel C's scope."""

from __future__ import annotations

import typer
from rich.table import Table

from modelmint.cli.common import AS_CHANNEL, console, parse_duration, when
from modelmint.cli.runtime import Runtime
from modelmint.commerce import format_money, parse_money

wallets_app = typer.Typer(
    help="Prepaid wallets: top-ups, credits, adjustments.", no_args_is_help=True
)


@wallets_app.command("topup")
def wallets_topup(
    tenant: str,
    amount: str = typer.Argument(..., help="USD, e.g. 25 or 12.50"),
    note: str = typer.Option("", help="Why (an order or receipt number)."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Paid money into a prepaid tenant's wallet."""
    from modelmint.commerce.ledger import Wallets

    rt = Runtime.open()
    e = Wallets(rt.store).topup(rt.scope(as_channel), tenant, parse_money(amount), note)
    console.print(f"topped up {tenant!r} by {format_money(e.amount_micros)}")


@wallets_app.command("credit")
def wallets_credit(
    tenant: str,
    amount: str = typer.Argument(..., help="USD, e.g. 10"),
    expires_in: str | None = typer.Option(None, help="e.g. 30d; default: never expires"),
    note: str = typer.Option(""),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """A credit: spent before paid money; what is left when it expires disappears."""
    from modelmint.commerce.ledger import Wallets

    rt = Runtime.open()
    wallets = Wallets(rt.store)
    expires = wallets.clock() + parse_duration(expires_in, "--expires-in") if expires_in else None
    e = wallets.credit(rt.scope(as_channel), tenant, parse_money(amount), expires, note)
    until = f", expires {when(e.expires_at)}" if e.expires_at else ""
    console.print(f"credited {tenant!r} {format_money(e.amount_micros)}{until}")


@wallets_app.command("adjust")
def wallets_adjust(
    tenant: str,
    # an option, not an argument: a negative amount would read as an unknown flag
    amount: str = typer.Option(..., "--amount", help="signed USD: --amount -5 or --amount 3"),
    note: str = typer.Option(..., help="Why (required)."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """A signed correction of paid money."""
    from modelmint.commerce.ledger import Wallets

    rt = Runtime.open()
    e = Wallets(rt.store).adjust(rt.scope(as_channel), tenant, parse_money(amount), note)
    console.print(f"adjusted {tenant!r} by {format_money(e.amount_micros)}")


@wallets_app.command("show")
def wallets_show(tenant: str, as_channel: str | None = AS_CHANNEL) -> None:
    """The balance (paid money and live credits) and every entry."""
    from modelmint.commerce.ledger import Wallets

    rt = Runtime.open()
    wallets = Wallets(rt.store)
    scope = rt.scope(as_channel)
    balance = wallets.show(scope, tenant)
    entries = wallets.entries(scope, tenant)
    table = Table("when", "kind", "amount", "expires", "note", "by", title=f"wallet of {tenant}")
    for e in entries:
        table.add_row(
            when(e.created_at),
            e.kind,
            format_money(e.amount_micros),
            when(e.expires_at),
            e.note,
            e.actor,
        )
    console.print(table)
    console.print(
        f"balance {format_money(balance.total_micros)} = paid {format_money(balance.paid_micros)}"
        f" + live credits {format_money(balance.credit_micros)}"
    )


@wallets_app.command("verify")
def wallets_verify(
    tenant: str | None = typer.Argument(None, help="One tenant; default: every wallet."),
    rebuild: bool = typer.Option(
        False, "--rebuild", help="Replace a differing running balance with the ledger's."
    ),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Re-derive each running balance (what admission reads) from the ledger and compare;
    exit code 1 if any differs (and was not rebuilt)."""
    from modelmint.commerce.ledger import Wallets

    rt = Runtime.open()
    wallets = Wallets(rt.store)
    scope = rt.scope(as_channel)
    checks = wallets.verify(scope, tenant)
    for c in checks:
        if c.mismatch is None:
            console.print(f"{c.tenant}: ok")
            continue
        console.print(f"{c.tenant}: DIFFERS: {c.mismatch.describe(c.tenant)}")
        if rebuild:
            wallets.rebuild(scope, c.tenant)
            console.print(f"{c.tenant}: rebuilt from the ledger")
    if any(not c.ok for c in checks) and not rebuild:
        console.print("rebuild with `mint wallets verify TENANT --rebuild`")
        raise typer.Exit(1)
