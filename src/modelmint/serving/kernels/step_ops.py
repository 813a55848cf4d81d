"""The pointwise work of the written-out decoding step, between its matrix products.

Per layer a step norms the residual stream twice, rotates the queries and keys, writes the
keys and values into the cache and multiplies SiLU(gate) by up. In torch that is about 40
small operations a layer, each a dispatch, an allocation and a pass over memory, and a
scatter for the cache write; on a 64-row step of a small model they took as long as the
products. Two backends compute the same arithmetic:

- :class:`FusedStepOps`: ``step_ops.c``, one call for each of the three, rounding where
  torch rounds (the tests hold them to :class:`TorchStepOps`' bits in bfloat16, and in
  float32 within 3e-6: the norm's mean is summed in another order, e^x is a polynomial);
- :class:`TorchStepOps`: the same expressions in torch, where the C library cannot be
  built or the dtypes are others (float16).

The step asks :func:`step_ops` once, at build time, which one it gets."""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Any, Protocol

import torch
from torch import nn
from transformers.activations import SiLUActivation

from modelmint.serving.kernels.c_library import load_c_library

SOURCE = Path(__file__).parent / "step_ops.c"
_SUFFIX = {torch.float32: "f32", torch.bfloat16: "bf16"}
# the activations act_mul fuses: torch's and transformers' ("silu" in a config)
SILU = {nn.SiLU, SiLUActivation}
_I64, _PTR, _INT, _FLOAT = ctypes.c_int64, ctypes.c_void_p, ctypes.c_int, ctypes.c_float


@functools.cache
def _library() -> ctypes.CDLL | None:
    lib = load_c_library(SOURCE, ["-ffp-contract=off"])
    if lib is None:
        return None
    signatures = {
        "rms_norm": [_PTR] * 4 + [_I64] * 2 + [_FLOAT, _INT, _INT],
        "silu_mul": [_PTR] * 2 + [_I64] * 2 + [_INT],
        "rotary": [_PTR, _I64, _PTR, _I64, _PTR, _I64] + [_PTR] * 7 + [_I64] * 5 + [_INT],
    }
    for name in ("rms_norm_f32", "rms_norm_bf16", "silu_mul_f32", "silu_mul_bf16"):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = None, signatures[name.rsplit("_", 1)[0]]
    for name in ("rotary_f32", "rotary_f32_bf16_cache", "rotary_bf16"):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = None, signatures["rotary"]
    return lib


