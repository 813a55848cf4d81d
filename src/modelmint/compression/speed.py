"""Decode speed: generated tokens per second, greedy, from a fixed prompt to a fixed length.

The loop is greedy search as ``model.generate`` runs it, without its per-step bookkeeping:
one forward pass over the prompt, then one token per forward pass through a transformers
``DynamicCache``, with ``batch_size`` sequences decoded side by side. It never stops early,
so every model decodes exactly the same number of tokens. Prefill time is included, as a
client waiting for its answer sees it. (This compares model versions through the same
Hugging Face layers; the serving engine has faster paths of its own for float32 and
bfloat16 Llama models, so its absolute figures, and its ratios, differ.)

On a shared machine one measurement is noise: :func:`compare_decode_speed` interleaves the
models (a, b, c, a, b, c, ...) and takes the median of each, so a burst of load from
elsewhere hits every side alike."""

from __future__ import annotations

import statistics
import time
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from transformers import DynamicCache

from modelmint.compression.versions import CompressionError
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

PROMPT_TOKENS = 16
NEW_TOKENS = 64


def fixed_prompt(vocab_size: int, batch_size: int, length: int = PROMPT_TOKENS) -> torch.Tensor:
    """The same token ids every time: a seeded draw that skips the low ids, where tokenizers
    keep their special tokens."""
    generator = torch.Generator().manual_seed(1234)
    low = min(vocab_size - 1, 16)
    return torch.randint(low, vocab_size, (batch_size, length), generator=generator)


@torch.inference_mode()
def decode_tokens_per_second(
    model: Any,
    *,
    batch_size: int = 1,
    new_tokens: int = NEW_TOKENS,
    prompt_tokens: int = PROMPT_TOKENS,
) -> float:
    """Tokens generated per second (all sequences of the batch counted)."""
    if batch_size < 1 or new_tokens < 1:
        raise ValueError("batch_size and new_tokens must be at least 1")
    context = int(model.config.max_position_embeddings)
    if prompt_tokens + new_tokens > context:
        raise CompressionError(
            f"prompt {prompt_tokens} + {new_tokens} new tokens exceed the context of {context}"
        )
    ids = fixed_prompt(int(model.config.vocab_size), batch_size, prompt_tokens)
    cache = DynamicCache()
    start = time.perf_counter()
    for _ in range(new_tokens):
        logits = model(input_ids=ids, past_key_values=cache, use_cache=True).logits
        ids = logits[:, -1].argmax(dim=-1, keepdim=True)
    return batch_size * new_tokens / (time.perf_counter() - start)


def compare_decode_speed(
    models: Mapping[str, Any],
    *,
    batch_sizes: Sequence[int] = (1, 16),
    rounds: int = 3,
    new_tokens: int = NEW_TOKENS,
    progress: ProgressFn = no_progress,
) -> dict[str, dict[int, float]]:
    """Median tokens/s of each model at each batch size, measured interleaved: every round
    runs each model once at each batch size, after one short warm-up pass per model."""
    if rounds < 1:
        raise ValueError("rounds must be at least 1")
    for model in models.values():
        decode_tokens_per_second(model, batch_size=1, new_tokens=4)
    samples: dict[str, dict[int, list[float]]] = {
        name: {b: [] for b in batch_sizes} for name in models
    }
    total, done = rounds * len(models) * len(batch_sizes), 0
    for _ in range(rounds):
        for batch in batch_sizes:
            for name, model in models.items():
                rate = decode_tokens_per_second(model, batch_size=batch, new_tokens=new_tokens)
                samples[name][batch].append(rate)
                done += 1
                progress(ProgressEvent("decode speed", done, total))
    return {
        name: {b: statistics.median(v) for b, v in by_batch.items()}
        for name, by_batch in samples.items()
    }
