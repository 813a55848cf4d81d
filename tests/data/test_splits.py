"""Tests for splits (modelmint.data.splits): exact stratified cuts found in bounded memory."""

from __future__ import annotations

import hashlib
from collections import Counter

import numpy as np
import pytest

from modelmint.data.splits import (
    NGramIndex,
    SplitConfig,
    assign_splits,
    plan_splits,
    split_hash,
)


def full_sort_reference(keys: list[tuple[bytes, str]], config: SplitConfig) -> list[str]:
    """The definition: within each stratum, sort by split hash; the first fractions go to
    validation and then test."""
    out = ["train"] * len(keys)
    by: dict[str, list[int]] = {}
    for i, (_, s) in enumerate(keys):
        by.setdefault(s, []).append(i)
    for members in by.values():
        members.sort(key=lambda i: split_hash(keys[i][0], config.seed))
        n_val, n_test = round(len(members) * config.validation), round(len(members) * config.test)
        for i in members[:n_val]:
            out[i] = "validation"
        for i in members[n_val : n_val + n_test]:
            out[i] = "test"
    return out


def make_keys(n: int, strata: dict[str, float]) -> list[tuple[bytes, str]]:
    names, weights = list(strata), list(strata.values())
    rng = np.random.default_rng(0)
    picks = rng.choice(len(names), size=n, p=weights)
    return [
        (hashlib.blake2b(str(i).encode(), digest_size=16).digest(), names[p])
        for i, p in enumerate(picks.tolist())
    ]


@pytest.mark.parametrize("config", [SplitConfig(), SplitConfig(validation=0.1, test=0.2, seed=3)])
def test_cuts_equal_a_full_sort(config: SplitConfig) -> None:
    keys = make_keys(50_000, {"a": 0.7, "b": 0.2, "c": 0.0999, "tiny": 0.0001})
    got = assign_splits(keys, config)
    assert got == full_sort_reference(keys, config)
    per = Counter((s, split) for (_, s), split in zip(keys, got, strict=True))
    total = Counter(s for _, s in keys)
    for s, n in total.items():
        assert per[(s, "validation")] == round(n * config.validation)


def test_plan_over_many_chunks_equals_one_chunk() -> None:
    rng = np.random.default_rng(1)
    strata = rng.integers(0, 3, size=20_000)
    hashes = rng.integers(0, 2**63, size=20_000, dtype=np.int64).astype(np.uint64) * np.uint64(2)
    counts = np.bincount(strata).tolist()
    config = SplitConfig(validation=0.05, test=0.05)

    def many():  # type: ignore[no-untyped-def]
        return ((strata[i : i + 777], hashes[i : i + 777]) for i in range(0, 20_000, 777))

    one = plan_splits(lambda: iter([(strata, hashes)]), counts, config)
    chunked = plan_splits(many, counts, config)
    assert (one.assign(strata, hashes) == chunked.assign(strata, hashes)).all()
    n_val = sum(round(c * 0.05) for c in counts)
    assert one.totals == (20_000 - 2 * n_val, n_val, n_val)
    assert np.bincount(one.assign(strata, hashes)).tolist() == list(one.totals)


def test_window_that_misses_is_widened() -> None:
    """Hashes far from uniform put the k-th smallest outside the first window."""
    hashes = np.concatenate(
        [np.full(5000, 10, dtype=np.uint64), np.arange(5000, dtype=np.uint64) + np.uint64(2**63)]
    )
    strata = np.zeros(len(hashes), dtype=np.int64)
    plan = plan_splits(lambda: iter([(strata, hashes)]), [len(hashes)], SplitConfig(0.5))
    codes = plan.assign(strata, hashes)
    # 5,000 equal hashes: all of them sit below the cut (the cut is the 5,000th smallest)
    assert int((codes == 1).sum()) == 5000


def test_small_strata_and_empty_fractions() -> None:
    keys = make_keys(30, {"x": 0.5, "y": 0.5})
    assert assign_splits(keys, SplitConfig(validation=0.0)) == ["train"] * 30
    got = assign_splits(keys, SplitConfig(validation=0.5, test=0.4))
    assert got == full_sort_reference(keys, SplitConfig(validation=0.5, test=0.4))


def test_ngram_index_overlap_fraction() -> None:
    index = NGramIndex(n=3)
    index.add("the quick brown fox jumps")
    assert len(index) == 3
    assert index.overlap("the quick brown fox jumps") == 1.0
    assert index.overlap("a quick brown fox sleeps") == pytest.approx(1 / 3)
    assert index.overlap("nothing in common at all") == 0.0
    assert index.overlap("too short") == 0.0
    zh = NGramIndex(n=4)
    zh.add("我想申请退款谢谢")
    assert zh.overlap("申请退款谢谢") == 1.0  # each Han character is a unit
