"""A seeded generator of a SYNTHETIC bilingual customer-service dialogue corpus.

Everything this module produces is synthetic: the dialogues come from hand-written templates
(``corpus.json``, read by :mod:`modelmint.samples.tables`) filled with random values. None of it
comes from real customers. The shop, brands, products, order and tracking numbers, usernames,
companies, emails and phone numbers are all made up. Emails use reserved example/test domains;
US phone numbers use the fictional 555 area code; Chinese mobile numbers are random digits.

The corpus is an e-commerce shop's chat log in Simplified Chinese and English (about half each).
Every record has an intent and a sentiment label that match its text, and the customer's sentiment
shows in their wording. It is built for three uses:

* pretraining a small causal LM: fluent, varied texts; the agent answers in the customer's language;
* intent / sentiment classification: labels consistent with the text;
* testing data-cleaning stages: exact duplicates, near-duplicates and fake PII are planted on
  purpose and listed in :class:`SampleTruth`.

Generation uses only ``random.Random(seed)``, so the same seed gives the same corpus byte for byte.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.samples.dialogues import Draft, build_dialogue
from modelmint.samples.planted import dialogue_text, near_copy, plant_pii, shingles_of, too_similar

INTENTS: tuple[str, ...] = (
    "order_status",
    "refund",
    "shipping",
    "account",
    "product_question",
    "complaint",
    "payment",
    "cancel_order",
    "return_exchange",
    "invoice",
)
SENTIMENTS: tuple[str, ...] = ("positive", "neutral", "negative")

_INTENT_WEIGHTS = (14, 11, 11, 8, 12, 9, 8, 8, 11, 8)
# (positive, neutral, negative) per intent: complaints are mostly negative and never positive.
_SENTIMENT_WEIGHTS: dict[str, tuple[int, int, int]] = {
    "order_status": (20, 50, 30),
    "refund": (10, 45, 45),
    "shipping": (25, 50, 25),
    "account": (15, 55, 30),
    "product_question": (40, 55, 5),
    "complaint": (0, 15, 85),
    "payment": (15, 50, 35),
    "cancel_order": (10, 60, 30),
    "return_exchange": (15, 50, 35),
    "invoice": (25, 65, 10),
}
_EXACT_DUP_RATE = 0.03
_NEAR_DUP_RATE = 0.03
_PII_RATE = 0.05


@dataclass(frozen=True)
class SampleTruth:
    """What was planted: duplicate pairs as (copy_id, original_id), and fake PII per record id."""

    exact_duplicates: list[tuple[str, str]]
    near_duplicates: list[tuple[str, str]]
    pii: dict[str, list[str]]

    def to_dict(self) -> dict[str, Any]:
        return {
            "exact_duplicates": [list(p) for p in self.exact_duplicates],
            "near_duplicates": [list(p) for p in self.near_duplicates],
            "pii": {k: list(v) for k, v in self.pii.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SampleTruth:
        return cls(
            exact_duplicates=[(str(a), str(b)) for a, b in data["exact_duplicates"]],
            near_duplicates=[(str(a), str(b)) for a, b in data["near_duplicates"]],
            pii={str(k): [str(s) for s in v] for k, v in data["pii"].items()},
        )


def _originals(rng: random.Random, n: int) -> list[Draft]:
    """Distinct dialogues, no two of which are near-duplicates by accident.

    A dialogue is redrawn while it is too similar to an earlier one with the same core; dialogues
    with different cores differ in long template texts and stay well below the planted range."""
    langs = ["zh"] * (n // 2) + ["en"] * (n - n // 2)
    rng.shuffle(langs)
    intents = list(INTENTS[:n]) + rng.choices(INTENTS, _INTENT_WEIGHTS, k=max(0, n - len(INTENTS)))
    by_core: dict[tuple[Any, ...], list[tuple[int, set[str]]]] = {}
    drafts = []
    for lang, intent in zip(langs, intents, strict=True):
        sentiment = rng.choices(SENTIMENTS, _SENTIMENT_WEIGHTS[intent])[0]
        for _ in range(50):
            messages, core = build_dialogue(rng, lang, intent, sentiment)
            shingles = shingles_of(dialogue_text(messages))
            similar = by_core.setdefault((lang, intent, *core), [])
            if not too_similar(shingles, similar):
                break
        similar.append((len(shingles), shingles))
        drafts.append(Draft(lang, intent, sentiment, messages))
    return drafts


def generate_sample_corpus(
    n_dialogues: int = 6000, seed: int = 0
) -> tuple[list[dict[str, Any]], SampleTruth]:
    """Generate ``n_dialogues`` records (planted copies included) and the truth about them."""
    if n_dialogues < 0:
        raise ValueError("n_dialogues must be >= 0")
    rng = random.Random(seed)
    n_exact = round(n_dialogues * _EXACT_DUP_RATE)
    n_near = round(n_dialogues * _NEAR_DUP_RATE)
    n_orig = n_dialogues - n_exact - n_near
    drafts = _originals(rng, n_orig)
    for i in sorted(rng.sample(range(n_orig), round(n_orig * _PII_RATE))):
        plant_pii(rng, drafts[i])

    seen = {tuple(m["content"] for m in d.messages) for d in drafts}
    sources = rng.sample(range(n_orig), n_exact + n_near)
    copies: list[tuple[int, int, str]] = []  # (copy index, source index, kind)
    for k, s in enumerate(sources):
        src = drafts[s]
        near = near_copy(rng, src, seen) if k >= n_exact else None
        kind = "near" if near is not None else "exact"
        messages = near if near is not None else [dict(m) for m in src.messages]
        copies.append((len(drafts), s, kind))
        drafts.append(Draft(src.lang, src.intent, src.sentiment, messages, list(src.pii)))

    order = list(range(len(drafts)))
    position = order
    for _ in range(200):  # shuffle until no copy sits next to its original
        rng.shuffle(order)
        position = [0] * len(drafts)
        for p, d in enumerate(order):
            position[d] = p
        if all(abs(position[c] - position[s]) > 1 for c, s, _ in copies):
            break
    width = max(6, len(str(n_dialogues)))
    ids = [f"d{position[d] + 1:0{width}d}" for d in range(len(drafts))]

    records = []
    for d in order:
        dr = drafts[d]
        records.append(
            {
                "id": ids[d],
                "lang": dr.lang,
                "intent": dr.intent,
                "sentiment": dr.sentiment,
                "messages": [dict(m) for m in dr.messages],
            }
        )
    truth = SampleTruth(
        exact_duplicates=sorted((ids[c], ids[s]) for c, s, kind in copies if kind == "exact"),
        near_duplicates=sorted((ids[c], ids[s]) for c, s, kind in copies if kind == "near"),
        pii={ids[d]: list(drafts[d].pii) for d in order if drafts[d].pii},
    )
    return records, truth


def write_sample_corpus(path: Path, n_dialogues: int = 6000, seed: int = 0) -> SampleTruth:
    """Writes JSONL (UTF-8, ensure_ascii=False, one record per line) to `path` and the truth as
    JSON next to it at path.with_suffix('.truth.json'). Creates parent dirs."""
    path = Path(path)
    records, truth = generate_sample_corpus(n_dialogues, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="\n") as fh:
        for record in records:
            fh.write(json.dumps(record, ensure_ascii=False) + "\n")
    with path.with_suffix(".truth.json").open("w", encoding="utf-8", newline="\n") as fh:
        fh.write(json.dumps(truth.to_dict(), ensure_ascii=False, indent=2) + "\n")
    return truth
