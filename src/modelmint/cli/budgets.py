"""``mint budgets|alerts``: spending budgets per tenant or key, and the alerts they raise.
Amounts are USD (``12.50``), stored as integer micro-units. Changes are audited as
``cli:<os user>``; ``--as-channel C`` acts in channel C's scope."""

from __future__ import annotations

import typer
from rich.table import Table

from modelmint.cli.common import AS_CHANNEL, console, when
from modelmint.cli.runtime import Runtime
from modelmint.commerce import PERIODS, format_money, parse_money

budgets_app = typer.Typer(
    help="Spending budgets per tenant or key (hard or soft).", no_args_is_help=True
)


@budgets_app.command("set")
def budgets_set(
    tenant: str,
    amount: str = typer.Argument(..., help="USD per period, e.g. 100"),
    period: str = typer.Option("month", help=f"one of {', '.join(PERIODS)} (UTC)"),
    soft: bool = typer.Option(False, "--soft", help="Only alert; never refuse requests."),
    alert_percent: int = typer.Option(80, help="Also alert at this percent (and at 100)."),
    key: str | None = typer.Option(None, help="A key prefix: budget only that key."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Create or change the budget of a tenant (or one of its keys) for a period."""
    from modelmint.commerce.admission import Budgets

    rt = Runtime.open()
    b = Budgets(rt.store).set(
        rt.scope(as_channel),
        tenant,
        parse_money(amount),
        period,
        hard=not soft,
        alert_percent=alert_percent,
        key_prefix=key,
    )
    console.print(f"{b.label}: {format_money(b.amount_micros)}")


@budgets_app.command("list")
def budgets_list(
    tenant: str | None = typer.Option(None), as_channel: str | None = AS_CHANNEL
) -> None:
    """Budgets with what was spent and what is held in the current period."""
    from modelmint.commerce.admission import Budgets

    rt = Runtime.open()
    rows = Budgets(rt.store).list(rt.scope(as_channel), tenant)
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
def budgets_delete(budget_id: int, as_channel: str | None = AS_CHANNEL) -> None:
    """Remove a budget; what was spent stays in the ledger."""
    from modelmint.commerce.admission import Budgets

    rt = Runtime.open()
    Budgets(rt.store).delete(rt.scope(as_channel), budget_id)
    console.print(f"budget {budget_id} deleted")


def alerts(tenant: str | None = typer.Option(None), as_channel: str | None = AS_CHANNEL) -> None:
    """Budget alerts raised (once per budget, period and threshold), newest first."""
    from modelmint.commerce.admission import Budgets

    rt = Runtime.open()
    rows = Budgets(rt.store).alerts(rt.scope(as_channel), tenant)
    table = Table("when", "tenant", "key", "budget", "period start", "percent", "spent", "of")
    for a in rows:
        table.add_row(
            when(a.created_at),
            a.tenant,
            a.key_prefix or "",
            str(a.budget_id),
            when(a.period_start),
            f"{a.percent}%",
            format_money(a.spent_micros),
            format_money(a.amount_micros),
        )
    console.print(table)
