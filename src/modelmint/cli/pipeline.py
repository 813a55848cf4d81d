"""The steps of the loop as the CLI chains them; each stage meets the next through the
catalog (a run reads a dataset version, a model version knows its run)."""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from modelmint.catalog import DatasetRef, ModelRef
from modelmint.cli.runtime import Runtime
from modelmint.evaluation import perplexity
from modelmint.modeling import build_causal_lm, load_causal_lm, load_tokenizer
from modelmint.observability import ProgressFn, no_progress
from modelmint.training import PretrainConfig, pretrain_causal_lm, train_tokenizer

# Steps per size chosen so quickstart --size tiny stays under 3 minutes on 2 cores.
DEFAULT_STEPS = {"tiny": 120, "small": 300}


@dataclass(frozen=True)
class TrainedModel:
    model: ModelRef
    perplexity: float
    perplexity_untrained: float
    train_seconds: float


def dialogue_text(record: dict[str, Any], tokenizer: Any) -> str:
    """A dialogue as the model reads it: rendered with the chat template it will be served
    with, so chat requests look like what it was trained on."""
    if record.get("messages"):
        return str(tokenizer.apply_chat_template(record["messages"], tokenize=False))
    return str(record["text"])


def _record_texts(records: list[dict[str, Any]]) -> list[str]:
    return [r["text"] for r in records]


def train_and_register(
    rt: Runtime,
    dataset: DatasetRef,
    name: str,
    config: PretrainConfig,
    *,
    vocab_size: int = 8192,
    alias: str | None = None,
    progress: ProgressFn = no_progress,
) -> TrainedModel:
    train = dataset.read_split("train")
    validation = dataset.read_split("validation")

    tok_run = rt.catalog.start_run(
        "tokenizer",
        dataset_id=dataset.id,
        config={"vocab_size": vocab_size, "type": "byte-level-bpe"},
    )
    tok_dir = rt.settings.artifacts_dir / "runs" / str(tok_run) / "tokenizer"
    try:
        tok = train_tokenizer(_record_texts(train), tok_dir, vocab_size=vocab_size)
    except Exception as e:
        rt.catalog.fail_run(tok_run, str(e))
        raise
    rt.catalog.finish_run(tok_run, metrics={"vocab_size": tok.vocab_size}, output_path=tok_dir)

    tokenizer = load_tokenizer(tok_dir)
    train_texts = [dialogue_text(r, tokenizer) for r in train]
    val_texts = [dialogue_text(r, tokenizer) for r in validation]
    run_config = {**config.__dict__, "tokenizer_run": tok_run, "dataset": dataset.label}
    run = rt.catalog.start_run("pretrain", dataset_id=dataset.id, config=run_config)
    staged = rt.catalog.staging_dir("model")
    try:
        result = pretrain_causal_lm(train_texts, tok_dir, staged, config, progress)
        trained = load_causal_lm(staged)
        ppl = perplexity(
            trained, tokenizer, val_texts, block_size=config.block_size, progress=progress
        )
        # The baseline: the very same architecture and initialization, before any training.
        untrained = build_causal_lm(trained.config, seed=config.seed)
        ppl0 = perplexity(untrained, tokenizer, val_texts, block_size=config.block_size)
    except Exception as e:
        shutil.rmtree(staged, ignore_errors=True)
        rt.catalog.fail_run(run, str(e))
        raise
    metrics = {
        "perplexity": round(ppl, 4),
        "perplexity_untrained": round(ppl0, 2),
        "eval_split": f"{dataset.label}/validation",
        "final_loss": round(result.final_loss, 4),
        "tokens_trained": result.tokens_trained,
        "train_seconds": round(result.seconds, 1),
        "bf16": result.bf16,
    }
    try:
        model = rt.catalog.add_model_version(
            name,
            staged,
            run_id=run,
            kind="causal-lm",
            num_parameters=result.num_parameters,
            metrics={k: metrics[k] for k in ("perplexity", "perplexity_untrained", "eval_split")},
        )
    except Exception as e:
        rt.catalog.fail_run(run, str(e))
        raise
    rt.catalog.finish_run(run, metrics=metrics, output_path=model.path)
    (model.path / "modelmint.json").write_text(
        json.dumps({"name": name, "version": model.version, "run": run, "dataset": dataset.label})
    )
    if alias:
        rt.catalog.set_alias(name, alias, model.version)
    return TrainedModel(model, ppl, ppl0, result.seconds)


def pretrain_config(size: str, steps: int | None = None, **overrides: Any) -> PretrainConfig:
    config = PretrainConfig(size=size, max_steps=steps or DEFAULT_STEPS.get(size, 300))
    return replace(config, **overrides)


def sample_path(rt: Runtime) -> Path:
    return rt.settings.home / "samples" / "customer_service.jsonl"
