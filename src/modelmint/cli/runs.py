"""``mint runs``: what each run (training, curation, evaluation...) did: its status, its
metrics, and its loss curve drawn in the terminal and saved as a PNG."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from modelmint.cli.charts import line_chart, save_loss_png
from modelmint.cli.common import console, when
from modelmint.cli.runtime import Runtime

runs_app = typer.Typer(
    help="Runs: what each did, its metrics and loss curve.", no_args_is_help=True
)


@runs_app.command("list")
def runs_list(limit: int = typer.Option(20)) -> None:
    """The newest runs (training, curation, evaluation...), with status and output."""
    table = Table("run", "kind", "status", "started", "seconds", "output")
    for r in Runtime.open().catalog.list_runs(limit):
        took = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
        table.add_row(
            str(r.id),
            r.kind,
            r.status,
            when(r.started_at),
            f"{took:.0f}" if took is not None else "",
            str(r.output_path or r.error or ""),
        )
    console.print(table)


@runs_app.command("show")
def runs_show(
    run: int = typer.Argument(...),
    metric: str = typer.Option("loss", help="Metric to draw."),
    png: Path | None = typer.Option(None, help="Where to write the PNG (default: run dir)."),
    as_json: bool = typer.Option(False, "--json", help="All metrics by step, as JSON."),
) -> None:
    """A run's status and metrics; its curve drawn in the terminal and saved as a PNG."""
    rt = Runtime.open()
    info = rt.catalog.get_run(run)
    series = rt.catalog.run_metrics(run)
    if as_json:
        print(json.dumps({"run": run, "status": info.status, "metrics": series}, indent=2))
        return
    console.print(
        f"run {run}: {info.kind}, {info.status}; final "
        + json.dumps({k: v for k, v in info.metrics.items() if not isinstance(v, dict)})
    )
    if info.error:
        console.print(f"[red]error:[/] {info.error}")
    points = series.get(metric) or series.get(f"eval_{metric}") or []
    if not points:
        console.print(f"no {metric!r} logged; logged: {sorted(series) or 'nothing yet'}")
        return
    console.print(line_chart(points, title=f"{metric} by step"))
    path = png or rt.catalog.run_dir(run) / f"{metric}.png"
    save_loss_png(series, path, metric)
    console.print(f"plot: {path}")
