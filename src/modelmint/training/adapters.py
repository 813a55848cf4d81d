"""LoRA adapters via peft: add them to a model, save only them, fold them back into the base.

An adapter directory holds ``adapter_config.json`` and ``adapter_model.safetensors`` (the
LoRA matrices, and a classifier's head, which peft saves because it is trained from scratch)
plus the tokenizer, so it can be served or merged with nothing but its base."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from peft import LoraConfig, PeftModel, TaskType, get_peft_model
from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

from modelmint.training.recipe import LoraSpec, RecipeError

# Every linear projection of attention and MLP blocks, for the architectures we build/ship.
# The open-weight decoder families all name theirs as Llama does (SmolLM is a Llama).
_DECODER_PROJECTIONS = ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"]
_AUTO_TARGETS = {
    **dict.fromkeys(
        ["llama", "mistral", "qwen2", "qwen3", "gemma", "gemma2", "gemma3_text", "smollm3"],
        _DECODER_PROJECTIONS,
    ),
    "bert": [
        "query",
        "key",
        "value",
        "attention.output.dense",
        "intermediate.dense",
        "output.dense",
    ],
}


def target_modules(model: Any, spec: LoraSpec) -> list[str]:
    if spec.target_modules != "auto":
        return list(spec.target_modules)
    kind = model.config.model_type
    if kind not in _AUTO_TARGETS:
        raise RecipeError(
            f"no default LoRA targets for model type {kind!r}: set lora.target_modules "
            "to the names of its linear layers"
        )
    return list(_AUTO_TARGETS[kind])


def add_lora(model: Any, spec: LoraSpec, task: str) -> Any:
    """The model wrapped with trainable LoRA matrices; everything else frozen (a new
    classification head stays trainable)."""
    config = LoraConfig(
        r=spec.r,
        lora_alpha=spec.alpha,
        lora_dropout=spec.dropout,
        target_modules=target_modules(model, spec),
        task_type=TaskType.SEQ_CLS if task == "classifier" else TaskType.CAUSAL_LM,
    )
    return get_peft_model(model, config)


def trainable_parameters(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def merge_adapter(adapter_dir: Path, base_dir: Path, out_dir: Path, task: str) -> Path:
    """Base + adapter -> one plain model with the LoRA products added into its weights,
    saved with the adapter's tokenizer files in ``out_dir``, chat template included, and
    the base's generation config as published: its end tokens are what stops a served
    reply, and a template's end-of-turn token is often only listed there. LoRA leaves the
    embeddings alone, so a model whose head shares them still does after merging."""
    auto = AutoModelForSequenceClassification if task == "classifier" else AutoModelForCausalLM
    base = auto.from_pretrained(str(base_dir), local_files_only=True)
    merged = PeftModel.from_pretrained(base, str(adapter_dir)).merge_and_unload()
    out_dir.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(out_dir))
    for f in adapter_dir.iterdir():
        if f.is_file() and (f.name.startswith("tokenizer") or f.name in _TOKENIZER_FILES):
            shutil.copy2(f, out_dir / f.name)
    for source in (base_dir, adapter_dir):  # the adapter's copy, when it has one, wins
        if (source / GENERATION_CONFIG).is_file():
            shutil.copy2(source / GENERATION_CONFIG, out_dir / GENERATION_CONFIG)
    return out_dir


GENERATION_CONFIG = "generation_config.json"
# Tokenizer files whose names do not start with "tokenizer" (fast, BPE, WordPiece, templates).
_TOKENIZER_FILES = {
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "chat_template.jinja",
    "chat_template.json",
}
