"""Keys and values of every running sequence, in tensors allocated once.

Each layer holds ``[slots, kv_heads, max_len, head_dim]`` for keys and for values; a
sequence owns one slot for its whole life. The scheduler keeps the running sequences in
slots ``0..n-1`` without gaps, so a decoding step attends over the plain view
``cache[:n, :, :longest]``: nothing is gathered or concatenated per step (a growing
``DynamicCache`` copies its whole past on every token).

The model's attention layers call :meth:`SlotKVCache.update` as they would a Hugging Face
``Cache``; :meth:`bind` first says which slots and positions this forward pass writes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch


class SlotKVCache:
    def __init__(
        self,
        *,
        layers: int,
        slots: int,
        kv_heads: int,
        max_len: int,
        head_dim: int,
        dtype: torch.dtype,
    ) -> None:
        shape = (slots, kv_heads, max_len, head_dim)
        self.keys = [torch.zeros(shape, dtype=dtype) for _ in range(layers)]
        self.values = [torch.zeros(shape, dtype=dtype) for _ in range(layers)]
        self.slots, self.max_len = slots, max_len
        self._lo, self._starts, self._lengths, self._kv_len = 0, [0], [0], 0
        self._decode_index: tuple[torch.Tensor, torch.Tensor] | None = None

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))

    def bind(self, lo: int, starts: Sequence[int], lengths: Sequence[int]) -> int:
        """The next forward pass covers slots ``lo..lo+len(starts)-1``; row ``b`` writes
        ``lengths[b]`` new positions from ``starts[b]``. Returns the key length attended."""
        self._lo, self._starts, self._lengths = lo, list(starts), list(lengths)
        self._kv_len = max(s + n for s, n in zip(starts, lengths, strict=True))
        if self._kv_len > self.max_len:
            raise ValueError(
                f"sequence of {self._kv_len} tokens exceeds the cache's {self.max_len}"
            )
        self._decode_index = None
        if all(n == 1 for n in lengths):
            rows = torch.arange(lo, lo + len(starts))
            self._decode_index = (rows, torch.tensor(self._starts))
        return self._kv_len

    def update(
        self, key: torch.Tensor, value: torch.Tensor, layer_idx: int, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Stores this pass's keys and values ``[rows, kv_heads, n, head_dim]`` and returns
        the rows' whole past, padding past each row's end included (the mask hides it)."""
        keys, values = self.keys[layer_idx], self.values[layer_idx]
        lo, hi = self._lo, self._lo + len(self._starts)
        if self._decode_index is not None:
            rows, positions = self._decode_index
            keys[rows, :, positions] = key[:, :, 0].to(keys.dtype)
            values[rows, :, positions] = value[:, :, 0].to(values.dtype)
        else:
            for b, (start, n) in enumerate(zip(self._starts, self._lengths, strict=True)):
                keys[lo + b, :, start : start + n] = key[b, :, :n]
                values[lo + b, :, start : start + n] = value[b, :, :n]
        return keys[lo:hi, :, : self._kv_len], values[lo:hi, :, : self._kv_len]

    def copy_slot(self, src: int, dst: int, length: int) -> None:
        """Copies a sequence's first ``length`` positions to another slot: to close the gap a
        finished sequence left, or to start ``n`` choices from one prefilled prompt."""
        for t in (*self.keys, *self.values):
            t[dst, :, :length] = t[src, :, :length]
