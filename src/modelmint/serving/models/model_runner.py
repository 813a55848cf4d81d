"""Runs the model over a batch of sequences of different lengths, each at its own position.

One call covers a contiguous range of cache slots. Each row brings new tokens (a whole
prompt when prefilling, one token when decoding) and where they start; rows are padded to
the longest, and a 4D mask lets each token see its own row's past and nothing else. The
model's own layers do the work (any Hugging Face decoder that stores its past through the
``Cache.update`` call: Llama, Mistral, Qwen2, …); only the cache and the mask are ours."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedModel

from modelmint.serving.kernels.decode_attention import use_decode_attention
from modelmint.serving.kernels.packed_linear import pack_linears
from modelmint.serving.models.kv_cache import SlotKVCache
from modelmint.serving.models.llama_decode import LlamaDecoder, supports


@dataclass(frozen=True)
class RowInput:
    tokens: Sequence[int]
    start: int  # position of tokens[0]: how much of the sequence is already in the cache


class ModelRunner:
    def __init__(self, model: PreTrainedModel, *, slots: int, dtype: torch.dtype) -> None:
        config = model.config
        self.model = model.eval()
        self.dtype = dtype
        self.vocab_size = int(config.vocab_size)
        self.context_length = int(config.max_position_embeddings)
        heads = int(config.num_attention_heads)
        head_dim = int(getattr(config, "head_dim", None) or config.hidden_size // heads)
        self.cache = SlotKVCache(
            layers=int(config.num_hidden_layers),
            slots=slots,
            kv_heads=int(getattr(config, "num_key_value_heads", None) or heads),
            max_len=self.context_length,
            head_dim=head_dim,
            dtype=dtype,
        )
        # Decoding steps of a plain Llama skip the Hugging Face layers; built from the
        # plain weights, so before those are packed.
        kernel = use_decode_attention(model)
        self.decoder = LlamaDecoder(model, self.cache) if kernel and supports(model) else None
        pack_linears(model)
        self.body = model.base_model
        head = model.get_output_embeddings()
        assert head is not None, "a causal LM has an output layer"
        self.head = head

    @property
    def slots(self) -> int:
        return self.cache.slots

    @torch.inference_mode()
    def forward(self, lo: int, rows: Sequence[RowInput]) -> torch.Tensor:
        """Logits (float32, ``[rows, vocab]``) after each row's last new token."""
        lengths = [len(r.tokens) for r in rows]
        starts = [r.start for r in rows]
        kv_len = self.cache.bind(lo, starts, lengths)
        if self.decoder is not None and max(lengths) == 1:
            return self.decoder.decode(lo, [r.tokens[0] for r in rows], starts)
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
        hidden = self.body(
            input_ids=ids,
            position_ids=positions,
            attention_mask=mask[:, None],
            past_key_values=self.cache,
            use_cache=True,
        ).last_hidden_state
        last = hidden[torch.arange(len(rows)), torch.tensor(lengths) - 1]
        return self.head(last).float()

    @torch.inference_mode()
    def prompt_logprobs(self, ids: Sequence[int]) -> torch.Tensor:
        """Log-softmax after every token of one sequence (``[len(ids), vocab]``), without
        touching the cache: scoring a prompt is not generating from it."""
        x = torch.as_tensor([list(ids)], dtype=torch.long)
        logits = self.model(input_ids=x, use_cache=False).logits[0].float()
        return torch.log_softmax(logits, dim=-1)

    def copy_slot(self, src: int, dst: int, length: int) -> None:
        self.cache.copy_slot(src, dst, length)
