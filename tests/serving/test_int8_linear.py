"""Served int8 layers: the stored integers times float activations, by either kernel."""

from __future__ import annotations

import pytest
import torch

from modelmint.compression.quantize import quantize_int8_dynamic
from modelmint.modeling.quantized import quantized_linears
from modelmint.serving.kernels import int8_linear
from modelmint.serving.kernels.int8_linear import FEW_ROWS, Int8Linear, use_weight_only_int8
from support.serving import tiny_llama


@pytest.fixture(params=["c-library", "torch-only"])
def kernels(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """With the C library, and without it (a machine with no compiler): torch's kernels."""
    if request.param == "c-library":
        assert int8_linear._library() is not None, "the C library could not be built here"
    else:
        monkeypatch.setattr(int8_linear, "_library", lambda: None)
    return str(request.param)


def _layer(out_features: int, in_features: int, bias: bool) -> Int8Linear:
    g = torch.Generator().manual_seed(out_features * 1000 + in_features)
    weight = torch.randn(out_features, in_features, generator=g)
    scale = weight.abs().amax(1) / 127
    q = torch.round(weight / scale[:, None]).clamp(-127, 127).to(torch.int8)
    return Int8Linear(q, scale, torch.randn(out_features, generator=g) if bias else None)


def _exact(layer: Int8Linear, x: torch.Tensor) -> torch.Tensor:
    out = x.double() @ layer.q.double().T * layer.scale.double()
    return out + layer.bias.double() if layer.bias is not None else out


# widths a real model has (multiples of 16) and others; rows on both sides of FEW_ROWS,
# and four at a time with some left over
@pytest.mark.parametrize(("out_features", "in_features"), [(96, 128), (7, 5), (33, 70)])
@pytest.mark.parametrize("rows", [1, 6, FEW_ROWS, FEW_ROWS + 1, 64])
@pytest.mark.parametrize("bias", [True, False])
def test_every_kernel_computes_the_integers_times_their_scales(
    kernels: str, out_features: int, in_features: int, rows: int, bias: bool
) -> None:
    layer = _layer(out_features, in_features, bias)
    x = torch.randn(rows, in_features)
    exact = _exact(layer, x)
    got = layer(x)
    assert got.dtype == torch.float32 and got.shape == (rows, out_features)
    torch.testing.assert_close(got.double(), exact, atol=1e-4, rtol=1e-5)
    # bfloat16 activations: the result rounds once or twice to bfloat16's 8 bits
    x16 = x.bfloat16()
    got16 = layer(x16)
    assert got16.dtype == torch.bfloat16
    worst = float((got16.double() - _exact(layer, x16)).abs().max())
    assert worst <= 2 * 2**-8 * float(exact.abs().max())


def test_leading_dimensions_are_kept() -> None:
    layer = _layer(32, 64, bias=True)
    x = torch.randn(2, 3, 64)
    torch.testing.assert_close(layer(x), layer(x.reshape(6, 64)).reshape(2, 3, 32))


def test_stacked_layers_equal_each_layer_concatenated_and_share_its_integers() -> None:
    parts = [_layer(48, 64, bias=True), _layer(16, 64, bias=False), _layer(16, 64, bias=True)]
    alone = [Int8Linear(p.q.clone(), p.scale.clone(), p.bias) for p in parts]
    stacked = Int8Linear.stacked(parts)
    for rows in (1, 20):
        x = torch.randn(rows, 64)
        expected = torch.cat([p(x) for p in alone], dim=-1)
        torch.testing.assert_close(stacked(x), expected)
        # each layer still computes its own outputs, now from its rows of the stack
        torch.testing.assert_close(torch.cat([p(x) for p in parts], dim=-1), expected)
    offsets = [0, 48, 64]
    for part, offset in zip(parts, offsets, strict=True):
        assert part.q.data_ptr() == stacked.q[offset:].data_ptr() and part.q.is_contiguous()
        assert part.scale.data_ptr() == stacked.scale[offset:].data_ptr()


def test_a_quantized_model_keeps_its_integers_and_scales_through_a_dtype_change() -> None:
    torch.manual_seed(0)
    model = quantize_int8_dynamic(tiny_llama(), output_layer=True)
    stored = {n: m.weight() for n, m in quantized_linears(model).items()}
    assert use_weight_only_int8(model) == len(stored) > 0
    assert not quantized_linears(model)
    model = model.to(torch.bfloat16)
    for name, weight in stored.items():
        layer = model.get_submodule(name)
        assert isinstance(layer, Int8Linear)
        assert torch.equal(layer.q, weight.int_repr())
        assert layer.scale.dtype == torch.float32
        torch.testing.assert_close(layer.scale, weight.q_per_channel_scales().float())
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([[3, 4, 5]])).logits
    assert logits.dtype == torch.bfloat16 and bool(torch.isfinite(logits).all())


def test_only_int8_matrices_are_accepted() -> None:
    with pytest.raises(ValueError, match="int8"):
        Int8Linear(torch.zeros(4, 4), torch.ones(4), None)
    with pytest.raises(ValueError, match="one scale per output"):
        Int8Linear(torch.zeros(4, 4, dtype=torch.int8), torch.ones(3), None)
