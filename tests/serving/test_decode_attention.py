"""The decoding-step attention kernel against torch's SDPA, and wired into the runner."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import torch
import torch.nn.functional as F

from modelmint.serving.kernels import kernel_available
from modelmint.serving.kernels.decode_attention import (
    NAME,
    attention_in_torch,
    decode_attention,
)
from modelmint.serving.models import ModelRunner, RowInput
from support.serving import tiny_llama


@pytest.fixture(autouse=True)
def two_threads() -> Iterator[None]:
    """The kernel splits its rows over torch's threads: two of them, even where the suite
    gives each worker a single core, so the split itself is what these tests check."""
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    yield
    torch.set_num_threads(threads)


def _case(dtype: torch.dtype, heads: int, kv_heads: int, dim: int = 16) -> tuple[torch.Tensor, ...]:
    g = torch.Generator().manual_seed(0)
    rows, keys = 5, 37
    query = torch.randn(rows, heads, 1, dim, generator=g).to(dtype)
    # A slice of a longer cache, as the runner passes it: not contiguous.
    key = torch.randn(rows, kv_heads, 64, dim, generator=g).to(dtype)[:, :, :keys]
    value = torch.randn(rows, kv_heads, 64, dim, generator=g).to(dtype)[:, :, :keys]
    lengths = torch.tensor([1, 9, 37, 20, 2])  # ragged: padding past each row's end
    mask = torch.arange(keys)[None, :] < lengths[:, None]
    mask[2, 5:11] = False  # and a hole, as a sliding window or a left pad would leave
    return query, key, value, mask[:, None, None, :]


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 2), (7, 1)])
# head sizes the vector kernel has registers for (64, 128), any multiple of 16, and one
# that takes the scalar loop
@pytest.mark.parametrize("dim", [16, 24, 64, 128])
def test_kernel_equals_sdpa_on_ragged_rows(
    dtype: torch.dtype, heads: int, kv_heads: int, dim: int
) -> None:
    query, key, value, mask = _case(dtype, heads, kv_heads, dim)
    group = heads // kv_heads
    expected = F.scaled_dot_product_attention(
        query.float(),
        key.float().repeat_interleave(group, dim=1),
        value.float().repeat_interleave(group, dim=1),
        attn_mask=mask,
        scale=0.3,
    ).transpose(1, 2)
    assert kernel_available(), "the C kernel could not be built on this machine"
    got = decode_attention(query, key, value, mask, 0.3)
    assert got is not None and got.shape == (5, 1, heads, dim) and got.dtype == dtype
    tolerance = 1e-5 if dtype == torch.float32 else 1e-2
    torch.testing.assert_close(got.float(), expected, atol=tolerance, rtol=tolerance)


def _eager(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor,
    scale: float,
    softcap: float,
) -> torch.Tensor:
    """Gemma 2's eager attention, in float32: scores scaled, soft-capped, masked."""
    group = query.shape[1] // key.shape[1]
    k = key.float().repeat_interleave(group, dim=1)
    v = value.float().repeat_interleave(group, dim=1)
    scores = torch.tanh(query.float() @ k.transpose(2, 3) * scale / softcap) * softcap
    weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=-1)
    return (weights @ v).transpose(1, 2)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_soft_capped_scores_and_a_window_that_starts_late(dtype: torch.dtype) -> None:
    query, key, value, mask = _case(dtype, 4, 2)
    query = query * 8  # scores large enough for the cap to bend them
    positions = torch.tensor([0, 8, 36, 19, 1])
    keys = torch.arange(key.shape[2])
    window = (keys <= positions[:, None]) & (keys > positions[:, None] - 6)
    mask = window[:, None, None, :]
    expected = _eager(query, key, value, mask, 0.3, softcap=2.0)
    uncapped = _eager(query, key, value, mask, 0.3, softcap=1e6)
    assert (expected - uncapped).abs().max() > 0.1, "the cap must matter here"
    got = decode_attention(query, key, value, mask, 0.3, softcap=2.0)
    assert got is not None
    fallback = attention_in_torch(query, key, value, mask, 0.3, softcap=2.0)
    tolerance = 1e-5 if dtype == torch.float32 else 1e-2
    torch.testing.assert_close(got.float(), expected, atol=tolerance, rtol=tolerance)
    torch.testing.assert_close(fallback.float(), expected, atol=tolerance, rtol=tolerance)


def test_the_fallback_without_a_cap_is_sdpa() -> None:
    query, key, value, mask = _case(torch.float32, 4, 2)
    got = decode_attention(query, key, value, mask, 0.3)
    assert got is not None
    torch.testing.assert_close(attention_in_torch(query, key, value, mask, 0.3), got)


def test_runner_decodes_through_the_kernel_with_sdpa_logits() -> None:
    torch.manual_seed(0)
    model = tiny_llama()
    runner = ModelRunner(model, slots=3, dtype=torch.float32)
    assert model.config._attn_implementation == NAME
    prompts = [[3, 4, 5, 6, 7, 8], [9, 10], [11, 12, 13]]
    runner.forward(0, [RowInput(p, 0) for p in prompts])
    got = runner.forward(0, [RowInput([20 + b], len(p)) for b, p in enumerate(prompts)])
    with torch.inference_mode():
        for b, p in enumerate(prompts):
            ids = torch.tensor([[*p, 20 + b]])
            expected = model(input_ids=ids).logits[0, -1]  # the kernel is for steps only
            torch.testing.assert_close(got[b], expected, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("heads,kv_heads", [(4, 4), (4, 2)])
def test_float32_queries_over_a_bfloat16_cache_equal_sdpa_over_the_widened_cache(
    heads: int, kv_heads: int
) -> None:
    query, key, value, mask = _case(torch.float32, heads, kv_heads)
    key, value = key.to(torch.bfloat16), value.to(torch.bfloat16)
    group = heads // kv_heads
    expected = F.scaled_dot_product_attention(
        query,
        key.float().repeat_interleave(group, dim=1),
        value.float().repeat_interleave(group, dim=1),
        attn_mask=mask,
        scale=0.3,
    ).transpose(1, 2)
    got = decode_attention(query, key, value, mask, 0.3)
    assert got is not None and got.dtype == torch.float32
    # the same bfloat16 numbers, widened exactly: only float32 summation order differs
    torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-5)
    fallback = attention_in_torch(query, key, value, mask, 0.3)
    torch.testing.assert_close(fallback, expected, atol=1e-5, rtol=1e-5)
