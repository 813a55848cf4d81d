"""A step of the open-weight decoder families, written out: what vLLM does with its own
model code.

The Hugging Face layers spend a step's time on ~40 small tensor operations and a dozen
Python calls per layer around the matrix products that matter. Here a layer is one fused
query-key-value product, rotary embedding from a table, the cache write, attention, the
output product, and one fused gate-up product: the same arithmetic in the same order, so
the logits are those of the Hugging Face layers (the tests hold them within 1e-5 in
float32). What it saves per step, with 1 and 16 rows, is in docs/benchmarks.md, "One
decoding step".

A step is packed, not padded: the rows that decode (one token each) and the chunks of
prompts being read go through every product together as one ``[tokens, hidden]``
matrix, so a step reads the weights once for both, and a prompt costs no padding. Only
attention is per kind: the decoding rows take the C kernel, each chunk a causal SDPA over
its own slot's keys (vLLM's chunked prefill, in the same spirit).

One step serves Llama (3.x rope scaling, SmolLM), Mistral, Qwen2, Qwen3, Gemma 2 and
Gemma 3 text; where they differ from Llama it is a switch, read from the config and from
which modules a layer has (:class:`Family`), not a copy of the step: biases on the
projections (Qwen2), RMSNorm on each head's queries and keys before rotary (Qwen3, Gemma 3),
Gemma's ``x * (1 + w)`` norms around both attention and MLP, soft-capped attention scores
and logits (Gemma 2), its own attention scale, and layers that see only the last
``sliding_window`` keys (Mistral, Gemma's sliding layers), each layer with its rotary table.

Only configurations this file covers come here (:func:`supports`): static rotary scaling,
causal attention. Scoring and every other model keep the Hugging Face layers. The fused
query-key-value and gate-up weights are packed copies beside the model's own, so a float
model served this way holds those weights twice (the output, down and vocabulary products
are shared). Int8 layers (:mod:`int8_linear`) are stacked too, and the model's own layers
then read their rows of the stack, so int8 weights are held once."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from modelmint.modeling.families import FAMILY_BY_MODEL_TYPE, family_of
from modelmint.serving.kernels.decode_attention import attend_decoding, attention_in_torch
from modelmint.serving.kernels.int8_linear import Int8Linear
from modelmint.serving.kernels.packed_linear import PackedLinear, packable
from modelmint.serving.kernels.step_ops import StepOps, step_ops
from modelmint.serving.models.kv_cache import SlotKVCache

STATIC_ROPE = {None, "default", "linear", "llama3"}  # baked into inv_freq by transformers
LAYER_TYPES = {"full_attention", "sliding_attention"}


def _rope_parameters(config: Any) -> list[dict[str, Any]]:
    """One set per rotary table: Gemma 3 keeps one per layer type."""
    rope = getattr(config, "rope_parameters", None) or getattr(config, "rope_scaling", None)
    if rope and all(isinstance(v, dict) for v in rope.values()):
        return [rope.get(t) or {} for t in set(config.layer_types)]
    return [rope or {}]


def layer_windows(config: Any) -> list[int | None]:
    """Per layer, how many of the last keys a query sees (None: all), as the Hugging Face
    masks decide it: by ``layer_types`` where the config has them, else the config's
    ``sliding_window`` for every layer (Mistral)."""
    window = getattr(config, "sliding_window", None)
    types = getattr(config, "layer_types", None)
    if types is None:
        return [window] * int(config.num_hidden_layers)
    return [window if t == "sliding_attention" else None for t in types]


def supports(model: Any) -> bool:
    """Whether :class:`DecoderStep` computes what this model's layers do; where not, its
    decoding steps keep those layers."""
    config = model.config
    return (
        family_of(getattr(config, "model_type", None)) is not None
        and getattr(model, "model", None) is not None
        and getattr(config, "pretraining_tp", 1) == 1
        and not getattr(config, "use_bidirectional_attention", False)
        and set(getattr(config, "layer_types", None) or LAYER_TYPES) <= LAYER_TYPES
        and all(p.get("rope_type") in STATIC_ROPE for p in _rope_parameters(config))
    )


Projection = Callable[[torch.Tensor], torch.Tensor]


def _joined(*modules: nn.Module) -> Projection:
    """One product for several projections of the same input: their weights (and biases)
    stacked, and packed when all are plain ``nn.Linear``; otherwise each module's own,
    concatenated."""
    if all(isinstance(m, Int8Linear) for m in modules):
        return Int8Linear.stacked([m for m in modules if isinstance(m, Int8Linear)])
    linears = [m for m in modules if type(m) is nn.Linear]
    if len(linears) < len(modules) or not packable(linears[0].weight.dtype):
        return lambda x: torch.cat([m(x) for m in modules], dim=-1)
    weight = torch.cat([m.weight.detach() for m in linears])
    stacked = nn.Linear(weight.shape[1], weight.shape[0], bias=False, dtype=weight.dtype)
    stacked.weight.data = weight
    if any(m.bias is not None for m in linears):
        stacked.bias = nn.Parameter(
            torch.cat(
                [
                    m.bias.detach() if m.bias is not None else m.weight.new_zeros(m.out_features)
                    for m in linears
                ]
            )
        )
    return PackedLinear(stacked)


def _shared(module: nn.Module) -> nn.Module:
    """A projection used alone: packed once, and the model's own module becomes it."""
    if type(module) is nn.Linear and packable(module.weight.dtype):
        return PackedLinear(module)
    return module


