"""The steps of the loop as the quickstart chains them; each stage meets the next through
the catalog (a run reads a dataset version, a model version knows its run)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelmint.cli.runtime import Runtime, cli_actor
from modelmint.observability import ProgressFn, no_progress

if TYPE_CHECKING:
    from modelmint.catalog import DatasetRef, ModelRef

# What the quickstart trains per size, as recipe keys. The demo is a support agent asked
# one question at a time, so it learns from each conversation's opening and first reply
# (input: first_exchange): that is where it must tell the customer's intent from their
# words. `tiny` is narrowed (hidden 128, 4,096 tokens) so that 2 CPU cores train it in a
# few minutes, with Muon, which learns to read the customer's words hundreds of steps
# sooner than AdamW. Its replies turn to the customer's intent abruptly, between about 250
# and 450 steps. 750 leaves a margin over the 80% it must reach on any machine: at 550 one
# machine's arithmetic gave 93% of 100 openings and another's 78% of 50 (docs/benchmarks.md,
# "The demo model").
QUICKSTART: dict[str, dict[str, Any]] = {
    "tiny": {
        "architecture": {"hidden_size": 128, "num_heads": 2, "intermediate_size": 344},
        "tokenizer": {"vocab_size": 4096},
        "input": "first_exchange",
        "training": {
            "max_steps": 750,
            "batch_size": 16,
            "optimizer": "muon",
            "learning_rate": 3e-3,
        },
    },
    "small": {"input": "first_exchange", "training": {"max_steps": 300, "batch_size": 16}},
}


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

    chosen = QUICKSTART.get(size, QUICKSTART["small"])
    fit = {**chosen["training"], **({"max_steps": steps} if steps else {}), **training}
    return parse_recipe(
        {
            **chosen,
            "recipe": "pretrain-clm",
            "name": name,
            "dataset": dataset.label,
            "architecture": {**chosen.get("architecture", {}), "size": size},
            "training": fit,
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
    from modelmint.modeling import build_causal_lm, load_causal_lm, load_tokenizer, record_text
    from modelmint.training import start_training

    outcome = start_training(rt.catalog, recipe, progress)
    assert outcome.model is not None
    model = outcome.model
    tokenizer = load_tokenizer(model.path)
    texts = [record_text(r, tokenizer, recipe.input) for r in dataset.read_split("validation")]
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
        rt.catalog.aliases.promote(model.name, alias, model.version, actor=cli_actor())
    model = rt.catalog.resolve_model(model.label)
    return TrainedModel(model, ppl, ppl0, outcome.seconds)


def sample_path(rt: Runtime) -> Path:
    return rt.settings.home / "samples" / "customer_service.jsonl"
