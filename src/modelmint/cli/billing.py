"""``mint invoices generate|list|show|credit|credit-notes`` and ``mint economics``.

The CLI acts as the platform; ``--as-channel C`` acts in channel C's scope (it generates
and sees only C's tenants' invoices and C's own wholesale invoice)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.catalog import CatalogError
from modelmint.cli.common import JSON_OUTPUT, console, err, fail
from modelmint.cli.runtime import Runtime
from modelmint.commerce import CommerceError
from modelmint.commerce.money import format_money, parse_money

if TYPE_CHECKING:
    from modelmint.commerce.economics import EconomicsReport
    from modelmint.commerce.invoices import Invoices

invoices_app = typer.Typer(
    help="Monthly invoices (CSV + printable HTML) and credit notes.", no_args_is_help=True
)
THROUGHPUT_METRIC = "serving_tokens_per_s"
AS_CHANNEL = typer.Option(None, "--as-channel", help="Act in this channel's scope.")


@contextmanager
def user_errors() -> Iterator[None]:
    try:
        yield
    except (CommerceError, CatalogError) as e:
        raise fail(e) from e


def _invoices(rt: Runtime) -> Invoices:
    from modelmint.commerce.invoices import Invoices

    return Invoices(rt.store, rt.settings.artifacts_dir)


@invoices_app.command("generate")
def generate(
    period: str = typer.Option(..., help="The month, YYYY-MM (UTC)."),
    as_channel: str | None = AS_CHANNEL,
) -> None:
    """Invoice every tenant with usage or credit notes in the month (retail) and every
    channel (wholesale, with its margin per tenant). Regenerating gives the same files."""
    rt = Runtime.open()
    with user_errors():
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
    with user_errors():
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
    with user_errors():
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
    from modelmint.commerce.credit_notes import CreditNotes

    rt = Runtime.open()
    with user_errors():
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
    from modelmint.commerce.credit_notes import CreditNotes

    rt = Runtime.open()
    with user_errors():
        notes = CreditNotes(rt.store).list(rt.scope(as_channel), period)
    table = Table("number", "period", "account", "amount", "reason", "by")
    for n in notes:
        account = f"tenant {n.tenant}" if n.tenant else f"channel {n.channel}"
        table.add_row(n.number, n.period, account, format_money(n.amount_micros), n.reason, n.actor)
    console.print(table)


# economics -------------------------------------------------------------------------------------
def _throughputs(rt: Runtime) -> dict[int, float]:
    return {
        listing.model.id: float(listing.model.metrics[THROUGHPUT_METRIC])
        for listing in rt.catalog.list_models()
        if listing.model.metrics.get(THROUGHPUT_METRIC)
    }


def _measure(rt: Runtime, report: EconomicsReport, concurrency: int) -> None:
    """Measures every model version the report covers that the native engine can serve,
    and keeps the figure in the catalog (``metrics.serving_tokens_per_s``)."""
    # imported here: loading torch and the engine is only worth it when measuring
    from modelmint.serving.throughput import measure_model

    for m in report.models:
        model = rt.catalog.get_model(m.model_version_id)
        if model.kind != "causal-lm" or not Path(model.path).exists():
            err.print(f"[yellow]skipped[/] {m.model}: not a causal LM on this machine")
            continue
        err.print(f"measuring {m.model} with {concurrency} concurrent requests …")
        try:
            result = measure_model(model.path, concurrency=concurrency)
        except (OSError, ValueError) as e:  # weights or tokenizer missing or unreadable
            err.print(f"[yellow]skipped[/] {m.model}: cannot load it ({str(e).splitlines()[0]})")
            continue
        rt.catalog.update_model_metrics(
            model.id,
            {
                THROUGHPUT_METRIC: result.tokens_per_s,
                "serving_throughput": {
                    "concurrency": result.requests,
                    "prompt_tokens": result.prompt_tokens,
                    "output_tokens": result.output_tokens,
                    "seconds": result.seconds,
                },
            },
        )
        err.print(f"  {result.tokens_per_s:.1f} output tokens/s")


def _pct(x: float | None) -> str:
    return "" if x is None else f"{x:.1f}%"


def _opt_money(micros: int | None) -> str:
    return "" if micros is None else format_money(micros)


def _print_report(r: EconomicsReport, period: str | None) -> None:
    span = period or "all usage"
    hourly = format_money(r.hardware_cost_per_hour_micros)
    models = Table(
        "model",
        "tokens/s",
        "cost / 1M out",
        "output tokens",
        "revenue",
        "compute",
        "margin",
        "margin %",
        "break-even util.",
        title=f"economics per model version, {span} (hardware {hourly}/h)",
    )
    for m in r.models:
        models.add_row(
            m.model,
            f"{m.tokens_per_s:.1f}" if m.tokens_per_s is not None else "not measured",
            _opt_money(m.cost_per_mtok_micros),
            str(m.output_tokens),
            format_money(m.revenue_micros),
            _opt_money(m.compute_cost_micros),
            _opt_money(m.gross_margin_micros),
            _pct(m.margin_percent),
            _pct(None if m.break_even_utilization is None else 100 * m.break_even_utilization),
        )
    models.add_row(
        "[bold]total",
        "",
        "",
        "",
        format_money(r.revenue_micros),
        format_money(r.compute_cost_micros),
        format_money(r.gross_margin_micros),
        "",
        "",
    )
    console.print(models)
    if r.channels:
        channels = Table(
            "channel", "wholesale (ours)", "channel retail", "channel margin", "compute",
            "our margin", title="per channel",
        )  # fmt: skip
        for c in r.channels:
            channels.add_row(
                c.channel,
                format_money(c.wholesale_micros),
                format_money(c.retail_micros),
                format_money(c.channel_margin_micros),
                format_money(c.compute_cost_micros),
                format_money(c.gross_margin_micros),
            )
        console.print(channels)
    tenants = Table(
        "tenant", "channel", "requests", "billed retail", "our revenue", "compute", "our margin",
        title="per tenant",
    )  # fmt: skip
    for t in r.tenants:
        tenants.add_row(
            t.tenant,
            t.channel or "",
            str(t.requests),
            format_money(t.retail_micros),
            format_money(t.revenue_micros),
            format_money(t.compute_cost_micros),
            format_money(t.gross_margin_micros),
        )
    console.print(tenants)
    if r.unmeasured:
        err.print(
            f"[yellow]no measured throughput for {', '.join(r.unmeasured)}[/]: their compute "
            "cost is left out; run `mint economics --measure`"
        )


def economics_command(
    period: str | None = typer.Option(None, help="Only this month, YYYY-MM (default: all)."),
    hardware_cost_per_hour: str | None = typer.Option(
        None,
        help="USD per hour of the serving hardware, e.g. 1.20 "
        "(default: MINT_HARDWARE_COST_PER_HOUR).",
    ),
    measure: bool = typer.Option(
        False, "--measure", help="Measure the served model versions' throughput first."
    ),
    concurrency: int = typer.Option(16, help="Concurrent requests when measuring."),
    as_json: bool = JSON_OUTPUT,
) -> None:
    """Cost per million output tokens per model version (hardware cost / measured
    throughput), revenue, gross margin per model, channel and tenant, and break-even
    utilization."""
    from modelmint.commerce.economics import economics

    rt = Runtime.open()
    with user_errors():
        cost_text = hardware_cost_per_hour or rt.settings.hardware_cost_per_hour
        if cost_text is None:
            raise CommerceError(
                "no hardware cost: give --hardware-cost-per-hour USD (e.g. 1.20) or set "
                "MINT_HARDWARE_COST_PER_HOUR"
            )
        hourly = parse_money(cost_text, "hardware cost per hour")

        def report() -> EconomicsReport:
            return economics(
                rt.store,
                hardware_cost_per_hour_micros=hourly,
                throughput=_throughputs(rt),
                period=period,
            )

        r = report()
        if measure:
            _measure(rt, r, concurrency)
            r = report()
    if as_json:
        print(json.dumps({"period": period, **r.to_json()}, indent=2, ensure_ascii=False))
        return
    _print_report(r, period)
