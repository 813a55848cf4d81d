"""The prefix cache over a real (tiny) slot cache: what it keeps of a prompt, what a later
prompt gets back, which entry goes first when the byte budget is spent, and that a slot
holding restored keys never depends on the entry it came from.

Every position of a slot holds values that name its token and layer, so a restore that
copies the wrong positions, the wrong entry or into the wrong slot is seen."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from modelmint.serving.core import PrefixCache
from modelmint.serving.core.prefix_cache import BLOCK
from modelmint.serving.models import SlotKVCache

LAYERS, HEAD_DIM = 2, 2
# keys and values of one 16-token block: layers x (keys, values) x positions x dims x 4 bytes
BLOCK_BYTES = LAYERS * 2 * BLOCK * HEAD_DIM * 4


def slot_cache(slots: int = 3) -> SlotKVCache:
    return SlotKVCache(
        layers=LAYERS, slots=slots, kv_heads=1, max_len=96, head_dim=HEAD_DIM, dtype=torch.float32
    )


def prefilled(cache: SlotKVCache, slot: int, tokens: Sequence[int]) -> None:
    """What prefilling ``tokens`` into ``slot`` leaves there, in a form a test can read back."""
    for layer in range(LAYERS):
        t = torch.tensor(list(tokens), dtype=torch.float32)
        cache.keys[layer][slot, 0, : len(tokens)] = (t * 10 + layer)[:, None]
        cache.values[layer][slot, 0, : len(tokens)] = -(t * 10 + layer)[:, None]


def holds(cache: SlotKVCache, slot: int, tokens: Sequence[int]) -> bool:
    """Whether ``slot`` starts with the keys and values of ``tokens``."""
    expected = slot_cache(1)
    prefilled(expected, 0, tokens)
    n = len(tokens)
    return all(
        torch.equal(mine[slot, :, :n], theirs[0, :, :n])
        for mine, theirs in zip(
            (*cache.keys, *cache.values), (*expected.keys, *expected.values), strict=True
        )
    )


def blocks(*firsts: int) -> list[int]:
    """Whole blocks of distinct tokens, one per ``first``: block i is first..first+15."""
    return [first + i for first in firsts for i in range(BLOCK)]


def kept(prefixes: PrefixCache, cache: SlotKVCache, tokens: list[int]) -> None:
    prefilled(cache, 0, tokens)
    prefixes.store(tokens, 0)


def test_only_whole_blocks_before_the_last_token_are_kept() -> None:
    cache = slot_cache()
    prefixes = PrefixCache(cache, 1 << 20)
    kept(prefixes, cache, blocks(100))  # 16 tokens: the last must go through the model
    assert prefixes.used == 0
    kept(prefixes, cache, [*blocks(100), 7])  # 17: one whole block
    assert prefixes.used == BLOCK_BYTES
    kept(prefixes, cache, [*blocks(100), 8, 9])  # the same block again: nothing new
    assert prefixes.used == BLOCK_BYTES


def test_a_later_prompt_gets_the_longest_cached_prefix_copied_into_its_slot() -> None:
    cache = slot_cache()
    prefixes = PrefixCache(cache, 1 << 20)
    kept(prefixes, cache, [*blocks(100, 200), 5])
    both = [*blocks(100, 200), 6, 7]
    assert prefixes.restore(both, 1) == 2 * BLOCK
    assert holds(cache, 1, blocks(100, 200))
    one = [*blocks(100, 300), 6]  # the second block differs
    assert prefixes.restore(one, 2) == BLOCK
    assert holds(cache, 2, blocks(100))
    assert prefixes.restore(blocks(200, 100), 2) == 0  # a block matches only at its place
    assert prefixes.restore(blocks(100, 200), 2) == BLOCK  # its last token is left to prefill
    assert (prefixes.hits, prefixes.reused_tokens) == (3, 4 * BLOCK)


def test_the_least_recently_used_entry_goes_first_when_the_budget_is_spent() -> None:
    cache = slot_cache()
    prefixes = PrefixCache(cache, 2 * BLOCK_BYTES)
    a, b, c = [*blocks(100), 1], [*blocks(200), 1], [*blocks(300), 1]
    kept(prefixes, cache, a)
    kept(prefixes, cache, b)
    assert prefixes.restore(a, 1) == BLOCK  # a is used again: b is now the oldest
    kept(prefixes, cache, c)
    assert prefixes.used == 2 * BLOCK_BYTES
    assert prefixes.restore(b, 2) == 0  # evicted: a miss
    assert prefixes.restore(a, 2) == BLOCK and holds(cache, 2, blocks(100))
    assert prefixes.restore(c, 2) == BLOCK and holds(cache, 2, blocks(300))


def test_without_reuse_the_oldest_entry_goes_first() -> None:
    cache = slot_cache()
    prefixes = PrefixCache(cache, 2 * BLOCK_BYTES)
    a, b, c = [*blocks(100), 1], [*blocks(200), 1], [*blocks(300), 1]
    for tokens in (a, b, c):
        kept(prefixes, cache, tokens)
    assert [prefixes.restore(t, 1) for t in (a, b, c)] == [0, BLOCK, BLOCK]


def test_a_long_entry_evicts_as_many_old_ones_as_it_needs_and_one_over_budget_none() -> None:
    cache = slot_cache()
    prefixes = PrefixCache(cache, 3 * BLOCK_BYTES)
    a, b, c = [*blocks(100), 1], [*blocks(200), 1], [*blocks(300), 1]
    for tokens in (a, b, c):
        kept(prefixes, cache, tokens)
    kept(prefixes, cache, [*blocks(400, 500, 600, 700), 1])  # 4 blocks: more than the budget
    assert prefixes.used == 3 * BLOCK_BYTES  # refused, and nothing was evicted for it
    assert [prefixes.restore(t, 1) for t in (a, b, c)] == [BLOCK, BLOCK, BLOCK]
    kept(prefixes, cache, [*blocks(400, 500), 1])  # 2 blocks: the two oldest make room
    assert prefixes.used == 3 * BLOCK_BYTES
    assert [prefixes.restore(t, 1) for t in (a, b, c)] == [0, 0, BLOCK]
    assert prefixes.restore([*blocks(400, 500), 2], 1) == 2 * BLOCK


def test_a_slot_restored_from_an_entry_keeps_its_keys_after_the_entry_is_evicted() -> None:
    # restoring copies: a running sequence shares nothing with the cache, so evicting an
    # entry it came from (there are no reference counts to hold it) cannot touch it
    cache = slot_cache()
    prefixes = PrefixCache(cache, BLOCK_BYTES)
    a = [*blocks(100), 1]
    kept(prefixes, cache, a)
    assert prefixes.restore(a, 1) == BLOCK
    prefilled(cache, 0, [*blocks(200), 1])
    prefixes.store([*blocks(200), 1], 0)  # evicts a
    assert prefixes.restore(a, 2) == 0
    assert holds(cache, 1, blocks(100))


def test_a_block_that_a_kept_entry_still_holds_is_found_after_another_entry_goes() -> None:
    cache = slot_cache()
    prefixes = PrefixCache(cache, 2 * 2 * BLOCK_BYTES)
    kept(prefixes, cache, [*blocks(100, 200), 1])  # first to name block 100
    kept(prefixes, cache, [*blocks(100, 300), 1])  # holds block 100 too
    kept(prefixes, cache, [*blocks(400, 500), 1])  # evicts the first entry
    assert prefixes.restore([*blocks(100, 300), 2], 1) == 2 * BLOCK  # still found in full
    assert prefixes.restore([*blocks(100, 600), 2], 1) == BLOCK  # block 100 alone: found
