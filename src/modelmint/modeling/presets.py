"""Model configurations by size: Llama-style causal LMs and BERT-style encoders."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from transformers import BertConfig, LlamaConfig

from modelmint.errors import UserError


@dataclass(frozen=True)
class Preset:
    hidden_size: int
    num_layers: int
    num_heads: int
    intermediate_size: int
    context_length: int = 512


class ModelShapeError(UserError, ValueError):
    """A model size or shape that cannot be built; the message names the field."""


# Parameter counts assume the default 8192-token vocabulary and tied embeddings.
PRESETS: dict[str, Preset] = {
    "tiny": Preset(hidden_size=256, num_layers=4, num_heads=4, intermediate_size=688),  # ~5.3M
    "small": Preset(hidden_size=512, num_layers=8, num_heads=8, intermediate_size=1376),  # ~29.5M
}


def resolve_preset(preset: str | Preset, **overrides: Any) -> Preset:
    """A named preset with any of its fields overridden (None leaves a field as it is)."""
    if isinstance(preset, str):
        if preset not in PRESETS:
            raise ModelShapeError(f"unknown model size {preset!r}; choose one of {sorted(PRESETS)}")
        preset = PRESETS[preset]
    changed = replace(preset, **{k: v for k, v in overrides.items() if v is not None})
    if changed.hidden_size % changed.num_heads:
        raise ModelShapeError(
            f"hidden_size {changed.hidden_size} must be a multiple of num_heads {changed.num_heads}"
        )
    return changed


def bert_config(preset: str | Preset, *, vocab_size: int, pad_token_id: int) -> BertConfig:
    """A BERT-style encoder of the same shape as the causal preset of that name."""
    p = resolve_preset(preset)
    return BertConfig(
        vocab_size=vocab_size,
        hidden_size=p.hidden_size,
        num_hidden_layers=p.num_layers,
        num_attention_heads=p.num_heads,
        intermediate_size=p.intermediate_size,
        max_position_embeddings=p.context_length,
        pad_token_id=pad_token_id,
        type_vocab_size=1,
    )


def llama_config(
    preset: str | Preset,
    *,
    vocab_size: int,
    bos_token_id: int,
    eos_token_id: int | list[int],
    pad_token_id: int,
) -> LlamaConfig:
    preset = resolve_preset(preset)
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=preset.hidden_size,
        intermediate_size=preset.intermediate_size,
        num_hidden_layers=preset.num_layers,
        num_attention_heads=preset.num_heads,
        num_key_value_heads=preset.num_heads,
        max_position_embeddings=preset.context_length,
        tie_word_embeddings=True,
        bos_token_id=bos_token_id,
        eos_token_id=eos_token_id,
        pad_token_id=pad_token_id,
    )


def llama_config_for(preset: str | Preset, tokenizer: Any) -> LlamaConfig:
    """A causal LM sized for a tokenizer of ours: its vocabulary, end-of-text as both the
    start and the end of a sequence, its pad token."""
    return llama_config(
        preset,
        vocab_size=len(tokenizer),
        bos_token_id=tokenizer.eos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
