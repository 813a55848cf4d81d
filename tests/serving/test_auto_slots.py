"""How many sequences the native engine decodes together when none is asked for: up to
64, as many as the memory budget holds the whole keys and values of."""

from __future__ import annotations

from pathlib import Path

import torch
from transformers import LlamaConfig, Qwen2Config

from modelmint.serving.models.model_runner import auto_slots, kv_budget

GiB = 1 << 30


def llama(context: int) -> LlamaConfig:
    # 8 layers x 2 x 8 heads x 64 x 4 bytes = 32 KiB a position and slot in float32
    return LlamaConfig(
        hidden_size=512, num_hidden_layers=8, num_attention_heads=8, max_position_embeddings=context
    )


def test_a_small_model_gets_64_slots() -> None:
    assert auto_slots(llama(512), torch.float32, 2 * GiB) == 64  # 16 MiB a slot


def test_slots_shrink_to_the_budget() -> None:
    assert auto_slots(llama(1024), torch.float32, 2 * GiB) == 64  # 32 MiB a slot
    assert auto_slots(llama(1536), torch.float32, 2 * GiB) == 42  # 48 MiB a slot
    assert auto_slots(llama(1536), torch.bfloat16, 2 * GiB) == 64  # half the bytes


def test_a_long_context_model_gets_what_memory_holds_and_at_least_one() -> None:
    qwen = Qwen2Config(
        hidden_size=896,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
    )  # 384 MiB a slot in bfloat16, 768 MiB in float32
    assert auto_slots(qwen, torch.bfloat16, 11 * GiB) == 29
    assert auto_slots(qwen, torch.float32, 11 * GiB) == 14
    assert auto_slots(qwen, torch.float32, GiB // 2) == 1


def test_the_budget_is_half_the_available_memory() -> None:
    available = next(
        int(line.split()[1]) * 1024
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemAvailable:")
    )
    assert abs(kv_budget() - available // 2) < 256 << 20  # what other programs did meanwhile
