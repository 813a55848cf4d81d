"""Attention for the decoding step: one new query per row against that row's cached keys.

Prefill (many queries per row) goes to torch's ``scaled_dot_product_attention``. A decoding
step is different work: per row and head, a matrix-vector product over keys read once, so
it is bound by memory, and SDPA's CPU kernels do it poorly. They read every row up to the
batch's longest, and in bfloat16 they are slow besides. ``decode_attention.c``
reads each row only up to its last visible key, once per key-value head for all the query
heads that share it, in the cache's own dtype, accumulating in float32 (online softmax).
It beat both SDPA and an inductor-compiled kernel of the same expressions; the measured
times are in docs/benchmarks.md, "One decoding step". Where the CPU has AVX-512 it runs
as vectors (a key's dot product, a block's exponentials and a value row each a few
instructions, the next keys prefetched): at 64 rows of a bfloat16 cache that took a step's
attention from 12 to 19 GB/s.

It is registered with transformers' ``AttentionInterface`` under :data:`NAME`, so the
model's own attention layers call it; which keys a row sees is the runner's mask (a
sliding window is a mask that starts late: the kernel skips to its first visible key).
The written-out decoding step calls :func:`attend_decoding` directly, with Gemma 2's score
soft-cap where the family has one. Where the C library cannot be built (no compiler) every
step goes to SDPA, or to the same arithmetic in torch where there is a soft-cap."""

from __future__ import annotations

import ctypes
import functools
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

from modelmint.serving.kernels.c_library import load_kernels

NAME = "mint_decode"
# (query dtype, cache dtype) -> the kernel for them
KERNELS = {
    (torch.float32, torch.float32): "decode_attention_f32",
    (torch.bfloat16, torch.bfloat16): "decode_attention_bf16",
    (torch.float32, torch.bfloat16): "decode_attention_f32_bf16_cache",
}
SOURCE = Path(__file__).parent / "decode_attention.c"


@functools.cache
def _library() -> ctypes.CDLL | None:
    return load_kernels(
        SOURCE,
        KERNELS.values(),
        [ctypes.c_void_p] * 5
        + [ctypes.c_int64] * 12
        + [
            ctypes.c_float,  # scale
            ctypes.c_float,  # softcap; 0 for none
            ctypes.c_int,
        ],
    )


def kernel_available() -> bool:
    return _library() is not None


def decode_attention(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor,
    scale: float,
    softcap: float | None = None,
) -> torch.Tensor | None:
    """``query`` ``[rows, heads, 1, dim]``; ``key``/``value`` ``[rows, kv_heads, keys, dim]``
    (views of the cache are fine: only ``dim`` must be contiguous); ``mask`` ``[rows, 1, 1,
    keys]`` (True: seen); ``softcap``: scores become ``tanh(s / softcap) * softcap``.
    Returns ``[rows, 1, heads, dim]``, or None where the kernel does not apply (no library,
    another dtype or layout): the caller uses SDPA."""
    lib = _library()
    dtype = query.dtype
    kernel = KERNELS.get((dtype, key.dtype))
    if lib is None or kernel is None or value.dtype != key.dtype:
        return None
    if key.stride(-1) != 1 or value.stride(-1) != 1:
        return None
    rows, heads, _, dim = query.shape
    kv_heads, keys = key.shape[1], key.shape[2]
    q = query.contiguous()
    seen = mask.reshape(rows, keys)
    if seen.stride(-1) != 1:
        seen = seen.contiguous()
    out = torch.empty((rows, 1, heads, dim), dtype=dtype)
    run = getattr(lib, kernel)
    run(
        q.data_ptr(),
        key.data_ptr(),
        value.data_ptr(),
        out.data_ptr(),
        seen.data_ptr(),
        rows,
        heads,
        kv_heads,
        keys,
        dim,
        *key.stride()[:3],
        *value.stride()[:3],
        seen.stride(0),
        scale,
        softcap or 0.0,
        torch.get_num_threads(),
    )
    return out


def attention_in_torch(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor,
    scale: float,
    softcap: float | None = None,
) -> torch.Tensor:
    """What :func:`decode_attention` computes, where its library is absent: SDPA, or with
    a soft-cap (which SDPA lacks) the Hugging Face eager arithmetic, in its order. Keys and
    values from a narrower cache are widened to the query's dtype first."""
    key, value = key.to(query.dtype), value.to(query.dtype)
    if softcap is None:
        out = F.scaled_dot_product_attention(
            query, key, value, attn_mask=mask, scale=scale, enable_gqa=True
        )
        return out.transpose(1, 2)
    group = query.shape[1] // key.shape[1]
    key, value = key.repeat_interleave(group, 1), value.repeat_interleave(group, 1)
    scores = torch.tanh(query @ key.transpose(2, 3) * scale / softcap) * softcap
    scores = scores.masked_fill(~mask, torch.finfo(scores.dtype).min)
    weights = torch.softmax(scores, dim=-1, dtype=torch.float32).to(query.dtype)
    return (weights @ value).transpose(1, 2)


def attend_decoding(
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    mask: torch.Tensor,
    scale: float,
    softcap: float | None = None,
) -> torch.Tensor:
    """:func:`decode_attention`'s arguments and result; never None."""
    out = decode_attention(query, key, value, mask, scale, softcap)
    return out if out is not None else attention_in_torch(query, key, value, mask, scale, softcap)


def slot_attention(
    module: torch.nn.Module,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    dropout: float = 0.0,
    scaling: float | None = None,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers' attention signature: decoding steps take the kernel, the rest SDPA."""
    plain = kwargs.get("softcap") is None and kwargs.get("s_aux") is None
    if (
        plain
        and query.shape[2] == 1
        and attention_mask is not None
        and attention_mask.dtype == torch.bool
    ):
        scale = scaling if scaling is not None else query.shape[-1] ** -0.5
        out = decode_attention(query, key, value, attention_mask, scale)
        if out is not None:
            return out, None
    return sdpa_attention_forward(
        module, query, key, value, attention_mask, dropout=dropout, scaling=scaling, **kwargs
    )


def use_decode_attention(model: Any) -> bool:
    """Switches a loaded model to :func:`slot_attention`; False (and nothing changed) for a
    model whose attention is not SDPA's (it keeps its own) or where the kernel cannot be
    built."""
    if getattr(model.config, "_attn_implementation", None) != "sdpa" or not kernel_available():
        return False
    AttentionInterface.register(NAME, slot_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(NAME, sdpa_mask)
    model.set_attn_implementation(NAME)
    return True
