"""``mint eval MODEL --suite NAME``: run a suite and store it on the model version;
``mint eval compare A B``: per-metric differences with bootstrap intervals; ``mint eval
list``: what has been measured."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer
from rich.table import Table
from typer.core import TyperGroup

from modelmint.cli.common import JSON_OUTPUT, console, when
from modelmint.cli.progress import RichProgress
from modelmint.cli.runtime import Runtime
from modelmint.errors import UserError
from modelmint.evaluation.suite_names import SUITE_NAMES

if TYPE_CHECKING:
    from modelmint.evaluation import Comparison, EvaluationResult

_SHOWN_CHANGED = 5
_CLIP = 60


class _ModelFirst(TyperGroup):
    """``mint eval MODEL ...`` runs a suite; ``compare`` and ``list`` are subcommands. A
    first argument that is not a subcommand is taken as the model of ``run``."""

    # ctx is typed Any: typer vendors its own click, whose Context type is private to it
    def parse_args(self, ctx: Any, args: list[str]) -> list[str]:
        if args and args[0] not in self.commands and not args[0].startswith("-"):
            args = ["run", *args]
        return super().parse_args(ctx, args)


eval_app = typer.Typer(
    cls=_ModelFirst,
    no_args_is_help=True,
    help="Evaluate model versions (suites: "
    + ", ".join(SUITE_NAMES)
    + "): mint eval MODEL --suite NAME; mint eval compare A B; mint eval list.",
)


def _options(pairs: list[str]) -> dict[str, Any]:
    """``key=value`` pairs; a value that parses as JSON is taken as JSON (numbers, true,
    quoted strings with escapes such as "\\n\\n"), any other as the string itself."""
    out: dict[str, Any] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key:
            raise UserError(f"--set {pair!r}: write KEY=VALUE, e.g. --set max_new_tokens=32")
        try:
            out[key] = json.loads(value)
        except json.JSONDecodeError:
            out[key] = value
    return out


def _clip(value: Any) -> str:
    text = " ".join(str(value if value is not None else "").split())
    return text if len(text) <= _CLIP else text[: _CLIP - 1] + "…"


def _where(result: EvaluationResult) -> str:
    return f"{result.dataset}" + (f", split {result.split}" if result.split else "")


def _show(result: EvaluationResult) -> None:
    console.print(f"[bold]{result.suite}[/] on {result.model}: {_where(result)}")
    table = Table("metric", "value")
    for name, value in result.metrics.items():
        table.add_row(name, f"{value:.4f}")
    console.print(table)
    console.print(
        f"[green]✓[/] evaluation {result.id} stored on {result.model} "
        f"({len(result.examples())} examples)"
    )
    console.print(f"report: {result.report_path}", soft_wrap=True)


@eval_app.command("run", hidden=True)
def eval_run(
    model: str = typer.Argument(..., help="NAME, NAME:VERSION or NAME@ALIAS"),
    suite: str | None = typer.Option(
        None, help="Suite (default: perplexity for causal LMs, classification for classifiers)."
    ),
    dataset: str | None = typer.Option(
        None, help="NAME or NAME:VERSION (default: the dataset the model was trained on)."
    ),
    split: str = typer.Option("validation", help="Dataset split."),
    file: Path | None = typer.Option(None, help="JSONL file of a custom suite."),
    set_: list[str] = typer.Option(
        [], "--set", help="A suite option: --set max_examples=50 --set num_fewshot=3"
    ),
) -> None:
    """Run a suite on a model version and store the result on it."""
    from modelmint.evaluation import DEFAULT_SUITE, run_evaluation

    rt = Runtime.open()
    ref = rt.catalog.resolve_model(model)
    name = suite or ("custom" if file else DEFAULT_SUITE.get(ref.kind))
    if name is None:
        raise UserError(f"{ref.label} is a {ref.kind}: name a suite with --suite")
    if file is not None and name != "custom":
        raise UserError(f"--file is for the custom suite, not {name}")
    with RichProgress(console) as progress:
        result = run_evaluation(
            rt.catalog,
            ref,
            name,
            dataset=str(file) if file else dataset,
            split=split,
            options=_options(set_),
            progress=progress,
        )
    _show(result)


def _show_comparison(c: Comparison) -> None:
    console.print(
        f"[bold]{c.a.suite}[/] on {_where(c.a)}: {c.paired} paired examples, "
        f"{c.resamples} paired bootstrap resamples (seed {c.seed})"
    )
    table = Table("metric", c.a.model, c.b.model, "difference", "95% interval", "")
    colour = {"better": "green", "worse": "red"}
    for m in c.metrics:
        verdict = f"[{colour[m.verdict]}]{m.verdict}[/]" if m.verdict in colour else m.verdict
        table.add_row(
            m.name,
            f"{m.a:.4f}",
            f"{m.b:.4f}",
            f"{m.diff:+.4f}",
            f"[{m.low:+.4f}, {m.high:+.4f}]",
            verdict,
        )
    console.print(table)
    if not c.changed:
        return
    generated = c.changed[0].reference is not None
    what = ["reference", c.a.model, c.b.model] if generated else ["input"]
    changed = Table("example", *what, c.changed[0].score, title="changed most")
    for x in c.changed[:_SHOWN_CHANGED]:
        texts = [x.reference, x.prediction_a, x.prediction_b] if generated else [x.input]
        changed.add_row(_clip(x.key), *map(_clip, texts), f"{x.score_a:.3g} → {x.score_b:.3g}")
    console.print(changed)


@eval_app.command("compare")
def eval_compare(
    a: str = typer.Argument(..., help="The reference model: NAME, NAME:VERSION or NAME@ALIAS."),
    b: str = typer.Argument(..., help="The model compared against it."),
    suite: str | None = typer.Option(None, help="Only this suite."),
    resamples: int = typer.Option(1000, min=10, help="Paired bootstrap resamples."),
    seed: int = typer.Option(0, help="Seed of the bootstrap."),
) -> None:
    """B against A on their latest evaluations of the same measurements (running any that
    one of them lacks): differences with paired bootstrap 95% intervals, and the examples
    that changed most."""
    from modelmint.evaluation import compare_models, comparison_dir, comparison_report

    rt = Runtime.open()
    ref_a, ref_b = rt.catalog.resolve_model(a), rt.catalog.resolve_model(b)
    with RichProgress(console) as progress:
        comparisons = compare_models(
            rt.catalog,
            ref_a,
            ref_b,
            suite=suite,
            resamples=resamples,
            seed=seed,
            progress=progress,
        )
    for c in comparisons:
        _show_comparison(c)
    path = comparison_report(comparisons, comparison_dir(rt.catalog, comparisons))
    console.print(f"report: {path}", soft_wrap=True)


@eval_app.command("list")
def eval_list(
    model: str | None = typer.Argument(None, help="Only this model version."),
    as_json: bool = JSON_OUTPUT,
) -> None:
    """Stored evaluations, newest last."""
    from modelmint.evaluation import headline

    rt = Runtime.open()
    model_id = rt.catalog.resolve_model(model).id if model else None
    records = rt.catalog.evaluations.list(model_id)
    if as_json:
        rows = [
            {
                "id": r.id,
                "model": r.model,
                "suite": r.suite,
                "dataset": r.dataset,
                "split": r.split,
                "options": r.options,
                "metrics": r.metrics,
                "path": str(r.path),
            }
            for r in records
        ]
        print(json.dumps(rows, ensure_ascii=False, indent=2))
        return
    table = Table("id", "model", "suite", "dataset", "split", "metrics", "when")
    for r in records:
        table.add_row(
            str(r.id),
            r.model,
            r.suite,
            _clip(r.dataset),
            r.split or "",
            headline(r.suite, r.metrics),
            when(r.created_at),
        )
    console.print(table)
