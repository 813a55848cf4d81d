"""What every recipe gets in and gives back."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelmint.modeling import load_tokenizer
from modelmint.training.recipe import TokenizerSpec
from modelmint.training.tokenizer import train_tokenizer
from modelmint.training.trainer import TrainContext


@dataclass(frozen=True)
class RecipeInputs:
    train: list[dict[str, Any]]  # records of the dataset's training split
    validation: list[dict[str, Any]]  # may be empty
    base_dir: Path | None = None  # the model to start from, when the recipe has one
    tokenizer_dir: Path | None = None  # a model whose tokenizer to reuse (pretraining)


@dataclass
class Trained:
    model_dir: Path  # model (or adapter) + tokenizer, ready to register
    kind: str  # causal-lm | masked-lm | classifier | adapter
    num_parameters: int
    trainable_parameters: int
    metrics: dict[str, float] = field(default_factory=dict)
    task: str | None = None  # for an adapter: what its base is (causal-lm or classifier)


def tokenizer_for(spec: TokenizerSpec, inputs: RecipeInputs, ctx: TrainContext) -> Any:
    """The model's tokenizer: trained on the training split (kept in the run directory, so a
    resumed run reuses it), or reused from another model."""
    if inputs.tokenizer_dir is not None:
        return load_tokenizer(inputs.tokenizer_dir)
    path = ctx.run_dir / "tokenizer"
    if not (path / "tokenizer.json").exists():
        train_tokenizer((r["text"] for r in inputs.train), path, vocab_size=spec.vocab_size)
    return load_tokenizer(path)


def with_perplexity(metrics: dict[str, float]) -> dict[str, float]:
    """Per-token perplexity from the evaluation loss (mean negative log-likelihood)."""
    if "eval_loss" in metrics:
        metrics["perplexity"] = math.exp(min(metrics["eval_loss"], 50.0))
    return metrics


def save_result(
    trainer: Any, tokenizer: Any, out: Path, extra: dict[str, str] | None = None
) -> None:
    """The trained model (or adapter) and its tokenizer in ``out``, written by the main
    process only (the Trainer's own save already is)."""
    trainer.save_model(str(out))
    if trainer.is_world_process_zero():
        tokenizer.save_pretrained(str(out))
        for name, text in (extra or {}).items():
            (out / name).write_text(text, encoding="utf-8")
