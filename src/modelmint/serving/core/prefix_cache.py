"""Keys and values of prompt beginnings already computed, so a shared system prompt is
prefilled once rather than for every request.

Prompts are cut into blocks of ``BLOCK`` tokens; each block's key chains the hash of every
block before it, so a key names a whole prefix. After a prompt is prefilled, its whole
blocks (all but the last token, which must go through the model to give logits) are
copied out of its slot; a later prompt starting with the same blocks copies them into its
own slot and prefills only the rest. Least recently used entries go first when the byte
budget is spent."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

import torch

from modelmint.serving.models.kv_cache import SlotKVCache

BLOCK = 16


def block_keys(tokens: Sequence[int], usable: int) -> list[int]:
    """Key of each prefix of whole blocks within the first ``usable`` tokens."""
    keys: list[int] = []
    key = 0
    for end in range(BLOCK, usable + 1, BLOCK):
        key = hash((key, tuple(tokens[end - BLOCK : end])))
        keys.append(key)
    return keys


@dataclass
class _Entry:
    keys: list[torch.Tensor]  # per layer [kv_heads, length, head_dim]
    values: list[torch.Tensor]
    length: int
    block_keys: list[int]

    @property
    def nbytes(self) -> int:
        return sum(t.numel() * t.element_size() for t in (*self.keys, *self.values))


class PrefixCache:
    def __init__(self, cache: SlotKVCache, budget_bytes: int) -> None:
        self.cache, self.budget = cache, budget_bytes
        self._entries: OrderedDict[int, _Entry] = OrderedDict()  # by the entry's last key
        self._by_key: dict[int, tuple[int, int]] = {}  # block key -> (entry, prefix length)
        self.used = 0
        self.hits = self.reused_tokens = 0

    def restore(self, tokens: Sequence[int], slot: int) -> int:
        """Copies the longest cached prefix of ``tokens`` into ``slot``; returns its length."""
        best: tuple[int, int] | None = None
        # Keys chain, so the deepest key found names the longest cached prefix.
        for key in block_keys(tokens, len(tokens) - 1):
            best = self._by_key.get(key, best)
        if best is None:
            return 0
        entry_key, length = best
        entry = self._entries[entry_key]
        self._entries.move_to_end(entry_key)
        for layer, (k, v) in enumerate(zip(entry.keys, entry.values, strict=True)):
            self.cache.keys[layer][slot, :, :length] = k[:, :length]
            self.cache.values[layer][slot, :, :length] = v[:, :length]
        self.hits += 1
        self.reused_tokens += length
        return length

    def store(self, tokens: Sequence[int], slot: int) -> None:
        """Keeps the whole blocks of a just-prefilled prompt (unless already kept)."""
        keys = block_keys(tokens, len(tokens) - 1)
        if not keys or keys[-1] in self._by_key:
            return
        length = len(keys) * BLOCK
        entry = _Entry(
            [k[slot, :, :length].clone() for k in self.cache.keys],
            [v[slot, :, :length].clone() for v in self.cache.values],
            length,
            keys,
        )
        if entry.nbytes > self.budget:
            return
        while self.used + entry.nbytes > self.budget:
            self._evict_oldest()
        self._entries[keys[-1]] = entry
        self.used += entry.nbytes
        for i, key in enumerate(keys):
            self._by_key.setdefault(key, (keys[-1], (i + 1) * BLOCK))

    def _evict_oldest(self) -> None:
        last_key, entry = self._entries.popitem(last=False)
        self.used -= entry.nbytes
        for i, key in enumerate(entry.block_keys):
            if self._by_key.get(key, (None, 0))[0] != last_key:
                continue
            # A kept entry that starts with the same blocks names them from now on; keys
            # chain, so the same key at the same place means the same prefix.
            heir = next(
                (k for k, e in self._entries.items() if key in e.block_keys[i : i + 1]), None
            )
            if heir is None:
                del self._by_key[key]
            else:
                self._by_key[key] = (heir, (i + 1) * BLOCK)
