"""``mint train``: run a recipe, or resume a killed run (``mint runs`` shows what runs did)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from modelmint.cli.common import console
from modelmint.cli.progress import RichProgress
from modelmint.cli.runtime import Runtime

if TYPE_CHECKING:
    from modelmint.training import TrainOutcome

train_app = typer.Typer(
    help="Train models from YAML recipes (pretrain-clm, pretrain-mlm, continue, sft, classify, "
    "distill).",
    invoke_without_command=True,
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


def _version(label: str) -> int:
    return int(label.rpartition(":")[2])


def _labels(record: dict[str, Any]) -> dict[str, Any]:
    labels = record.get("labels") or {}
    return json.loads(labels) if isinstance(labels, str) else dict(labels)


def feedback_recipe(rt: Runtime, recipe: Path, set_: list[str], model: str) -> Any:
    """The sft recipe with ``dataset`` the SFT export of ``model``'s accepted feedback and
    ``base`` the model version that answered (the newest, when ``model`` names no version).
    The recipe is checked before anything is written."""
    from modelmint.labeling.feedback import Feedback, FeedbackError
    from modelmint.training import RecipeError, load_recipe

    if any(item.partition("=")[0].strip() in ("dataset", "base") for item in set_):
        raise RecipeError(
            "--from-feedback sets the recipe's dataset and base; leave them out of --set"
        )
    checked = load_recipe(recipe, [*set_, "dataset=feedback", "base=feedback"])
    if checked.recipe != "sft":
        raise RecipeError(
            f"{recipe}: --from-feedback trains an sft recipe, this one is {checked.recipe!r}; "
            "use a recipe with `recipe: sft` (e.g. recipes/sft.yaml)"
        )
    out = Feedback(rt.store).export(rt.catalog, model)
    if out.sft is None:
        raise FeedbackError(
            f"the accepted feedback on {model} has nothing to fine-tune on (no corrected "
            "answers or ratings of 4-5 with a kept transcript); see `mint feedback list`"
        )
    answered = {_labels(r)["model"] for r in out.sft.read_split("train")}
    base = model if ":" in model else max(answered, key=_version)
    console.print(
        f"feedback on {model}: {out.sft_rows} SFT records in dataset {out.sft.label}"
        + (
            f" ({len(out.skipped_no_transcript)} without a transcript skipped)"
            if out.skipped_no_transcript
            else ""
        )
        + f"; fine-tuning {base}"
    )
    return load_recipe(recipe, [*set_, f"dataset={out.sft.label}", f"base={base}"])


@train_app.callback()
def train(
    ctx: typer.Context,
    recipe: Path | None = typer.Option(None, help="YAML recipe file (see recipes/)."),
    set_: list[str] = typer.Option(
        [], "--set", help="Override a recipe key: --set training.learning_rate=1e-4"
    ),
    from_feedback: str | None = typer.Option(
        None,
        "--from-feedback",
        help="MODEL or MODEL:VERSION: fine-tune it (sft) on its accepted feedback.",
    ),
) -> None:
    """mint train --recipe FILE [--set key=value ...] [--from-feedback MODEL]"""
    if ctx.invoked_subcommand is not None:
        return
    if recipe is None:
        console.print(ctx.get_help())
        raise typer.Exit(2)
    from modelmint.training import load_recipe

    rt = Runtime.open()
    if from_feedback:
        parsed = feedback_recipe(rt, recipe, set_, from_feedback)
    else:
        parsed = load_recipe(recipe, set_)
    from modelmint.training import start_training  # torch and transformers, once it runs

    with RichProgress(console) as progress:
        outcome = start_training(rt.catalog, parsed, progress)
    _report(outcome)


@train_app.command("resume")
def train_resume(run: int = typer.Argument(..., help="Run id (see `mint runs list`).")) -> None:
    """Continue a killed or failed run from its last complete checkpoint."""
    from modelmint.training import resume_training

    rt = Runtime.open()
    with RichProgress(console) as progress:
        outcome = resume_training(rt.catalog, run, progress)
    _report(outcome)
