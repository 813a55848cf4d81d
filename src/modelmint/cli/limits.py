"""``mint wallets|budgets|alerts``: prepaid wallets, spending budgets and their alerts.
Amounts are USD (``12.50``), stored as integer micro-units. Changes are audited as
``cli:<os user>``; ``--channel C`` acts in channel C's scope."""

from __future__ import annotations

from datetime import datetime

import typer
from rich.table import Table

from modelmint.cli.accounts import parse_duration, user_errors
from modelmint.cli.common import console
from modelmint.cli.runtime import Runtime
from modelmint.commerce.choices import PERIODS
from modelmint.commerce.money import format_money, parse_money

wallets_app = typer.Typer(help="Prepaid wallets: top-ups, credits, adjustments.")
budgets_app = typer.Typer(help="Spending budgets per tenant or key (hard or soft).")
for _sub in (wallets_app, budgets_app):
    _sub.info.no_args_is_help = True

LIMIT_APPS = [(wallets_app, "wallets"), (budgets_app, "budgets")]

CHANNEL = typer.Option(None, "--channel", help="Act in this channel's scope.")


def _when(at: datetime | None) -> str:
    return at.isoformat(timespec="seconds") if at else ""


@wallets_app.command("topup")
def wallets_topup(
    tenant: str,
    amount: str = typer.Argument(..., help="USD, e.g. 25 or 12.50"),
    note: str = typer.Option("", help="Why (an order or receipt number)."),
    channel: str | None = CHANNEL,
) -> None:
    """Paid money into a prepaid tenant's wallet."""
    from modelmint.commerce.wallets import Wallets

    rt = Runtime.open()
    with user_errors():
        e = Wallets(rt.store).topup(rt.scope(channel), tenant, parse_money(amount), note)
    console.print(f"topped up {tenant!r} by {format_money(e.amount_micros)}")


@wallets_app.command("credit")
def wallets_credit(
    tenant: str,
    amount: str = typer.Argument(..., help="USD, e.g. 10"),
    expires_in: str | None = typer.Option(None, help="e.g. 30d; default: never expires"),
    note: str = typer.Option(""),
    channel: str | None = CHANNEL,
) -> None:
    """A credit: spent before paid money; what is left when it expires disappears."""
    from modelmint.commerce.wallets import Wallets

    rt = Runtime.open()
    with user_errors():
        wallets = Wallets(rt.store)
        expires = (
            wallets.clock() + parse_duration(expires_in, "--expires-in") if expires_in else None
        )
        e = wallets.credit(rt.scope(channel), tenant, parse_money(amount), expires, note)
    until = f", expires {_when(e.expires_at)}" if e.expires_at else ""
    console.print(f"credited {tenant!r} {format_money(e.amount_micros)}{until}")


@wallets_app.command("adjust")
def wallets_adjust(
    tenant: str,
    # an option, not an argument: a negative amount would read as an unknown flag
    amount: str = typer.Option(..., "--amount", help="signed USD: --amount -5 or --amount 3"),
    note: str = typer.Option(..., help="Why (required)."),
    channel: str | None = CHANNEL,
) -> None:
    """A signed correction of paid money."""
    from modelmint.commerce.wallets import Wallets

    rt = Runtime.open()
    with user_errors():
        e = Wallets(rt.store).adjust(rt.scope(channel), tenant, parse_money(amount), note)
    console.print(f"adjusted {tenant!r} by {format_money(e.amount_micros)}")


@wallets_app.command("show")
def wallets_show(tenant: str, channel: str | None = CHANNEL) -> None:
    """The balance (paid money and live credits) and every entry."""
    from modelmint.commerce.wallets import Wallets

    rt = Runtime.open()
    with user_errors():
        wallets = Wallets(rt.store)
        scope = rt.scope(channel)
        balance = wallets.show(scope, tenant)
        entries = wallets.entries(scope, tenant)
    table = Table("when", "kind", "amount", "expires", "note", "by", title=f"wallet of {tenant}")
    for e in entries:
        table.add_row(
            _when(e.created_at),
            e.kind,
            format_money(e.amount_micros),
            _when(e.expires_at),
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
    channel: str | None = CHANNEL,
) -> None:
    """Re-derive each running balance (what admission reads) from the ledger and compare;
    exit code 1 if any differs (and was not rebuilt)."""
    from modelmint.commerce.wallets import Wallets

    rt = Runtime.open()
    with user_errors():
        wallets = Wallets(rt.store)
        scope = rt.scope(channel)
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


@budgets_app.command("set")
def budgets_set(
    tenant: str,
    amount: str = typer.Argument(..., help="USD per period, e.g. 100"),
    period: str = typer.Option("month", help=f"one of {', '.join(PERIODS)} (UTC)"),
    soft: bool = typer.Option(False, "--soft", help="Only alert; never refuse requests."),
    alert_percent: int = typer.Option(80, help="Also alert at this percent (and at 100)."),
    key: str | None = typer.Option(None, help="A key prefix: budget only that key."),
    channel: str | None = CHANNEL,
) -> None:
    """Create or change the budget of a tenant (or one of its keys) for a period."""
    from modelmint.commerce.budgets import Budgets

    rt = Runtime.open()
    with user_errors():
        b = Budgets(rt.store).set(
            rt.scope(channel),
            tenant,
            parse_money(amount),
            period,
            hard=not soft,
            alert_percent=alert_percent,
            key_prefix=key,
        )
    console.print(f"{b.label}: {format_money(b.amount_micros)}")


@budgets_app.command("list")
def budgets_list(tenant: str | None = typer.Option(None), channel: str | None = CHANNEL) -> None:
    """Budgets with what was spent and what is held in the current period."""
    from modelmint.commerce.budgets import Budgets

    rt = Runtime.open()
    with user_errors():
        rows = Budgets(rt.store).list(rt.scope(channel), tenant)
    table = Table("id", "tenant", "key", "period", "kind", "amount", "spent", "held", "alert %")
    for b in rows:
        table.add_row(
            str(b.id),
            b.tenant,
            b.key_prefix or "",
            b.period,
            "hard" if b.hard else "soft",
            format_money(b.amount_micros),
            format_money(b.spent_micros),
            format_money(b.held_micros),
            str(b.alert_percent),
        )
    console.print(table)


@budgets_app.command("delete")
def budgets_delete(budget_id: int, channel: str | None = CHANNEL) -> None:
    """Remove a budget; what was spent stays in the ledger."""
    from modelmint.commerce.budgets import Budgets

    rt = Runtime.open()
    with user_errors():
        Budgets(rt.store).delete(rt.scope(channel), budget_id)
    console.print(f"budget {budget_id} deleted")


def alerts(tenant: str | None = typer.Option(None), channel: str | None = CHANNEL) -> None:
    """Budget alerts raised (once per budget, period and threshold), newest first."""
    from modelmint.commerce.budgets import Budgets

    rt = Runtime.open()
    with user_errors():
        rows = Budgets(rt.store).alerts(rt.scope(channel), tenant)
    table = Table("when", "tenant", "key", "budget", "period start", "percent", "spent", "of")
    for a in rows:
        table.add_row(
            _when(a.created_at),
            a.tenant,
            a.key_prefix or "",
            str(a.budget_id),
            _when(a.period_start),
            f"{a.percent}%",
            format_money(a.spent_micros),
            format_money(a.amount_micros),
        )
    console.print(table)
