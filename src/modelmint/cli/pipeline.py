"""The steps of the loop as the quickstart chains them; each stage meets the next through
the catalog (a run reads a dataset version, a model version knows its run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelmint.cli.runtime import Runtime
from modelmint.observability import ProgressFn, no_progress

if TYPE_CHECKING:
    from modelmint.catalog import DatasetRef, ModelRef

# Steps per size chosen so quickstart --size tiny stays under 3 minutes on 2 cores.
DEFAULT_STEPS = {"tiny": 120, "small": 300}


@dataclass(frozen=True)
class TrainedModel:
    model: ModelRef
    perplexity: float
    perplexity_untrained: float
    train_seconds: float


def pretrain_recipe(
    dataset: DatasetRef, name: str, size: str, steps: int | None = None, **training: Any
) -> Any:
    """The pretrain-clm recipe the quickstart runs; `mint train --recipe` runs the same."""
    from modelmint.training import parse_recipe

    return parse_recipe(
        {
            "recipe": "pretrain-clm",
            "name": name,
            "dataset": dataset.label,
            "architecture": {"size": size},
            "training": {"max_steps": steps or DEFAULT_STEPS.get(size, 300), **training},
        },
        "quickstart",
    )


def train_and_register(
    rt: Runtime,
    dataset: DatasetRef,
    recipe: Any,
    *,
    alias: str | None = None,
    progress: ProgressFn = no_progress,
) -> TrainedModel:
    """Runs the recipe, then measures held-out perplexity against the very same architecture
    and initialization before any training (the baseline a trained model must beat)."""
    from modelmint.evaluation import perplexity
    from modelmint.modeling import build_causal_lm, load_causal_lm, load_tokenizer
    from modelmint.training import start_training
    from modelmint.training.examples import record_text

    outcome = start_training(rt.catalog, recipe, progress)
    assert outcome.model is not None
    model = outcome.model
    tokenizer = load_tokenizer(model.path)
    texts = [record_text(r, tokenizer) for r in dataset.read_split("validation")]
    trained = load_causal_lm(model.path)
    ppl = perplexity(trained, tokenizer, texts, block_size=recipe.block_size, progress=progress)
    untrained = build_causal_lm(trained.config, seed=recipe.training.seed)
    ppl0 = perplexity(untrained, tokenizer, texts, block_size=recipe.block_size)
    metrics = {
        **model.metrics,
        "perplexity": round(ppl, 4),
        "perplexity_untrained": round(ppl0, 2),
        "eval_split": f"{dataset.label}/validation",
    }
    rt.catalog.update_model_metrics(model.id, metrics)
    if alias:
        rt.catalog.set_alias(model.name, alias, model.version)
    model = rt.catalog.resolve_model(model.label)
    return TrainedModel(model, ppl, ppl0, outcome.seconds)


def sample_path(rt: Runtime) -> Path:
    return rt.settings.home / "samples" / "customer_service.jsonl"
