"""Runs the model over a batch of sequences of different lengths, each at its own position.

One call covers a contiguous range of cache slots. Each row brings new tokens (a chunk of
its prompt when reading one, one token when decoding) and where they start; the decoding
rows come first. The families :mod:`decoder_step` covers run as one packed step. Any
other Hugging Face decoder that stores its past through the ``Cache.update`` call runs
through its own layers: rows padded to the longest, and a 4D mask that lets each token see
its own row's past and nothing else (only the last ``sliding_window`` of it in a sliding
layer, as the Hugging Face masks do); only the cache and the masks are ours there."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers import PreTrainedModel

from modelmint.serving.kernels.decode_attention import NAME, use_decode_attention
from modelmint.serving.kernels.int8_linear import use_weight_only_int8
from modelmint.serving.kernels.packed_linear import pack_linears
from modelmint.serving.models.decoder_step import DecoderStep, layer_windows, supports
from modelmint.serving.models.kv_cache import SlotKVCache


@dataclass(frozen=True)
class RowInput:
    tokens: Sequence[int]
    start: int  # position of tokens[0]: how much of the sequence is already in the cache


# Slots when none are asked for: up to MOST_SLOTS whose keys and values fit in the memory
# budget. The cache is allocated whole, for the served context of every slot, so a
# long-context model would get few slots (a 0.5B model with a 32,768-token context: 14 in
# float32 in 11 GB). Unless a context is asked for, it is therefore shortened until
# MOST_SLOTS fit, but never below AUTO_CONTEXT_FLOOR tokens: most requests are far shorter
# than a long-context model's limit, and a request past the served context is refused
# with the limit in its error.
MOST_SLOTS = 64
AUTO_CONTEXT_FLOOR = 8192
FALLBACK_KV_BYTES = 4 << 30  # where the available memory cannot be read


def kv_budget() -> int:
    """Half the memory available now: the cache's share, leaving the rest to the weights,
    the server and everything else on the machine."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024 // 2
    except OSError:
        pass
    return FALLBACK_KV_BYTES


