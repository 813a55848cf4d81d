"""``mint invoices generate|list|show|credit|credit-notes``: monthly invoices and credit notes.

The CLI acts as the platform; ``--as-channel C`` acts in channel C's scope (it generates
and sees only C's tenants' invoices and C's own wholesale invoice)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.cli.common import AS_CHANNEL, console
from modelmint.cli.runtime import Runtime
from modelmint.commerce import format_money, parse_money

if TYPE_CHECKING:
    from modelmint.commerce.ledger import Invoices

invoices_app = typer.Typer(
    help="Monthly invoices (CSV + printable HTML) and credit notes.", no_args_is_help=True
)


def _invoices(rt: Runtime) -> Invoices:
    from modelmint.commerce.ledger import Invoices

    return Invoices(rt.store, rt.settings.artifacts_dir)


@invoices_app.command("generate")
def generate(
    period: str = typer.Option(..., help="The month, YYYY-MM (UTC)."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Invoice every tenant with usage or credit notes in the month (retail) and every
    channel (wholesale, with its margin per tenant). Regenerating gives the same files."""
    rt = Runtime.open()
    refs = _invoices(rt).generate(period, rt.scope(as_channel))
    if not refs:
        console.print(f"no usage and no credit notes in {period}: no invoices")
        return
    table = Table("number", "type", "bill to", "subtotal", "credits", "total", title=period)
    for r in refs:
        table.add_row(
            r.number,
            r.kind,
            r.bill_to,
            format_money(r.subtotal_micros),
            format_money(r.credits_micros),
            format_money(r.total_micros),
        )
    console.print(table)
    console.print(f"CSV and HTML in {refs[0].csv_path.parent}")


@invoices_app.command("list")
def list_invoices(
    period: str | None = typer.Option(None, help="Only this month, YYYY-MM."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Invoices with their period, who is billed and the total."""
    rt = Runtime.open()
    refs = _invoices(rt).list(rt.scope(as_channel), period)
    table = Table("number", "period", "type", "bill to", "total", "html")
    for r in refs:
        table.add_row(
            r.number, r.period, r.kind, r.bill_to, format_money(r.total_micros), str(r.html_path)
        )
    console.print(table)


@invoices_app.command("show")
def show(
    number: str,
    as_channel: str | None = AS_CHANNEL,
    as_json: bool = typer.Option(False, "--json", help="Lines and totals as JSON."),
) -> None:
    """One invoice's lines and totals."""
    rt = Runtime.open()
    ref, doc = _invoices(rt).show(rt.scope(as_channel), number)
    if as_json:
        print(
            json.dumps(
                {
                    "number": ref.number,
                    "period": ref.period,
                    "type": ref.kind,
                    "bill_to": ref.bill_to,
                    "issuer": doc.issuer,
                    "lines": doc.rows_json(),
                    "subtotal_micros": ref.subtotal_micros,
                    "credits_micros": ref.credits_micros,
                    "total_micros": ref.total_micros,
                    "csv": str(ref.csv_path),
                    "html": str(ref.html_path),
                },
                indent=2,
                ensure_ascii=False,
            )
        )
        return
    title = f"{ref.number}: {ref.kind} invoice to {ref.bill_to} from {doc.issuer}, {ref.period}"
    table = Table("item", "requests", "input tok", "output tok", "in/1M", "out/1M", "amount")
    table.title = title
    for line in doc.lines:
        usage = line.kind == "usage"
        table.add_row(
            line.item,
            str(line.requests) if usage else "",
            str(line.input_tokens) if usage else "",
            str(line.output_tokens) if usage else "",
            format_money(line.input_price_micros) if line.input_price_micros is not None else "",
            format_money(line.output_price_micros) if line.output_price_micros is not None else "",
            format_money(line.amount_micros),
        )
    table.add_row("[bold]total", "", "", "", "", "", format_money(ref.total_micros))
    console.print(table)
    if doc.tenants:
        margins = Table("tenant", "requests", "retail", "credits", "wholesale", "margin")
        for t in doc.tenants:
            margins.add_row(
                t.tenant,
                str(t.requests),
                format_money(t.retail_micros),
                format_money(t.credits_micros),
                format_money(t.wholesale_micros),
                format_money(t.margin_micros),
            )
        console.print(margins)
    console.print(f"{ref.html_path}")


@invoices_app.command("credit")
def credit(
    period: str = typer.Option(..., help="The month whose bill is adjusted, YYYY-MM."),
    amount: str = typer.Option(..., help="USD taken off the bill, e.g. 12.50."),
    reason: str = typer.Option(..., help="Why (shown on the invoice)."),
    tenant: str | None = typer.Option(None, help="Credit this tenant's (retail) bill."),
    channel: str | None = typer.Option(None, help="Credit this channel's (wholesale) bill."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Issue a credit note. It appears on the period's invoice when that is (re)generated."""
    from modelmint.commerce.ledger import CreditNotes

    rt = Runtime.open()
    note = CreditNotes(rt.store).issue(
        rt.scope(as_channel),
        period=period,
        amount_micros=parse_money(amount),
        reason=reason,
        tenant=tenant,
        channel=channel,
    )
    console.print(
        f"credit note {note.number}: {format_money(note.amount_micros)} off the "
        f"{note.period} bill of {note.tenant or note.channel}; run `mint invoices generate "
        f"--period {note.period}` to update the invoice"
    )


@invoices_app.command("credit-notes")
def credit_notes(
    period: str | None = typer.Option(None, help="Only this month, YYYY-MM."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Credit notes issued to tenants and channels."""
    from modelmint.commerce.ledger import CreditNotes

    rt = Runtime.open()
    notes = CreditNotes(rt.store).list(rt.scope(as_channel), period)
    table = Table("number", "period", "account", "amount", "reason", "by")
    for n in notes:
        account = f"tenant {n.tenant}" if n.tenant else f"channel {n.channel}"
        table.add_row(n.number, n.period, account, format_money(n.amount_micros), n.reason, n.actor)
    console.print(table)
