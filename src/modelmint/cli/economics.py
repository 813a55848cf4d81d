"""``mint economics``: what each model version costs to serve and earns, per model, channel
and tenant, from the usage ledger and each version's measured throughput."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.table import Table

from modelmint.cli.common import JSON_OUTPUT, console, err
from modelmint.cli.runtime import Runtime
from modelmint.commerce import CommerceError, format_money, parse_money

if TYPE_CHECKING:
    from modelmint.commerce.economics import EconomicsReport

THROUGHPUT_METRIC = "serving_tokens_per_s"


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
    from modelmint.serving.drivers import measure_model

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
