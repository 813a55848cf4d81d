"""Tiny random checkpoints of the open-weight families modelmint supports, written to disk as
their publishers ship them: the family's own config class, safetensors weights, a fast
tokenizer with that family's special tokens and chat template, and a generation config
listing its end tokens.

The chat templates are the publishers' templates cut to what a conversation without tools
uses (the real ones also render tools, dates and reasoning): the same markers, roles and
end tokens, which is what serving must get right. The shapes are tiny (2 layers, width
64) but keep each family's peculiarities switched on: Llama 3's rope scaling, tied and
untied heads, Qwen2's query-key-value bias, Qwen3's q/k norms, a sliding window short
enough that a test's prompt passes it, Gemma's soft-capping and sliding/global layers.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import (
    AutoModelForCausalLM,
    Gemma2Config,
    Gemma3TextConfig,
    LlamaConfig,
    MistralConfig,
    PretrainedConfig,
    PreTrainedTokenizerFast,
    Qwen2Config,
    Qwen3Config,
)

SHAPE: dict[str, Any] = dict(
    hidden_size=64,
    intermediate_size=128,
    num_hidden_layers=2,
    num_attention_heads=4,
    num_key_value_heads=2,
    head_dim=16,
    max_position_embeddings=256,
    # Larger than the families' 0.02 so that random logits differ by more than rounding,
    # and the soft-caps and norms have something to act on.
    initializer_range=0.1,
)
WINDOW = 8  # a sliding window a test's prompt passes

LLAMA3_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{{ '<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'"
    " + message['content'] | trim + '<|eot_id|>' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|start_header_id|>assistant<|end_header_id|>\n\n' }}"
    "{% endif %}"
)
QWEN2_TEMPLATE = (
    "{% if messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
QWEN3_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}"
    "{% if enable_thinking is defined and enable_thinking is false %}"
    "{{ '<think>\n\n</think>\n\n' }}{% endif %}{% endif %}"
)
CHATML_TEMPLATE = (
    "{% for message in messages %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)
MISTRAL_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token }}"
    "{% endif %}{% endfor %}"
)
GEMMA_TEMPLATE = (
    "{{ bos_token }}{% for message in messages %}"
    "{% if message['role'] == 'assistant' %}{% set role = 'model' %}"
    "{% else %}{% set role = message['role'] %}{% endif %}"
    "{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<start_of_turn>model\n' }}{% endif %}"
)


@dataclass(frozen=True)
class Family:
    """One published family, as its tokenizer and config files describe it."""

    name: str
    config: Callable[[int], PretrainedConfig]  # the vocabulary size -> the config
    chat_template: str
    specials: list[str]  # every special token, in the order their ids are given
    bos: str | None
    eos: str
    pad: str | None
    end_tokens: list[str]  # the generation config's eos_token_id, in order
    template_kwargs: dict[str, Any] = field(default_factory=dict)


def _llama3(tied: bool) -> Callable[[int], PretrainedConfig]:
    rope = {
        "rope_type": "llama3",
        "rope_theta": 500000.0,
        "factor": 8.0,
        "low_freq_factor": 1.0,
        "high_freq_factor": 4.0,
        "original_max_position_embeddings": 32,
    }
    return lambda v: LlamaConfig(
        vocab_size=v, rope_parameters=rope, tie_word_embeddings=tied, **SHAPE
    )


LLAMA3_SPECIALS = ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>"]
LLAMA3_SPECIALS += ["<|end_header_id|>", "<|eom_id|>", "<|eot_id|>"]


def _llama3_family(name: str, tied: bool) -> Family:
    """Llama 3.x, with an output head of its own (8B) or the embeddings' (1B and 3B)."""
    ends = ["<|end_of_text|>", "<|eom_id|>", "<|eot_id|>"]
    return Family(
        name, _llama3(tied), LLAMA3_TEMPLATE, LLAMA3_SPECIALS, "<|begin_of_text|>",
        "<|eot_id|>", None, ends,
    )  # fmt: skip


CHATML_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]
GEMMA_SPECIALS = ["<pad>", "<eos>", "<bos>", "<unk>", "<start_of_turn>", "<end_of_turn>"]
_gemma_layers = {"layer_types": ["sliding_attention", "full_attention"], "sliding_window": WINDOW}

