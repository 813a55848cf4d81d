"""Int8 linear layers as the engine serves them: int8 weights, float activations.

``mint compress --method int8-dynamic`` stores each layer as int8 weights with one scale per
output channel (``modelmint.modeling.quantized``), and loads them as torch's dynamically
quantized Linear, which quantizes the activations too, on every call, in float32. That is
the right arithmetic for int8 matrix units, but decoding a few sequences is bound by
reading the weights, not by arithmetic: served int8 was slower than bfloat16. Here the
same stored integers multiply the activations in the model's dtype (bfloat16 where the CPU
has it), and the activations are never rounded to int8, so the served model is closer to
the float one than the dynamic layers were.

By row count (measured in docs/benchmarks.md, "bfloat16 and int8, on a CPU with AMX"):
- up to :data:`FEW_ROWS` rows the product is bound by reading the weights.
  ``int8_linear.c`` streams them, widening the integers in registers and prefetching
  ahead: half of bfloat16's bytes to read. Where the C library cannot be built, torch's
  ``aten._weight_int8pack_mm`` does the same more slowly (it reads big layers at about
  two thirds of the rate), for widths that are a multiple of 16 (its vector loop has no
  tail);
- more rows are bound by arithmetic, where neither has matrix units: the integers are
  widened to the activations' dtype (exact: they have 8 bits) for one oneDNN product,
  then scaled in float32. Past a few rows int8 stays slower than bfloat16; it is for
  serving few sequences in little memory.

Every engine serving an int8 model calls :func:`use_weight_only_int8`; scoring, evaluation
and ``mint compress``'s own measurements keep torch's dynamic layers."""

from __future__ import annotations

import ctypes
import functools
from collections.abc import Sequence
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from modelmint.modeling.quantized import quantized_linears
from modelmint.serving.kernels.c_library import load_kernels
from modelmint.serving.kernels.packed_linear import padded

FEW_ROWS = 8  # up to here a product is bound by reading the weights (see above)
SOURCE = Path(__file__).parent / "int8_linear.c"
KERNELS = {torch.float32: "int8_linear_f32", torch.bfloat16: "int8_linear_bf16"}


@functools.cache
def _library() -> ctypes.CDLL | None:
    args = [ctypes.c_void_p] * 5 + [ctypes.c_int64] * 3 + [ctypes.c_int]
    return load_kernels(SOURCE, KERNELS.values(), args)


class Int8Linear(nn.Module):
    """``y = (x @ q.T) * scale + bias``: ``q`` int8 ``[out, in]``, one scale per output.
    The tensors are plain attributes, not buffers: ``model.to(dtype)`` changes the
    activations' dtype, never the stored integers or their scales."""

    def __init__(self, q: torch.Tensor, scale: torch.Tensor, bias: torch.Tensor | None) -> None:
        super().__init__()
        if q.dtype != torch.int8 or q.dim() != 2 or scale.shape != (q.shape[0],):
            raise ValueError("Int8Linear takes int8 [out, in] weights and one scale per output")
        self.out_features, self.in_features = q.shape
        self.q = q.contiguous()
        self.scale = scale.float().contiguous()
        self.bias = None if bias is None else bias.detach().float().contiguous()
        self._scales = {torch.float32: self.scale}  # the kernel takes them in x's dtype

    @classmethod
    def stacked(cls, layers: Sequence[Int8Linear]) -> Int8Linear:
        """One layer computing several of the same input, their outputs concatenated. The
        layers then read their own rows of it, so the integers are held once."""
        biases = [
            m.bias if m.bias is not None else m.scale.new_zeros(m.out_features) for m in layers
        ]
        joined = cls(
            torch.cat([m.q for m in layers]),
            torch.cat([m.scale for m in layers]),
            None if all(m.bias is None for m in layers) else torch.cat(biases),
        )
        start = 0
        for m in layers:
            rows = slice(start, start + m.out_features)  # whole rows: contiguous views
            m.q, m.scale = joined.q[rows], joined.scale[rows]
            if m.bias is not None and joined.bias is not None:
                m.bias = joined.bias[rows]
            m._scales = {torch.float32: m.scale}
            start += m.out_features
        return joined

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, self.in_features)
        lib, kernel = _library(), KERNELS.get(x.dtype)
        if flat.shape[0] <= FEW_ROWS and lib is not None and kernel is not None:
            flat = flat.contiguous()
            out = torch.empty((flat.shape[0], self.out_features), dtype=x.dtype)
            getattr(lib, kernel)(
                flat.data_ptr(),
                out.data_ptr(),
                self.q.data_ptr(),
                self.scale.data_ptr(),
                None if self.bias is None else self.bias.data_ptr(),
                flat.shape[0],
                self.in_features,
                self.out_features,
                torch.get_num_threads(),
            )
        elif flat.shape[0] <= FEW_ROWS and self.in_features % 16 == 0:
            scale = self._scales.get(x.dtype)
            if scale is None:
                scale = self._scales[x.dtype] = self.scale.to(x.dtype)
            out = torch.ops.aten._weight_int8pack_mm(flat.contiguous(), self.q, scale)
            if self.bias is not None:
                out = out + self.bias.to(x.dtype)
        else:  # scaled in float32: one rounding to x's dtype after the product's
            out = F.linear(padded(flat), self.q.to(x.dtype))[: flat.shape[0]].float() * self.scale
            if self.bias is not None:
                out += self.bias
            out = out.to(x.dtype)
        return out.reshape(*x.shape[:-1], self.out_features)

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, int8"


def use_weight_only_int8(model: nn.Module) -> int:
    """Replaces torch's dynamically quantized Linear layers with :class:`Int8Linear` over
    the same integers and scales. Returns how many."""
    layers = quantized_linears(model)
    for name, layer in layers.items():
        weight = layer.weight()
        bias = layer.bias()
        parent_name, _, attr = name.rpartition(".")
        parent = model.get_submodule(parent_name) if parent_name else model
        setattr(
            parent,
            attr,
            Int8Linear(
                weight.int_repr(),
                weight.q_per_channel_scales().float(),
                None if bias is None else bias.detach(),
            ),
        )
    return len(layers)
