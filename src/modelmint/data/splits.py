"""Deterministic train/validation/test splits, stratified by label, and decontamination:
training documents whose long n-grams largely appear in evaluation documents are removed,
so evaluation measures generalization, not memory.

Contamination is a fraction, not "any shared n-gram": customer-service text repeats stock
phrases (a 13-gram like "will be refunded to your original payment method within 3-5
business days" is everywhere), and one such phrase does not make a document a copy."""

from __future__ import annotations

import hashlib
import itertools
from array import array
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from modelmint.data.errors import DataError
from modelmint.data.words import words


@dataclass(frozen=True)
class SplitConfig:
    validation: float = 0.05
    test: float = 0.0
    stratify_by: str | None = "auto"  # a label name, "auto" (pick one) or None
    seed: int = 0

    def __post_init__(self) -> None:
        if not (
            0 <= self.validation < 1 and 0 <= self.test < 1 and self.validation + self.test < 1
        ):
            raise DataError("split fractions must be in [0, 1) and leave room for train")


def choose_stratum_label(label_names: Iterable[str], wanted: str | None) -> str | None:
    names = set(label_names)
    if wanted is None:
        return None
    if wanted != "auto":
        if wanted not in names:
            raise DataError(
                f"cannot stratify by {wanted!r}: the documents have labels "
                f"{sorted(names) or 'none'}"
            )
        return wanted
    for preferred in ("label", "intent", "category", "class"):
        if preferred in names:
            return preferred
    return sorted(names)[0] if names else None


SPLITS = ("train", "validation", "test")  # split codes 0, 1, 2


