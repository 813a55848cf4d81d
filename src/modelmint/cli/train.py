"""``mint train``: run a recipe, resume a killed run; ``mint runs``: what runs did."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.table import Table

from modelmint.cli.charts import line_chart, save_loss_png
from modelmint.cli.common import USER_ERRORS, console, fail
from modelmint.cli.progress import RichProgress
from modelmint.cli.runtime import Runtime
from modelmint.training import TrainOutcome, load_recipe, resume_training, start_training

train_app = typer.Typer(
    help="Train models from YAML recipes (pretrain-clm, pretrain-mlm, continue, sft, classify).",
    invoke_without_command=True,
)
runs_app = typer.Typer(
    help="Runs: what each did, its metrics and loss curve.", no_args_is_help=True
)


def _report(outcome: TrainOutcome) -> None:
    if outcome.model is None:  # a non-main process of a distributed run
        return
    m = outcome.model
    shown = {
        k: v
        for k, v in outcome.metrics.items()
        if k in ("train_loss", "eval_loss", "perplexity", "eval_accuracy", "eval_macro_f1")
    }
    console.print(
        f"[green]✓[/] run {outcome.run_id} registered {m.label} ({m.kind}, "
        f"{m.num_parameters / 1e6:.1f}M parameters, {outcome.trainable_parameters / 1e6:.2f}M "
        f"trained) in {outcome.seconds:.0f}s: {json.dumps(shown)}"
    )


@train_app.callback()
def train(
    ctx: typer.Context,
    recipe: Path | None = typer.Option(None, help="YAML recipe file (see recipes/)."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a recipe key: --set training.learning_rate=1e-4"
    ),
) -> None:
    """mint train --recipe FILE [--set key=value ...]"""
    if ctx.invoked_subcommand is not None:
        return
    if recipe is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    rt = Runtime.open()
    try:
        parsed = load_recipe(recipe, set_)
        with RichProgress(console) as progress:
            outcome = start_training(rt.catalog, parsed, progress)
    except USER_ERRORS as e:
        raise fail(e) from e
    _report(outcome)


@train_app.command("resume")
def train_resume(run: int = typer.Argument(..., help="Run id (see `mint runs list`).")) -> None:
    """Continue a killed or failed run from its last complete checkpoint."""
    rt = Runtime.open()
    try:
        with RichProgress(console) as progress:
            outcome = resume_training(rt.catalog, run, progress)
    except USER_ERRORS as e:
        raise fail(e) from e
    _report(outcome)


@runs_app.command("list")
def runs_list(limit: int = typer.Option(20)) -> None:
    table = Table("run", "kind", "status", "started", "seconds", "output")
    for r in Runtime.open().catalog.list_runs(limit):
        took = (r.finished_at - r.started_at).total_seconds() if r.finished_at else None
        table.add_row(
            str(r.id),
            r.kind,
            r.status,
            r.started_at.isoformat(timespec="seconds"),
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
    try:
        info = rt.catalog.get_run(run)
    except USER_ERRORS as e:
        raise fail(e) from e
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
