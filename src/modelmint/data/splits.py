"""Deterministic train/validation/test splits, stratified by label, and decontamination:
training documents whose long n-grams largely appear in evaluation documents are removed,
so evaluation measures generalization, not memory.

Contamination is a fraction, not "any shared n-gram": customer-service text repeats stock
phrases (a 13-gram like "will be refunded to your original payment method within 3-5
business days" is everywhere), and one such phrase does not make a document a copy."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from modelmint.data.quality import words


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
            raise ValueError("split fractions must be in [0, 1) and leave room for train")


def choose_stratum_label(label_names: Iterable[str], wanted: str | None) -> str | None:
    names = set(label_names)
    if wanted is None:
        return None
    if wanted != "auto":
        if wanted not in names:
            raise ValueError(
                f"cannot stratify by {wanted!r}: the documents have labels "
                f"{sorted(names) or 'none'}"
            )
        return wanted
    for preferred in ("label", "intent", "category", "class"):
        if preferred in names:
            return preferred
    return sorted(names)[0] if names else None


def assign_splits(keys: Sequence[tuple[str, str]], config: SplitConfig) -> list[str]:
    """``keys``: (text key, stratum) per document. Within each stratum, documents are ordered
    by a seeded hash of their text and the first fractions go to validation and test, so
    every label is represented in proportion and the same data always splits the same way."""
    by_stratum: dict[str, list[int]] = defaultdict(list)
    for i, (_, stratum) in enumerate(keys):
        by_stratum[stratum].append(i)
    out = ["train"] * len(keys)
    salt = str(config.seed).encode()
    for members in by_stratum.values():
        members.sort(
            key=lambda i: hashlib.blake2b(salt + keys[i][0].encode(), digest_size=8).digest()
        )
        n_val = round(len(members) * config.validation)
        n_test = round(len(members) * config.test)
        for i in members[:n_val]:
            out[i] = "validation"
        for i in members[n_val : n_val + n_test]:
            out[i] = "test"
    return out


def text_units(text: str) -> list[str]:
    """Words, with each CJK character a word of its own (Chinese has no spaces)."""
    return [w.lower() for w in words(text)]


class NGramIndex:
    """The n-grams of the evaluation documents; a training document touching any is out."""

    def __init__(self, n: int = 13) -> None:
        self.n = n
        self.grams: set[str] = set()

    def _grams(self, text: str) -> Iterable[str]:
        units = text_units(text)
        return ("\x1f".join(units[i : i + self.n]) for i in range(len(units) - self.n + 1))

    def add(self, text: str) -> None:
        self.grams.update(self._grams(text))

    def overlap(self, text: str) -> float:
        """The fraction of the text's n-grams that occur in the evaluation documents."""
        grams = list(self._grams(text))
        return sum(g in self.grams for g in grams) / len(grams) if grams else 0.0
