"""What every recipe gets in and gives back."""

from __future__ import annotations

import contextlib
import math
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelmint.modeling import count_parameters, load_tokenizer, record_text
from modelmint.training.examples import packed_stream
from modelmint.training.recipe import LMInput, RecipeError, TokenizerSpec
from modelmint.training.streams import EXAMPLES_DIR, MappedExamples, SplitStream, block_file
from modelmint.training.tokenizer import train_tokenizer
from modelmint.training.trainer import TrainContext, build_trainer, train

# The columns of a record that ``record_text`` reads.
TEXT_COLUMNS = ("text", "messages")


@dataclass(frozen=True)
class RecipeInputs:
    train: SplitStream  # the dataset's training split
    validation: SplitStream | None  # None: the dataset has no validation split
    base_dir: Path | None = None  # the model to start from, when the recipe has one
    tokenizer_dir: Path | None = None  # a model whose tokenizer to reuse (pretraining)
    teacher_dir: Path | None = None  # the model a student learns from (distillation)


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
        # Every process of a multi-process run trains it: each writes a directory of its own
        # and renames it into place, so that none reads another's files half-written; where
        # another process's is there already, that one is kept and every process loads it.
        part = path.with_name(f"{path.name}.{os.getpid()}.part")
        try:
            texts = (r["text"] for r in inputs.train.records(["text"]))
            train_tokenizer(texts, part, vocab_size=spec.vocab_size)
            with contextlib.suppress(OSError):
                part.rename(path)
        finally:
            shutil.rmtree(part, ignore_errors=True)
    return load_tokenizer(path)


def check_block_size(block_size: int, context: int) -> None:
    """A packed block must fit the model's context (its position embeddings)."""
    if block_size > context:
        raise RecipeError(
            f"block_size {block_size} exceeds the model's context of {context} tokens"
        )


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


def examples_path(ctx: TrainContext, split: SplitStream, what: str) -> Path:
    """Where a run keeps the examples it made of a split (see ``streams``)."""
    return ctx.run_dir / EXAMPLES_DIR / f"{split.split}-{what}.arrow"


def train_on_blocks(
    recipe: Any,
    model: Any,
    tokenizer: Any,
    inputs: RecipeInputs,
    ctx: TrainContext,
    resume: bool,
    *,
    kind: str,
    labels: bool,
    collator: Any = None,
    trainer_class: Any = None,
    input: LMInput = "text",
) -> Trained:
    """Pretraining on packed blocks of the dataset's text (causal: labels are the inputs;
    masked: the collator makes them), evaluated by perplexity, saved with its tokenizer."""
    if input == "first_exchange" and not any(
        r.get("messages") for r in inputs.train.records(["messages"])
    ):
        raise RecipeError(
            "input: first_exchange reads conversations, and the training split has no "
            "record with 'messages'; use input: text for a dataset of plain text"
        )

    def blocks(split: SplitStream) -> MappedExamples:
        texts = (
            [record_text(r, tokenizer, input) for r in batch]
            for batch in split.batches(TEXT_COLUMNS)
        )
        how = f"blocks|{recipe.block_size}|{input}|{len(tokenizer)}|{tokenizer.eos_token_id}"
        return block_file(
            examples_path(ctx, split, "blocks"),
            split.key(how),
            packed_stream(texts, tokenizer, recipe.block_size),
            labels_are_inputs=labels,
        )

    t = recipe.training
    trainer = build_trainer(
        model,
        t,
        ctx,
        stage=recipe.recipe,
        train_dataset=blocks(inputs.train),
        eval_dataset=blocks(inputs.validation) if inputs.validation is not None else None,
        data_collator=collator,
        tokens_per_step=t.batch_size * t.grad_accum * recipe.block_size,
        fixed_shapes=True,  # packed blocks: batch_size x block_size (bar an epoch's last)
        **({"trainer_class": trainer_class} if trainer_class else {}),
    )
    metrics = with_perplexity(train(trainer, ctx, resume))
    out = ctx.run_dir / "model"
    save_result(trainer, tokenizer, out)
    n = count_parameters(model)
    return Trained(out, kind, n, n, metrics)
