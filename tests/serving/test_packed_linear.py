"""Linear layers packed for oneDNN give the same answers as the plain ones."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from modelmint.serving.kernels import PackedLinear, pack_linears
from modelmint.serving.kernels.packed_linear import padded_rows
from support.serving import tiny_llama

needs_onednn = pytest.mark.skipif(
    not torch.backends.mkldnn.is_available(), reason="this torch build has no oneDNN"
)


@needs_onednn
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("rows", [1, 3, 16, 21, 300])
def test_packed_linear_equals_linear(bias: bool, rows: int) -> None:
    """Row counts that run padded (3, 21, 300) and that do not; the padding's rows are
    never returned."""
    torch.manual_seed(0)
    linear = nn.Linear(48, 80, bias=bias)
    x = torch.randn(2, rows, 48)  # batch, tokens, features: the shapes a model passes
    with torch.inference_mode():
        torch.testing.assert_close(PackedLinear(linear)(x), linear(x), atol=1e-5, rtol=1e-5)


class _SubclassedLinear(nn.Linear):
    """Stands for a layer with a forward of its own (an adapter, a quantized layer)."""


@needs_onednn
def test_pack_linears_keeps_a_models_logits_and_leaves_subclasses() -> None:
    torch.manual_seed(0)
    model = tiny_llama(vocab_size=101, num_key_value_heads=4).eval()
    special = _SubclassedLinear(32, 32)
    model.model.layers[0].self_attn.o_proj = special
    ids = torch.tensor([[5, 17, 3, 99, 42, 7]])
    with torch.inference_mode():
        before = model(input_ids=ids).logits
        packed = pack_linears(model)
        after = model(input_ids=ids).logits
    # 7 linears a layer and the output layer, less the one subclass
    assert packed == 2 * 7 + 1 - 1
    assert model.model.layers[0].self_attn.o_proj is special
    assert isinstance(model.model.layers[1].self_attn.o_proj, PackedLinear)
    torch.testing.assert_close(after, before, atol=1e-5, rtol=1e-5)


def test_row_counts_come_in_few_sizes() -> None:
    """Each size is one oneDNN kernel built: the row counts of a server's steps (up to
    64 decoding rows and a 2,048-token prompt chunk) come in 43 sizes, none smaller than
    asked and none more than 63 rows larger."""
    sizes = {padded_rows(n) for n in range(1, 64 + 2048 + 1)}
    assert len(sizes) == 43
    assert all(0 <= padded_rows(n) - n < 64 for n in range(1, 3000))
    assert [padded_rows(n) for n in (1, 2, 3, 5, 16, 17, 33, 128, 129, 200)] == [
        1, 2, 4, 8, 16, 32, 48, 128, 192, 256
    ]  # fmt: skip