class StepOps(Protocol):
    def weight(self, norm_weight: torch.Tensor) -> torch.Tensor:
        """A norm's weight as :meth:`add_norm` takes it (once, at build time)."""
        ...

    def table(self, cos: torch.Tensor, sin: torch.Tensor) -> Any:
        """A rotary table (model dtype, ``[positions, dim]``) as :meth:`at` takes it."""
        ...

    def at(self, table: Any, positions: torch.Tensor) -> Any:
        """The table at this step's token positions (once per step)."""
        ...

    def norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """The RMS norm of ``x`` over its last dimension, times ``weight``."""
        ...

    def add_norm(
        self, x: torch.Tensor, h: torch.Tensor | None, weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``x + h`` (x alone where h is None) and its RMS norm times ``weight``. ``x``
        ``[rows, dim]`` may be overwritten with the sum."""
        ...

    def rotate_store(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        rotary: Any,
        positions: torch.Tensor,
        slots: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
    ) -> torch.Tensor:
        """Rotates ``q`` ``[tokens, heads, dim]`` and ``k`` ``[tokens, kv_heads, dim]``,
        stores the keys and ``v`` in the cache at each token's slot and position, and
        returns the rotated queries, contiguous."""
        ...

    def act_mul(self, gate_up: torch.Tensor, act: nn.Module) -> torch.Tensor:
        """``act(gate) * up`` from the joined ``[rows, 2 * inter]`` product."""
        ...


class TorchStepOps:
    """The Hugging Face layers' expressions, in their order."""

    def __init__(self, eps: float, gemma: bool) -> None:
        self.eps, self.gemma = eps, gemma

    def weight(self, norm_weight: torch.Tensor) -> torch.Tensor:
        return norm_weight

    def table(self, cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return cos, sin

    def at(self, table: Any, positions: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        cos, sin = table
        return cos[positions][:, None, :], sin[positions][:, None, :]

    def norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        v = x.float()
        v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + self.eps)
        if self.gemma:
            return (v * weight).type_as(x)
        return weight * v.to(x.dtype)

    def add_norm(
        self, x: torch.Tensor, h: torch.Tensor | None, weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if h is not None:
            x = x + h
        return x, self.norm(x, weight)

    @staticmethod
    def _rotate(t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = t.shape[-1] // 2
        return t * cos + torch.cat([-t[..., half:], t[..., :half]], dim=-1) * sin

    def rotate_store(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        rotary: Any,
        positions: torch.Tensor,
        slots: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
    ) -> torch.Tensor:
        cos, sin = rotary
        q, k = self._rotate(q, cos, sin), self._rotate(k, cos, sin)
        keys[slots, :, positions] = k.to(keys.dtype)
        values[slots, :, positions] = v.to(values.dtype)
        return q.contiguous()

    def act_mul(self, gate_up: torch.Tensor, act: nn.Module) -> torch.Tensor:
        gate, up = gate_up.chunk(2, dim=-1)
        out: torch.Tensor = act(gate) * up
        return out


class FusedStepOps(TorchStepOps):
    """``step_ops.c``; built only where :func:`step_ops` found the library and dtypes."""

    def __init__(self, eps: float, gemma: bool, lib: ctypes.CDLL, dtype: torch.dtype,
                 kv_dtype: torch.dtype) -> None:  # fmt: skip
        super().__init__(eps, gemma)
        suffix = _SUFFIX[dtype]
        self._norm = getattr(lib, f"rms_norm_{suffix}")
        self._silu_mul = getattr(lib, f"silu_mul_{suffix}")
        cache = "" if kv_dtype == dtype else "_bf16_cache"
        self._rotary = getattr(lib, f"rotary_{suffix}{cache}")

    def weight(self, norm_weight: torch.Tensor) -> torch.Tensor:
        return norm_weight.float().contiguous()

    def table(self, cos: torch.Tensor, sin: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return cos.float().contiguous(), sin.float().contiguous()

    def at(self, table: Any, positions: torch.Tensor) -> Any:
        return table

    def norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        return self.add_norm(x.contiguous(), None, weight)[1]

    def add_norm(
        self, x: torch.Tensor, h: torch.Tensor | None, weight: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        dim = x.shape[-1]
        if h is not None:
            h = h.contiguous()
        out = torch.empty_like(x)
        self._norm(
            x.data_ptr(),
            None if h is None else h.data_ptr(),
            out.data_ptr(),
            weight.data_ptr(),
            x.numel() // dim,
            dim,
            self.eps,
            int(self.gemma),
            torch.get_num_threads(),
        )
        return x, out

    def rotate_store(
        self,
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        rotary: Any,
        positions: torch.Tensor,
        slots: torch.Tensor,
        keys: torch.Tensor,
        values: torch.Tensor,
    ) -> torch.Tensor:
        cos, sin = rotary
        tokens, heads, dim = q.shape
        out = torch.empty((tokens, heads, dim), dtype=q.dtype)
        self._rotary(
            q.data_ptr(), q.stride(0), k.data_ptr(), k.stride(0), v.data_ptr(), v.stride(0),
            out.data_ptr(), keys.data_ptr(), values.data_ptr(), cos.data_ptr(), sin.data_ptr(),
            positions.data_ptr(), slots.data_ptr(),
            tokens, heads, k.shape[1], dim, keys.shape[2], torch.get_num_threads(),
        )  # fmt: skip
        return out

    def act_mul(self, gate_up: torch.Tensor, act: nn.Module) -> torch.Tensor:
        if type(act) not in SILU:
            return super().act_mul(gate_up, act)
        rows, inter = gate_up.shape[0], gate_up.shape[1] // 2
        out = torch.empty((rows, inter), dtype=gate_up.dtype)
        self._silu_mul(gate_up.data_ptr(), out.data_ptr(), rows, inter, torch.get_num_threads())
        return out


def step_ops(eps: float, gemma: bool, dtype: torch.dtype, kv_dtype: torch.dtype) -> StepOps:
    """The fused ops where the library builds and the dtypes are its own; else torch's."""
    lib = _library()
    fused = dtype in _SUFFIX and (kv_dtype == dtype or kv_dtype == torch.bfloat16)
    if lib is None or not fused:
        return TorchStepOps(eps, gemma)
    return FusedStepOps(eps, gemma, lib, dtype, kv_dtype)