def _norm_weight(norm: Any, gemma: bool) -> torch.Tensor:
    weight: torch.Tensor = norm.weight.detach()
    # Gemma's (1 + w) in float32, added once here where its forward adds it on every call.
    return 1.0 + weight.float() if gemma else weight


@dataclass
class _Layer:
    attention_norm: torch.Tensor
    qkv: Projection
    q_norm: torch.Tensor | None
    k_norm: torch.Tensor | None
    out: nn.Module
    after_attention_norm: torch.Tensor | None  # Gemma
    mlp_norm: torch.Tensor
    gate_up: Projection
    act: nn.Module
    down: nn.Module
    after_mlp_norm: torch.Tensor | None  # Gemma
    rotary: str  # which table
    window: int | None
    scale: float


class DecoderStep:
    """Built from the model before its own linear layers are packed."""

    def __init__(self, model: Any, cache: SlotKVCache) -> None:
        config = model.config
        family = FAMILY_BY_MODEL_TYPE[config.model_type].layers
        self.cache = cache
        self.heads = int(config.num_attention_heads)
        self.kv_heads = int(config.num_key_value_heads or self.heads)
        self.head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // self.heads)
        self.gemma = family.gemma_norms
        dtype = model.model.norm.weight.dtype
        self.ops: StepOps = step_ops(
            float(config.rms_norm_eps), self.gemma, dtype, cache.keys[0].dtype
        )
        self.softcap = (
            getattr(config, "attn_logit_softcapping", None) if family.attention_softcap else None
        )
        self.final_softcap: float | None = getattr(config, "final_logit_softcapping", None)
        self.embed = model.model.embed_tokens  # Gemma's scales by sqrt(hidden) itself
        types = getattr(config, "layer_types", None) or ["default"] * len(model.model.layers)
        self.layers = [
            self._layer(layer, layer_type, window)
            for layer, layer_type, window in zip(
                model.model.layers, types, layer_windows(config), strict=True
            )
        ]
        self.norm = self._weight(model.model.norm)
        self.head = _shared(model.get_output_embeddings())
        model.set_output_embeddings(self.head)
        self.rotary = {
            t: self.ops.table(*self._rotary_table(model.model.rotary_emb, t, cache.max_len, dtype))
            for t in {layer.rotary for layer in self.layers}
        }
        self.windows = {layer.window for layer in self.layers}

    def _layer(self, layer: Any, layer_type: str, window: int | None) -> _Layer:
        attention, mlp = layer.self_attn, layer.mlp
        attention.o_proj, mlp.down_proj = _shared(attention.o_proj), _shared(mlp.down_proj)
        q_norm, k_norm = getattr(attention, "q_norm", None), getattr(attention, "k_norm", None)
        # Llama's post_attention_layernorm is the MLP's input norm; Gemma's normalizes the
        # attention's output, and the MLP has a norm on each side.
        gemma = self.gemma
        return _Layer(
            attention_norm=self._weight(layer.input_layernorm),
            qkv=_joined(attention.q_proj, attention.k_proj, attention.v_proj),
            q_norm=None if q_norm is None else self._weight(q_norm),
            k_norm=None if k_norm is None else self._weight(k_norm),
            out=attention.o_proj,
            after_attention_norm=self._weight(layer.post_attention_layernorm) if gemma else None,
            mlp_norm=self._weight(
                layer.pre_feedforward_layernorm if gemma else layer.post_attention_layernorm
            ),
            gate_up=_joined(mlp.gate_proj, mlp.up_proj),
            act=mlp.act_fn,
            down=mlp.down_proj,
            after_mlp_norm=self._weight(layer.post_feedforward_layernorm) if gemma else None,
            rotary=layer_type,
            window=window,
            scale=float(attention.scaling),
        )

    def _weight(self, norm: Any) -> torch.Tensor:
        return self.ops.weight(_norm_weight(norm, self.gemma))

    @staticmethod
    def _rotary_table(
        rotary: Any, layer_type: str, length: int, dtype: torch.dtype
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """cos and sin for every position, as the model's rotary embedding computes them:
        float32 angles, scaled, then the model dtype. Gemma 3 has one table per layer type."""
        prefix = f"{layer_type}_" if hasattr(rotary, f"{layer_type}_inv_freq") else ""
        inv_freq: torch.Tensor = getattr(rotary, f"{prefix}inv_freq")
        scaling: float = getattr(rotary, f"{prefix}attention_scaling")
        angles = torch.arange(length).float()[:, None] * inv_freq.float()[None, :]
        table = torch.cat([angles, angles], dim=-1)
        return (table.cos() * scaling).to(dtype), (table.sin() * scaling).to(dtype)

    @staticmethod
    def _softcap(x: torch.Tensor, cap: float) -> torch.Tensor:
        return torch.tanh(x / cap) * cap

    @torch.inference_mode()
    def forward(
        self,
        lo: int,
        tokens: Sequence[Sequence[int]],
        starts: Sequence[int],
        wanted: Sequence[int],
    ) -> torch.Tensor:
        """Logits (float32 ``[len(wanted), vocab]``) after the last token of each row in
        ``wanted``. Row ``b`` is slot ``lo + b`` and brings ``tokens[b]`` from position
        ``starts[b]``: one token when it decodes, a chunk of its prompt when it reads one.
        All rows' tokens go through each product together, so a step reads the weights
        once for both kinds of work; only attention is per kind: the leading one-token rows
        take the decoding kernel, each longer row a causal SDPA over its own slot."""
        lengths = [len(t) for t in tokens]
        decoding = 0
        while decoding < len(lengths) and lengths[decoding] == 1:
            decoding += 1
        if decoding == len(lengths):
            flat = [t[0] for t in tokens]
            positions = torch.tensor(starts)
            slots = torch.arange(lo, lo + decoding)
        else:
            flat = [t for row in tokens for t in row]
            positions = torch.cat(
                [torch.arange(s, s + n) for s, n in zip(starts, lengths, strict=True)]
            )
            slots = torch.arange(lo, lo + len(lengths)).repeat_interleave(torch.tensor(lengths))
        count = len(flat)
        decode_seen = self._decode_masks(positions[:decoding]) if decoding else {}
        chunks = [
            (lo + b, sum(lengths[:b]), lengths[b], starts[b], self._chunk_masks(starts[b], n))
            for b, n in enumerate(lengths)
            if b >= decoding
        ]
        ops = self.ops
        rotary = {t: ops.at(table, positions) for t, table in self.rotary.items()}
        q_size, kv_size = self.heads * self.head_dim, self.kv_heads * self.head_dim
        x, h = self.embed(torch.tensor(flat)), None
        for i, layer in enumerate(self.layers):
            x, normed = ops.add_norm(x, h, layer.attention_norm)
            q, k, v = layer.qkv(normed).split([q_size, kv_size, kv_size], dim=-1)
            q = q.view(count, self.heads, self.head_dim)
            k = k.view(count, self.kv_heads, self.head_dim)
            if layer.q_norm is not None and layer.k_norm is not None:
                q, k = ops.norm(q, layer.q_norm), ops.norm(k, layer.k_norm)
            keys, values = self.cache.keys[i], self.cache.values[i]
            q = ops.rotate_store(
                q,
                k,
                v.view(count, self.kv_heads, self.head_dim),
                rotary[layer.rotary],
                positions,
                slots,
                keys,
                values,
            )
            parts = []
            if decoding:
                seen, kv_len = decode_seen[layer.window]
                attended = attend_decoding(
                    q[:decoding, :, None],
                    keys[lo : lo + decoding, :, :kv_len],
                    values[lo : lo + decoding, :, :kv_len],
                    seen,
                    layer.scale,
                    self.softcap,
                )
                parts.append(attended.reshape(decoding, q_size))
            for slot, offset, n, start, masks in chunks:
                attended = attention_in_torch(
                    q[offset : offset + n].transpose(0, 1)[None],
                    keys[slot : slot + 1, :, : start + n],
                    values[slot : slot + 1, :, : start + n],
                    masks[layer.window],
                    layer.scale,
                    self.softcap,
                )
                parts.append(attended.reshape(n, q_size))
            h = layer.out(parts[0] if len(parts) == 1 else torch.cat(parts))
            if layer.after_attention_norm is not None:
                h = ops.norm(h, layer.after_attention_norm)
            x, normed = ops.add_norm(x, h, layer.mlp_norm)
            h = layer.down(ops.act_mul(layer.gate_up(normed), layer.act))
            if layer.after_mlp_norm is not None:
                h = ops.norm(h, layer.after_mlp_norm)
        x, normed = ops.add_norm(x, h, self.norm)
        if len(wanted) < count:
            ends = torch.tensor(lengths).cumsum(0) - 1
            normed = normed[ends[torch.tensor(list(wanted), dtype=torch.long)]]
        logits = self.head(normed)
        if self.final_softcap is not None:
            logits = self._softcap(logits, self.final_softcap)
        return logits.float()

    def _decode_masks(self, positions: torch.Tensor) -> dict[int | None, tuple[torch.Tensor, int]]:
        """Per window: which cached keys each decoding row's one query sees
        (``[rows, 1, 1, keys]``), and how many keys that covers."""
        kv_len = int(positions.max()) + 1
        keys_at, newest = torch.arange(kv_len)[None, :], positions[:, None]
        return {
            w: (
                ((keys_at <= newest) & (keys_at > newest - (w or kv_len)))[:, None, None, :],
                kv_len,
            )
            for w in self.windows
        }

    def _chunk_masks(self, start: int, n: int) -> dict[int | None, torch.Tensor]:
        """Per window: which of its slot's keys ``0..start+n-1`` each of a chunk's queries
        sees (``[1, 1, n, keys]``): its own past, causally, within the window."""
        keys_at = torch.arange(start + n)[None, :]
        query_at = torch.arange(start, start + n)[:, None]
        causal = keys_at <= query_at
        return {
            w: (causal if w is None else causal & (keys_at > query_at - w))[None, None]
            for w in self.windows
        }
