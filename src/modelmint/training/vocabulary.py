"""Teaching a pretrained encoder's vocabulary the characters of our data.

The bundled MiniLM reads English through an uncased WordPiece vocabulary in which most
Chinese characters are ``[UNK]``: a Chinese request becomes a row of identical unknowns and
cannot be classified. Adding the missing characters as tokens (their embeddings start at the
mean of the existing ones and are learned in fine-tuning) fixes that. A byte-level BPE has
no unknown token, so this never changes our own models."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from typing import Any


def unknown_characters(tokenizer: Any, texts: Iterable[str]) -> tuple[Counter[str], int]:
    """Characters the tokenizer reads as its unknown token, with counts, and the number of
    characters seen."""
    unk = tokenizer.unk_token
    missing: Counter[str] = Counter()
    seen = 0
    if unk is None:
        return missing, seen
    for text in texts:
        chars = [c for c in text if not c.isspace()]
        seen += len(chars)
        for c in set(chars):
            if tokenizer.tokenize(c) == [unk]:
                missing[c] += chars.count(c)
    return missing, seen


def extend_vocabulary(
    tokenizer: Any, model: Any, texts: Iterable[str], min_count: int = 2
) -> dict[str, float]:
    """Adds every character seen at least ``min_count`` times that the tokenizer cannot read,
    and grows the model's embeddings to match. Returns what it did, for the run's metrics."""
    missing, seen = unknown_characters(tokenizer, texts)
    if not missing:
        return {}
    before = sum(missing.values()) / max(1, seen)
    added = sorted(c for c, n in missing.items() if n >= min_count)
    if added:
        tokenizer.add_tokens(added)
        model.resize_token_embeddings(len(tokenizer), mean_resizing=True)
    left = sum(n for c, n in missing.items() if c not in set(added)) / max(1, seen)
    return {
        "vocab_added_tokens": float(len(added)),
        "unk_rate_before": before,
        "unk_rate_after": left,
    }
