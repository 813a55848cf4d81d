"""How many sequences the native engine decodes together when none is asked for: 64 where
their whole keys and values fit in 2 GiB, down to 32 for a long-context model."""

from __future__ import annotations

import torch
from transformers import LlamaConfig, Qwen2Config

from modelmint.serving.models.model_runner import auto_slots


def test_a_small_model_gets_64_slots() -> None:
    small = LlamaConfig(
        hidden_size=512, num_hidden_layers=8, num_attention_heads=8, max_position_embeddings=512
    )  # 16 MiB a slot in float32
    assert auto_slots(small, torch.float32) == 64


def test_slots_shrink_to_the_budget_but_never_below_32() -> None:
    def llama(context: int) -> LlamaConfig:
        return LlamaConfig(
            hidden_size=512,
            num_hidden_layers=8,
            num_attention_heads=8,
            max_position_embeddings=context,
        )

    # 8 layers x 2 x 8 heads x 64 x 4 bytes = 32 KiB a position and slot
    assert auto_slots(llama(1024), torch.float32) == 64  # 32 MiB a slot: 64 fill 2 GiB
    assert auto_slots(llama(1536), torch.float32) == 42  # 48 MiB a slot
    assert auto_slots(llama(1536), torch.bfloat16) == 64  # half the bytes
    qwen = Qwen2Config(
        hidden_size=896,
        num_hidden_layers=24,
        num_attention_heads=14,
        num_key_value_heads=2,
        max_position_embeddings=32768,
    )  # 384 MiB a slot in bfloat16: the floor
    assert auto_slots(qwen, torch.bfloat16) == 32
