"""A decoding step of a plain Llama, written out: what vLLM does with its own model code.

The Hugging Face layers spend a step's time on ~40 small tensor operations and a dozen
Python calls per layer around the matrix products that matter. Here a layer is one fused
query-key-value product, rotary embedding from a table, the cache write, the decoding
attention kernel, the output product, and one fused gate-up product: the same arithmetic
in the same order, so the logits are those of the Hugging Face layers (bit-identical when
measured; the tests hold them within 1e-5). What it saves per step, with 1 and 16 rows, is
in docs/benchmarks.md, "One decoding step".

Only decoding steps come here, and only for configurations whose arithmetic this file
covers (:func:`supports`): no biases, SiLU, static rotary scaling. Int8 layers from ``mint
compress`` are called as they are, each on its own. Prefill, scoring and every other model
keep the Hugging Face layers. The fused query-key-value and gate-up weights are packed
copies beside the model's own, so a model served this way holds those weights twice (the
output, down and vocabulary products are shared)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from modelmint.serving.kernels.decode_attention import decode_attention
from modelmint.serving.kernels.packed_linear import PackedLinear
from modelmint.serving.models.kv_cache import SlotKVCache

STATIC_ROPE = {None, "default", "linear", "llama3"}  # baked into inv_freq by transformers


def supports(model: Any) -> bool:
    config = model.config
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None) or {}
    return (
        getattr(config, "model_type", None) == "llama"
        and not getattr(config, "attention_bias", False)
        and not getattr(config, "mlp_bias", False)
        and getattr(config, "hidden_act", None) == "silu"
        and getattr(config, "pretraining_tp", 1) == 1
        and rope.get("rope_type") in STATIC_ROPE
        and getattr(model, "model", None) is not None
    )


Projection = Callable[[torch.Tensor], torch.Tensor]


def _joined(*modules: nn.Module) -> Projection:
    """One product for several projections of the same input: their weights stacked and
    packed when all are plain ``nn.Linear``; otherwise (int8 layers) each module's own,
    concatenated."""
    if all(type(m) is nn.Linear for m in modules):
        weight = torch.cat([m.weight.detach() for m in modules if isinstance(m, nn.Linear)])
        stacked = nn.Linear(weight.shape[1], weight.shape[0], bias=False, dtype=weight.dtype)
        stacked.weight.data = weight
        return PackedLinear(stacked)
    return lambda x: torch.cat([m(x) for m in modules], dim=-1)


def _shared(module: nn.Module) -> nn.Module:
    """A projection used alone: packed once, and the model's own module becomes it."""
    return PackedLinear(module) if type(module) is nn.Linear else module


class LlamaDecoder:
    """Built from the model before its own linear layers are packed."""

    def __init__(self, model: Any, cache: SlotKVCache) -> None:
        config = model.config
        self.cache = cache
        self.heads = int(config.num_attention_heads)
        self.kv_heads = int(config.num_key_value_heads or self.heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // self.heads)
        self.intermediate = int(config.intermediate_size)
        self.eps = float(config.rms_norm_eps)
        self.embed = model.model.embed_tokens
        self.layers: list[
            tuple[torch.Tensor, Projection, nn.Module, torch.Tensor, Projection, nn.Module]
        ] = []
        for layer in model.model.layers:
            attention, mlp = layer.self_attn, layer.mlp
            attention.o_proj, mlp.down_proj = _shared(attention.o_proj), _shared(mlp.down_proj)
            self.layers.append(
                (
                    layer.input_layernorm.weight,
                    _joined(attention.q_proj, attention.k_proj, attention.v_proj),
                    attention.o_proj,
                    layer.post_attention_layernorm.weight,
                    _joined(mlp.gate_proj, mlp.up_proj),
                    mlp.down_proj,
                )
            )
        self.norm = model.model.norm.weight
        self.head = _shared(model.get_output_embeddings())
        model.set_output_embeddings(self.head)
        rotary = model.model.rotary_emb
        # As LlamaRotaryEmbedding computes them: float32 angles, scaled, then the model dtype.
        angles = torch.arange(cache.max_len).float()[:, None] * rotary.inv_freq.float()[None, :]
        table = torch.cat([angles, angles], dim=-1)
        dtype = self.norm.dtype
        self.cos = (table.cos() * rotary.attention_scaling).to(dtype)
        self.sin = (table.sin() * rotary.attention_scaling).to(dtype)

    def _rms_norm(self, x: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        v = x.float()
        v = v * torch.rsqrt(v.pow(2).mean(-1, keepdim=True) + self.eps)
        return weight * v.to(x.dtype)

    def _rotate(self, t: torch.Tensor, cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
        half = t.shape[-1] // 2
        return t * cos + torch.cat([-t[..., half:], t[..., :half]], dim=-1) * sin

    @torch.inference_mode()
    def decode(self, lo: int, tokens: list[int], starts: list[int]) -> torch.Tensor:
        """Logits (float32 ``[rows, vocab]``) for one new token per row of slots ``lo..``,
        row ``b``'s token at position ``starts[b]``."""
        rows = len(tokens)
        positions = torch.tensor(starts)
        slots = torch.arange(lo, lo + rows)
        kv_len = max(starts) + 1
        seen = (torch.arange(kv_len)[None, :] <= positions[:, None])[:, None, None, :]
        cos, sin = self.cos[positions][:, None, :], self.sin[positions][:, None, :]
        q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
        scale = self.head_dim**-0.5
        x = self.embed(torch.tensor(tokens))
        for i, (norm1, qkv, out, norm2, gate_up, down) in enumerate(self.layers):
            q, k, v = qkv(self._rms_norm(x, norm1)).split([q_size, kv_size, kv_size], dim=-1)
            q = self._rotate(q.view(rows, self.heads, self.head_dim), cos, sin)
            k = self._rotate(k.view(rows, self.kv_heads, self.head_dim), cos, sin)
            keys, values = self.cache.keys[i], self.cache.values[i]
            keys[slots, :, positions] = k
            values[slots, :, positions] = v.view(rows, self.kv_heads, self.head_dim)
            attended = decode_attention(
                q[:, :, None],
                keys[lo : lo + rows, :, :kv_len],
                values[lo : lo + rows, :, :kv_len],
                seen,
                scale,
            )
            assert attended is not None, "LlamaDecoder is only built where the kernel is"
            x = x + out(attended.reshape(rows, q_size))
            gate, up = gate_up(self._rms_norm(x, norm2)).split(
                [self.intermediate, self.intermediate], dim=-1
            )
            x = x + down(F.silu(gate) * up)
        return self.head(self._rms_norm(x, self.norm)).float()
