"""How many sequences the native engine decodes together, and how long each may grow, when
none is asked for: up to 64, as many as the memory budget holds the keys and values of, at
the model's context or, for a long-context model, a shorter one that lets 64 fit."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import LlamaConfig, Qwen2Config

from modelmint.serving.models.model_runner import kv_budget, serving_shape

GiB = 1 << 30


def llama(context: int) -> LlamaConfig:
    # 8 layers x 2 x 8 heads x 64 x 4 bytes = 32 KiB a position and slot in float32
    return LlamaConfig(
        hidden_size=512, num_hidden_layers=8, num_attention_heads=8, max_position_embeddings=context
    )


def test_a_small_model_gets_64_slots() -> None:
    assert serving_shape(llama(512), torch.float32, 2 * GiB) == (64, 512)  # 16 MiB a slot


def test_slots_shrink_to_the_budget() -> None:
    """A context under the floor is never shortened: fewer slots instead."""
    assert serving_shape(llama(1024), torch.float32, 2 * GiB) == (64, 1024)  # 32 MiB a slot
    assert serving_shape(llama(1536), torch.float32, 2 * GiB) == (42, 1536)  # 48 MiB a slot
    assert serving_shape(llama(1536), torch.bfloat16, 2 * GiB) == (64, 1536)  # half the bytes


QWEN = Qwen2Config(
    hidden_size=896,
    num_hidden_layers=24,
    num_attention_heads=14,
    num_key_value_heads=2,
    max_position_embeddings=32768,
)  # 12 KiB a position and slot in bfloat16 (384 MiB for the whole context), 24 KiB in float32


def test_a_long_context_model_is_served_a_shorter_context_that_fits_64_slots() -> None:
    assert serving_shape(QWEN, torch.bfloat16, 11 * GiB) == (64, 15018)
    # never below the floor: fewer slots there
    assert serving_shape(QWEN, torch.float32, 11 * GiB) == (58, 8192)
    assert serving_shape(QWEN, torch.float32, GiB // 2) == (2, 8192)
    assert serving_shape(QWEN, torch.float32, GiB // 8) == (1, 8192)  # at least one


def test_an_asked_context_or_slot_count_is_kept() -> None:
    assert serving_shape(QWEN, torch.float32, 11 * GiB, max_context=32768) == (14, 32768)
    assert serving_shape(QWEN, torch.bfloat16, 11 * GiB, max_context=4096) == (64, 4096)
    assert serving_shape(QWEN, torch.bfloat16, 11 * GiB, max_context=10**6) == (29, 32768)
    assert serving_shape(QWEN, torch.bfloat16, 11 * GiB, slots=8) == (8, 32768)
    assert serving_shape(QWEN, torch.bfloat16, 11 * GiB, slots=8, max_context=2048) == (8, 2048)


def test_the_budget_is_half_the_available_memory() -> None:
    available = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemAvailable:")
    )
    assert abs(kv_budget() - available // 2) < 256 << 20  # what other programs did meanwhile
