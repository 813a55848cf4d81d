"""Exact and near-duplicate detection for bilingual (Simplified Chinese + English) text.

Exact: a 128-bit BLAKE2b key of the normalized text (NFKC, lowercase, Unicode punctuation
removed, whitespace collapsed, no space beside Han/kana). Near: MinHash over CHARACTER n-grams
of the normalized text, so Chinese needs no word segmentation; LSH bands find candidates and
the signatures' estimated Jaccard verifies them. This module says what a key and a signature
are; :mod:`modelmint.data.duplicates` finds the duplicates, on disk, at any corpus size.

Library: ``rensa`` (Rust; ``RMinHash`` sketches), chosen by
``benchmarks/dedup_choice.py`` over datasketch (``MinHash``/``MinHashLSH``, sha1 or xxh32 token
hashes) and rensa's ``CMinHash``/``CMinHashDeduplicator``, all on the same normalized texts,
5-grams, 128 permutations, threshold 0.8, 16 x 8 bands. Why rensa: several times faster, and
more precise at the same bands (datasketch's estimates pass more pairs whose true Jaccard is
below 0.8, so it drops more documents, nearly all wrongly). On a corpus dense in pairs of
Jaccard 0.7-0.8 the precision left is MinHash noise at 128 permutations; ``num_perm=256`` was
more precise there but slower. rensa's ``RMinHash.update`` per document beat its batch
``from_token_sets``: the Python-side shingling dominates and holding a whole batch's shingles
costs more than the hashing, so :func:`signatures` signs one document at a time. The
in-memory ``RMinHashLSH`` index of that measurement grew by kilobytes per document, so the
index is now sorted band-hash files instead (:mod:`modelmint.data.duplicates`), with the same
bands. The measured recall, precision, speed and memory are in docs/benchmarks.md, "MinHash
library choice".
"""

from __future__ import annotations

import functools
import hashlib
import re
import sys
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from rensa import RMinHash

from modelmint.data.langid import cap_combining_runs

EXACT = "exact_duplicate"
NEAR = "near_duplicate"

# Han and kana are written without spaces, so a space next to one carries no meaning:
# "你好，世界", "你好 世界" and "你好世界" must normalize alike.
_CJK = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
# Starts with the literal space so the regex engine skips ahead to spaces (much faster;
# docs/benchmarks.md, "Small measurements in the data code").
_SPACE_BY_CJK = re.compile(f" (?:(?=[{_CJK}])|(?<=[{_CJK}] ))")


@functools.cache
def _punctuation() -> dict[int, str]:
    """Every Unicode punctuation code point (categories P*) -> a space; built once per process,
    since walking every code point takes a noticeable moment."""
    return {
        c: " " for c in range(sys.maxunicode + 1) if unicodedata.category(chr(c)).startswith("P")
    }


def normalize_text(text: str) -> str:
    """NFKC, lowercase, punctuation (ASCII and CJK) to spaces, whitespace runs to one space,
    no space beside a Han or kana character. Combining marks past the 30th of a run are
    dropped first: they would make NFKC quadratic (see :func:`cap_combining_runs`)."""
    text = unicodedata.normalize("NFKC", cap_combining_runs(text)).lower()
    text = text.translate(_punctuation())
    return _SPACE_BY_CJK.sub("", " ".join(text.split()))


def normalized_key(normalized: str) -> bytes:
    return hashlib.blake2b(normalized.encode("utf-8"), digest_size=16).digest()


def exact_key(text: str) -> bytes:
    """128-bit key: equal for texts that differ only in case, width, punctuation or spacing."""
    return normalized_key(normalize_text(text))


def _shingles(normalized: str, n: int) -> list[str]:
    # Repeats are harmless (MinHash sees a set); a text shorter than n is one shingle.
    if len(normalized) <= n:
        return [normalized] if normalized else []
    return [normalized[i : i + n] for i in range(len(normalized) - n + 1)]


@dataclass(frozen=True)
class NearDupConfig:
    ngram: int = 5  # characters per shingle, on normalized text
    num_perm: int = 128  # MinHash size; LSH bands must divide it, so prefer powers of two
    threshold: float = 0.8  # Jaccard similarity from which two texts are near-duplicates
    seed: int = 1
    verify: bool = True  # drop LSH candidates whose estimated Jaccard is below threshold


@functools.cache
def lsh_params(
    threshold: float, num_perm: int, weights: tuple[float, float] = (0.5, 0.5)
) -> tuple[int, int]:
    """(bands, rows) minimizing weights[0] * P(false positive) + weights[1] * P(false negative),
    each integrated over Jaccard similarity below / above threshold: the usual search
    (datasketch's ``_optimal_param``), limited to bands * rows == num_perm so that the
    whole signature is split into equal bands."""
    s = np.linspace(0.0, 1.0, 1001)
    below, above = s <= threshold, s >= threshold
    best, best_err = (1, num_perm), float("inf")
    for bands in (b for b in range(1, num_perm + 1) if num_perm % b == 0):
        rows = num_perm // bands
        p = 1.0 - (1.0 - s**rows) ** bands  # chance that a pair of similarity s is a candidate
        fp = float(np.trapezoid(np.where(below, p, 0.0), s))
        fn = float(np.trapezoid(np.where(above, 1.0 - p, 0.0), s))
        err = weights[0] * fp + weights[1] * fn
        if err < best_err:
            best, best_err = (bands, rows), err
    return best


def lsh_bands(config: NearDupConfig) -> tuple[int, int]:
    """(bands, rows) for a config. With verification a false candidate costs one signature
    comparison while a missed one is a duplicate kept, so misses weigh more (0.3 / 0.7):
    at threshold 0.8 and 128 permutations that is 16 x 8 instead of 8 x 16, which finds pairs
    of similarity 0.8 with probability 0.95 instead of 0.20."""
    weights = (0.3, 0.7) if config.verify else (0.5, 0.5)
    return lsh_params(config.threshold, config.num_perm, weights)


def normalized_signature(normalized: str, config: NearDupConfig) -> np.ndarray:
    """The MinHash signature of an already normalized text: ``num_perm`` uint32 values."""
    sig = RMinHash(config.num_perm, config.seed)
    sig.update(_shingles(normalized, config.ngram))
    return np.array(sig.digest(), dtype=np.uint32)


def signatures(texts: Sequence[str], config: NearDupConfig) -> list[np.ndarray]:
    """MinHash signatures of texts, in order, as uint32 arrays: compact to pickle from worker
    processes and to write to disk for :class:`~modelmint.data.duplicates.DuplicateFinder`.
    Two texts' estimated Jaccard similarity is the share of positions where they agree.

    One sketch per text: faster here than rensa's batch constructors (see the module doc), and
    only one text's shingles are alive at a time."""
    return [normalized_signature(normalize_text(t), config) for t in texts]
