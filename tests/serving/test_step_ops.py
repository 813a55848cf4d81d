"""The fused step operations against torch's expressions of the same arithmetic."""

from __future__ import annotations

import pytest
import torch
from torch import nn
from transformers.activations import ACT2FN

from modelmint.serving.kernels.step_ops import FusedStepOps, TorchStepOps, step_ops


def _pair(
    dtype: torch.dtype, kv_dtype: torch.dtype | None = None, gemma: bool = False
) -> tuple[TorchStepOps, FusedStepOps]:
    fused = step_ops(1e-6, gemma, dtype, kv_dtype or dtype)
    if not isinstance(fused, FusedStepOps):
        pytest.skip("the step library cannot be built here (no C compiler)")
    return TorchStepOps(1e-6, gemma), fused


def _close(got: torch.Tensor, expected: torch.Tensor, dtype: torch.dtype) -> None:
    if dtype == torch.bfloat16:  # every rounding where torch's is: the same bits
        assert torch.equal(got, expected)
    else:  # a mean summed in another order, e^x within 2 ulp (and silu(-200) a tiny -0)
        torch.testing.assert_close(got, expected, atol=1e-30, rtol=3e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
@pytest.mark.parametrize("gemma", [False, True])
def test_residual_and_norm(dtype: torch.dtype, gemma: bool) -> None:
    torch.manual_seed(0)
    reference, fused = _pair(dtype, gemma=gemma)
    x, h = torch.randn(37, 96).to(dtype), torch.randn(37, 96).to(dtype)
    weight = torch.randn(96).float() if gemma else torch.randn(96).to(dtype)
    x1, n1 = reference.add_norm(x.clone(), h, reference.weight(weight))
    x2, n2 = fused.add_norm(x.clone(), h, fused.weight(weight))
    assert torch.equal(x1, x2)
    _close(n2, n1, dtype)
    _close(fused.norm(h, fused.weight(weight)), reference.norm(h, reference.weight(weight)), dtype)


@pytest.mark.parametrize(
    ("dtype", "kv_dtype"),
    [
        (torch.float32, torch.float32),
        (torch.bfloat16, torch.bfloat16),
        (torch.float32, torch.bfloat16),
    ],
)
def test_rotary_and_cache_write(dtype: torch.dtype, kv_dtype: torch.dtype) -> None:
    """Queries and keys as views of one joined product (strided rows), grouped heads, and
    tokens of several slots at scattered positions."""
    torch.manual_seed(0)
    reference, fused = _pair(dtype, kv_dtype)
    tokens, heads, kv_heads, dim, max_len = 11, 4, 2, 16, 40
    qkv = torch.randn(tokens, (heads + 2 * kv_heads) * dim).to(dtype)
    q, k, v = qkv.split([heads * dim, kv_heads * dim, kv_heads * dim], dim=-1)
    q, k, v = (t.view(tokens, -1, dim) for t in (q, k, v))
    cos, sin = torch.randn(max_len, dim).to(dtype), torch.randn(max_len, dim).to(dtype)
    positions = torch.randint(0, max_len, (tokens,))
    slots = torch.tensor([0, 0, 1, 2, 2, 2, 3, 1, 0, 3, 2])
    outputs = []
    for ops in (reference, fused):
        keys = torch.zeros(4, kv_heads, max_len, dim, dtype=kv_dtype)
        values = torch.zeros_like(keys)
        rotary = ops.at(ops.table(cos, sin), positions)
        queries = ops.rotate_store(q, k, v, rotary, positions, slots, keys, values)
        outputs.append((queries, keys, values))
    for mine, theirs in zip(outputs[1], outputs[0], strict=True):
        assert torch.equal(mine, theirs)


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_silu_times_up(dtype: torch.dtype) -> None:
    """Widths that are not a multiple of the vector length, and gates far out on both
    sides (where e^-x overflows or vanishes)."""
    torch.manual_seed(0)
    reference, fused = _pair(dtype)
    gate_up = (torch.randn(9, 2 * 83) * 6).to(dtype)
    gate_up[0, :4] = torch.tensor([-200.0, -90.0, 90.0, 200.0]).to(dtype)
    for act in (nn.SiLU(), ACT2FN["silu"]):
        _close(fused.act_mul(gate_up, act), reference.act_mul(gate_up, act), dtype)
    gelu = ACT2FN["gelu_pytorch_tanh"]  # not fused: torch's own
    assert torch.equal(fused.act_mul(gate_up, gelu), reference.act_mul(gate_up, gelu))