FAMILIES: dict[str, Family] = {
    f.name: f
    for f in [
        _llama3_family("llama3", tied=False),
        _llama3_family("llama3-tied", tied=True),
        Family(
            "qwen2",
            lambda v: Qwen2Config(vocab_size=v, tie_word_embeddings=True, **SHAPE),
            QWEN2_TEMPLATE,
            CHATML_SPECIALS,
            None,
            "<|im_end|>",
            "<|endoftext|>",
            ["<|im_end|>", "<|endoftext|>"],
        ),
        Family(
            "qwen3",
            lambda v: Qwen3Config(vocab_size=v, tie_word_embeddings=True, **SHAPE),
            QWEN3_TEMPLATE,
            [*CHATML_SPECIALS, "<think>", "</think>"],
            None,
            "<|im_end|>",
            "<|endoftext|>",
            ["<|im_end|>", "<|endoftext|>"],
            {"enable_thinking": False},
        ),
        Family(
            "mistral",
            lambda v: MistralConfig(vocab_size=v, sliding_window=WINDOW, **SHAPE),
            MISTRAL_TEMPLATE,
            ["<unk>", "<s>", "</s>", "[INST]", "[/INST]"],
            "<s>",
            "</s>",
            None,
            ["</s>"],
        ),
        Family(
            "gemma2",
            lambda v: Gemma2Config(
                vocab_size=v,
                query_pre_attn_scalar=16,
                attn_logit_softcapping=5.0,
                final_logit_softcapping=3.0,
                **_gemma_layers,
                **SHAPE,
            ),
            GEMMA_TEMPLATE,
            GEMMA_SPECIALS,
            "<bos>",
            "<eos>",
            "<pad>",
            ["<eos>", "<end_of_turn>"],
        ),
        Family(
            "gemma3",
            lambda v: Gemma3TextConfig(
                vocab_size=v, query_pre_attn_scalar=16, **_gemma_layers, **SHAPE
            ),
            GEMMA_TEMPLATE,
            GEMMA_SPECIALS,
            "<bos>",
            "<eos>",
            "<pad>",
            ["<eos>", "<end_of_turn>"],
        ),
        Family(
            "smollm",
            lambda v: LlamaConfig(vocab_size=v, tie_word_embeddings=True, **SHAPE),
            CHATML_TEMPLATE,
            CHATML_SPECIALS,
            "<|im_start|>",
            "<|im_end|>",
            "<|im_end|>",
            ["<|im_end|>"],
        ),
    ]
}


@cache
def _training_text() -> tuple[str, ...]:
    from modelmint.samples import generate_sample_corpus

    records, _ = generate_sample_corpus(120, seed=3)
    return tuple(m["content"] for r in records for m in r["messages"])


def build_tokenizer(family: Family, vocab_size: int = 640) -> PreTrainedTokenizerFast:
    """A byte-level BPE (Chinese characters take several tokens, as in the real
    vocabularies, so streaming must hold back partial characters) with the family's
    special tokens first, as its publisher numbers them."""
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=family.specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(_training_text(), trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token=family.bos,
        eos_token=family.eos,
        pad_token=family.pad,
        clean_up_tokenization_spaces=False,
        model_max_length=SHAPE["max_position_embeddings"],
    )
    fast.chat_template = family.chat_template
    return fast


def build_checkpoint(
    family: str | Family, out: Path, seed: int = 0, initializer_range: float | None = None
) -> Path:
    """Writes a checkpoint as a published one looks on disk; returns its directory. Its
    weights are drawn with SHAPE's initializer range unless another is given (the
    families' own configs use 0.02)."""
    fam = FAMILIES[family] if isinstance(family, str) else family
    tokenizer = build_tokenizer(fam)
    torch.manual_seed(seed)
    config = fam.config(len(tokenizer))
    if initializer_range is not None:
        config.initializer_range = initializer_range
    ids = tokenizer.convert_tokens_to_ids
    config.bos_token_id = ids(fam.bos) if fam.bos else None
    config.eos_token_id = ids(fam.eos)
    config.pad_token_id = ids(fam.pad) if fam.pad else None
    model = AutoModelForCausalLM.from_config(config).eval()
    with torch.no_grad():
        # A fresh model zeroes its padding row, and with tied embeddings that is the output
        # row too: where the pad token is also the end of a turn (SmolLM), its logit would
        # stay 0 whatever a LoRA learns. A published checkpoint has every row trained.
        rows = model.get_input_embeddings().weight
        blank = rows.abs().sum(-1) == 0
        rows[blank] = torch.randn_like(rows[blank]) * config.initializer_range
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))  # writes model.safetensors and config.json
    tokenizer.save_pretrained(str(out))
    generation = json.loads((out / "generation_config.json").read_text())
    generation["eos_token_id"] = [ids(t) for t in fam.end_tokens]
    (out / "generation_config.json").write_text(json.dumps(generation, indent=2))
    return out


def write_pickled(checkpoint: Path) -> Path:
    """The same checkpoint with its weights as a pickled ``pytorch_model.bin``, as older
    uploads ship them."""
    from safetensors.torch import load_file

    weights = checkpoint / "model.safetensors"
    torch.save(load_file(str(weights)), checkpoint / "pytorch_model.bin")
    weights.unlink()
    return checkpoint


__all__ = ["FAMILIES", "Family", "build_checkpoint", "build_tokenizer", "write_pickled"]
