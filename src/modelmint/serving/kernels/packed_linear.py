"""Linear layers with their weights laid out once for oneDNN, as inductor's freezing does.

A served model's weights never change, yet ``F.linear`` hands the plain row-major weight to
the matrix library on every call. Reordered once into oneDNN's blocked layout, the same
product is much faster in float32 at the row counts a decoding step has and for prefill,
and somewhat faster in bfloat16 (figures in docs/benchmarks.md, "One decoding step"). The
result is the same to float rounding. Where oneDNN is missing (not an x86 build) nothing is
changed.

oneDNN builds (JIT-compiles) a kernel for every new shape it is given, which took 1-6 ms
per product for the layers of a small model, where the product itself takes 0.1-0.7 ms.
A server's steps change their row count whenever a prompt is read beside the decoding
rows or a sequence ends, so most steps paid that for each of their products. The rows
are therefore padded to one of a few dozen sizes (:func:`padded_rows`): each shape is
built once, then found in oneDNN's cache."""

from __future__ import annotations

import logging

import torch
from torch import nn

log = logging.getLogger(__name__)


class PackedLinear(nn.Module):
    def __init__(self, linear: nn.Linear) -> None:
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        # The hint is a typical row count; any count works with the packed weight.
        self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), 16)
        self.bias = None if linear.bias is None else linear.bias.detach()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        out: torch.Tensor = torch.ops.mkldnn._linear_pointwise(
            padded(flat), self.packed, self.bias, "none", [], ""
        )
        return out[: flat.shape[0]].reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, packed"


def padded_rows(rows: int) -> int:
    """The row count a product of ``rows`` rows runs at: a power of two up to 16, then a
    multiple of 16 up to 128, then of 64. Padding a decoding step costs almost nothing
    (it is bound by reading the weights), a prompt's at most 63 rows of arithmetic."""
    if rows <= 16:
        return 1 << max(rows - 1, 0).bit_length()
    step = 16 if rows <= 128 else 64
    return -(-rows // step) * step


def padded(flat: torch.Tensor) -> torch.Tensor:
    """``[rows, in]`` with zero rows added up to :func:`padded_rows`."""
    rows, size = flat.shape[0], padded_rows(flat.shape[0])
    if size == rows:
        return flat
    out = flat.new_zeros(size, flat.shape[1])
    out[:rows] = flat
    return out


def packable(dtype: torch.dtype) -> bool:
    if not torch.backends.mkldnn.is_available():
        return False
    if dtype == torch.bfloat16:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    return dtype == torch.float32


def pack_linears(model: nn.Module) -> int:
    """Replaces every plain ``nn.Linear`` of an inference-only model (subclasses, such as
    quantized or adapter layers, keep their own forward). Returns how many were packed."""
    targets = [
        (name, m)
        for name, m in model.named_modules()
        if type(m) is nn.Linear and packable(m.weight.dtype)
    ]
    packed = 0
    for name, linear in targets:
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        try:
            setattr(parent, attr, PackedLinear(linear))
        except RuntimeError as e:  # a oneDNN build that cannot reorder this layer
            log.warning("%s left unpacked: %s", name, e)
            continue
        packed += 1
    return packed