def cache_shape(config: Any, max_len: int | None = None) -> dict[str, int]:
    """The per-layer geometry of a model's keys and values, for ``max_len`` positions
    (default: the model's whole context)."""
    heads = int(config.num_attention_heads)
    return {
        "layers": int(config.num_hidden_layers),
        "kv_heads": int(getattr(config, "num_key_value_heads", None) or heads),
        "max_len": int(max_len or config.max_position_embeddings),
        "head_dim": int(getattr(config, "head_dim", None) or config.hidden_size // heads),
    }


def _slot_bytes(config: Any, dtype: torch.dtype, context: int) -> int:
    shape = cache_shape(config, context)
    return 2 * dtype.itemsize * shape["layers"] * shape["kv_heads"] * context * shape["head_dim"]


def serving_shape(
    config: Any,
    dtype: torch.dtype,
    budget: int,
    slots: int | None = None,
    max_context: int | None = None,
) -> tuple[int, int]:
    """(slots, context) of the cache, its keys and values in ``dtype``: ``slots`` and
    ``max_context`` where asked for (the context never past the model's); else up to
    MOST_SLOTS that fit in ``budget`` bytes (at least one), at the model's context or, when
    that leaves fewer than MOST_SLOTS, a shorter one (see :data:`AUTO_CONTEXT_FLOOR`)."""
    model_context = int(config.max_position_embeddings)
    context = min(model_context, max_context or model_context)
    if slots:
        return slots, context
    fits = budget // _slot_bytes(config, dtype, context)
    if fits < MOST_SLOTS and max_context is None and context > AUTO_CONTEXT_FLOOR:
        per_position = _slot_bytes(config, dtype, 1)
        context = max(AUTO_CONTEXT_FLOOR, budget // (MOST_SLOTS * per_position))
        fits = budget // _slot_bytes(config, dtype, context)
    return max(1, min(MOST_SLOTS, fits)), context


class KVDtypeUnsupported(ValueError):
    """A cache dtype other than the model's, for a model that runs through its own layers."""


class ModelRunner:
    def __init__(
        self,
        model: PreTrainedModel,
        *,
        slots: int,
        dtype: torch.dtype,
        kv_dtype: torch.dtype | None = None,
        context_length: int | None = None,
    ) -> None:
        """``kv_dtype``: the cache's (default: the model's). bfloat16 beside a float32 model
        halves the bytes a step reads from the cache; only the written-out step takes it.
        ``context_length``: the most positions a sequence may reach (default, and at most:
        the model's)."""
        config = model.config
        use_weight_only_int8(model)
        self.model = model.eval()
        self.dtype = dtype
        self.kv_dtype = kv_dtype or dtype
        self.vocab_size = int(config.vocab_size)
        self.context_length = min(
            int(config.max_position_embeddings),
            context_length or int(config.max_position_embeddings),
        )
        if self.kv_dtype != dtype and not supports(model):
            raise KVDtypeUnsupported(
                f"a {self.kv_dtype} cache beside {dtype} weights needs a model family the "
                f"written-out step covers ({getattr(config, 'model_type', '?')} is not one): "
                "serve this model with the cache in its own dtype"
            )
        self.cache = SlotKVCache(
            slots=slots, dtype=self.kv_dtype, **cache_shape(config, self.context_length)
        )
        self.windows = layer_windows(config)
        # transformers takes one mask per layer type where a config lists them.
        self.per_layer_type = getattr(config, "layer_types", None) is not None
        self.final_softcap: float | None = getattr(config, "final_logit_softcapping", None)
        use_decode_attention(model)
        # Eager attention adds its mask to the scores: it takes 0 and -inf, not booleans.
        self.bool_masks = config._attn_implementation in ("sdpa", NAME)
        # Decoding steps of the families it covers skip the Hugging Face layers; built from
        # the plain weights, so before those are packed.
        self.decoder = DecoderStep(model, self.cache) if supports(model) else None
        pack_linears(model)
        self.body = model.base_model
        head = model.get_output_embeddings()
        assert head is not None, "a causal LM has an output layer"
        self.head = head

    @property
    def slots(self) -> int:
        return self.cache.slots

    @torch.inference_mode()
    def forward(
        self, lo: int, rows: Sequence[RowInput], wanted: Sequence[int] | None = None
    ) -> torch.Tensor:
        """Logits (float32, ``[len(wanted), vocab]``) after the last new token of each row
        in ``wanted`` (default: every row). Rows that decode (one token each) come first;
        rows that read a chunk of their prompt follow."""
        lengths = [len(r.tokens) for r in rows]
        starts = [r.start for r in rows]
        self.cache.bind(lo, starts, lengths)  # checks the context
        picked = list(range(len(rows))) if wanted is None else list(wanted)
        if self.decoder is not None:
            return self.decoder.forward(lo, [r.tokens for r in rows], starts, picked)
        # The model's own layers pad every row to the longest: the one-token rows go alone.
        decoding = next((b for b, n in enumerate(lengths) if n > 1), len(rows))
        if 0 < decoding < len(rows):
            first = [b for b in picked if b < decoding]
            rest = [b - decoding for b in picked if b >= decoding]
            return torch.cat(
                [
                    self.forward(lo, rows[:decoding], first),
                    self.forward(lo + decoding, rows[decoding:], rest),
                ]
            )
        return self._through_layers(lo, rows)[picked]

    def _through_layers(self, lo: int, rows: Sequence[RowInput]) -> torch.Tensor:
        lengths = [len(r.tokens) for r in rows]
        starts = [r.start for r in rows]
        kv_len = self.cache.bind(lo, starts, lengths)
        n = max(lengths)
        ids = torch.zeros((len(rows), n), dtype=torch.long)
        for b, r in enumerate(rows):
            ids[b, : len(r.tokens)] = torch.as_tensor(list(r.tokens), dtype=torch.long)
        offsets = torch.arange(n)
        start_t = torch.tensor(starts)[:, None]
        positions = (start_t + offsets).clamp_(max=self.context_length - 1)
        # Row b's token i sees keys at or before its own position, within the row's length.
        keys = torch.arange(kv_len)
        ends = start_t + torch.tensor(lengths)[:, None]
        mask = (keys[None, None, :] <= positions[:, :, None]) & (
            keys[None, None, :] < ends[:, :, None]
        )
        real = offsets[None, :] < torch.tensor(lengths)[:, None]
        hidden = self.body(
            input_ids=ids,
            position_ids=positions,
            attention_mask=self._layer_masks(mask, positions, real),
            past_key_values=self.cache,
            use_cache=True,
        ).last_hidden_state
        last = hidden[torch.arange(len(rows)), torch.tensor(lengths) - 1]
        logits = self.head(last)
        if self.final_softcap is not None:  # Gemma's, which its LM class applies after the head
            logits = torch.tanh(logits / self.final_softcap) * self.final_softcap
        return logits.float()

    def _layer_masks(
        self, mask: torch.Tensor, positions: torch.Tensor, real: torch.Tensor
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        """The causal ``mask`` ``[rows, n, keys]`` as the model's layers take it: one 4D mask,
        or one per layer type; a sliding layer's sees only the last ``sliding_window`` keys.
        A padding token keeps its whole row, so that no query is left with nothing to see."""
        masks = {"full_attention": mask, "sliding_attention": mask}
        window = next((w for w in self.windows if w is not None), None)
        if window is not None:
            keys = torch.arange(mask.shape[-1])
            recent = keys[None, None, :] > positions[:, :, None] - window
            masks["sliding_attention"] = mask & (recent | ~real[:, :, None])
        if not self.bool_masks:
            low = torch.finfo(self.dtype).min
            masks = {t: torch.where(m, 0.0, low).to(self.dtype) for t, m in masks.items()}
        masks = {t: m[:, None] for t, m in masks.items()}
        if self.per_layer_type:
            return masks
        return masks["full_attention" if window is None else "sliding_attention"]

    @torch.inference_mode()
    def prompt_logprobs(self, ids: Sequence[int]) -> torch.Tensor:
        """Log-softmax after every token of one sequence (``[len(ids), vocab]``), without
        touching the cache: scoring a prompt is not generating from it."""
        x = torch.as_tensor([list(ids)], dtype=torch.long)
        logits = self.model(input_ids=x, use_cache=False).logits[0].float()
        return torch.log_softmax(logits, dim=-1)

    def copy_slot(self, src: int, dst: int, length: int) -> None:
        self.cache.copy_slot(src, dst, length)