def split_hash(key: bytes, seed: int) -> int:
    """A document's place in its stratum's order: a seeded 64-bit hash of its text key."""
    digest = hashlib.blake2b(str(seed).encode() + key.hex().encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


Chunks = Callable[[], Iterator[tuple[np.ndarray, np.ndarray]]]


@dataclass(frozen=True)
class SplitPlan:
    """Per stratum, the split hashes below which a document goes to validation, and below
    which (and not below the first) to test."""

    cut: np.ndarray  # (strata, 2) uint64
    everything: np.ndarray  # (strata, 2) bool: the whole stratum is below that cut
    totals: tuple[int, int, int]  # documents per split code

    def assign(self, strata: np.ndarray, hashes: np.ndarray) -> np.ndarray:
        """Split codes (indexes into SPLITS) for documents given their stratum and hash."""
        below = (hashes[:, None] < self.cut[strata]) | self.everything[strata]
        return np.where(below[:, 0], 1, np.where(below[:, 1], 2, 0)).astype(np.int8)


def plan_splits(chunks: Chunks, counts: Sequence[int], config: SplitConfig) -> SplitPlan:
    """Within each stratum, documents ordered by :func:`split_hash` and the first fractions
    go to validation and test, so every label is represented in proportion and the same data
    always splits the same way.

    ``chunks()`` yields (stratum, hash) arrays for all documents and may be called more than
    once. Finding the k-th smallest hash of a stratum does not sort the stratum: the hashes
    are uniform, so the k-th lies near k/count of the range; one pass counts the hashes below
    a window around that point and keeps those inside it, a window of O(sqrt(count)) hashes
    (7 standard deviations wide each side). A window that misses (a chance below 1e-11) is
    widened and the pass repeated for it alone."""
    n_strata = len(counts)
    c = np.asarray(counts, dtype=np.float64)
    n_val = np.round(c * config.validation)
    rank = np.stack([n_val, n_val + np.round(c * config.test)], axis=1).astype(np.int64)
    cut = np.zeros((n_strata, 2), dtype=np.uint64)
    everything = rank >= np.asarray(counts, dtype=np.int64)[:, None]
    todo = ~everything & (rank > 0)  # rank 0: cut 0, nothing below it
    p = rank / np.maximum(c, 1)[:, None]
    spread = (7 * np.sqrt(c[:, None] * p * (1 - p)) + 16) / np.maximum(c, 1)[:, None]
    while todo.any():
        lo, hi = np.clip(p - spread, 0, 1), np.clip(p + spread, 0, 1)
        lo[lo <= 0], hi[hi >= 1] = -1.0, 2.0  # open-ended windows
        below = np.zeros((n_strata, 2), dtype=np.int64)
        inside: list[list[np.ndarray]] = [[] for _ in range(2 * n_strata)]
        for strata, hashes in chunks():
            u = hashes.astype(np.float64) / 2.0**64
            for b in range(2):
                rows = todo[strata, b]
                s, h, uu = strata[rows], hashes[rows], u[rows]
                under = uu < lo[s, b]
                below[:, b] += np.bincount(s[under], minlength=n_strata)
                win = ~under & (uu < hi[s, b])
                order = np.argsort(s[win], kind="stable")
                ws, wh = s[win][order], h[win][order]
                bounds = [*np.searchsorted(ws, np.unique(ws)).tolist(), len(ws)]
                for a, z in itertools.pairwise(bounds):
                    inside[2 * int(ws[a]) + b].append(wh[a:z])
        for s_, b in zip(*np.nonzero(todo), strict=True):
            values = np.sort(np.concatenate(inside[2 * s_ + b] or [np.empty(0, np.uint64)]))
            k = int(rank[s_, b] - below[s_, b])
            if 0 <= k < len(values):
                cut[s_, b], todo[s_, b] = values[k], False
            else:
                spread[s_, b] *= 4
    ranks = np.minimum(rank, np.asarray(counts, dtype=np.int64)[:, None]).sum(axis=0)
    total = int(np.sum(counts))
    return SplitPlan(
        cut, everything, (total - int(ranks[1]), int(ranks[0]), int(ranks[1] - ranks[0]))
    )


def assign_splits(keys: Sequence[tuple[bytes, str]], config: SplitConfig) -> list[str]:
    """(text key, stratum) per document -> split names; :func:`plan_splits` on a list."""
    names = sorted({s for _, s in keys})
    strata = np.array([names.index(s) for _, s in keys], dtype=np.int64)
    hashes = np.array([split_hash(k, config.seed) for k, _ in keys], dtype=np.uint64)
    plan = plan_splits(lambda: iter([(strata, hashes)]), np.bincount(strata).tolist(), config)
    return [SPLITS[c] for c in plan.assign(strata, hashes).tolist()]


def text_units(text: str) -> list[str]:
    """Words, with each CJK character a word of its own (Chinese has no spaces)."""
    return [w.lower() for w in words(text)]


class NGramIndex:
    """The n-grams of the evaluation documents, as a sorted array of 64-bit hashes: 8 bytes
    per distinct n-gram, where a set of strings took ~100. Hashes are Python's ``hash``,
    stable within the process that builds and queries the index, which is all it needs."""

    def __init__(self, n: int = 13) -> None:
        self.n = n
        self._sorted = np.empty(0, dtype=np.int64)
        self._pending = array("q")

    def _grams(self, text: str) -> Iterator[int]:
        units = text_units(text)
        return (hash("\x1f".join(units[i : i + self.n])) for i in range(len(units) - self.n + 1))

    def add(self, text: str) -> None:
        self._pending.extend(self._grams(text))
        if len(self._pending) >= 1 << 22:
            self._merge()

    def _merge(self) -> None:
        if self._pending:
            fresh = np.frombuffer(self._pending, dtype=np.int64)
            self._sorted = np.union1d(self._sorted, fresh)
            self._pending = array("q")

    def __len__(self) -> int:
        self._merge()
        return len(self._sorted)

    def overlap(self, text: str) -> float:
        """The fraction of the text's n-grams that occur in the evaluation documents."""
        self._merge()
        grams = np.fromiter(self._grams(text), dtype=np.int64)
        if not len(grams) or not len(self._sorted):
            return 0.0
        pos = np.minimum(np.searchsorted(self._sorted, grams), len(self._sorted) - 1)
        return float(np.mean(self._sorted[pos] == grams))
