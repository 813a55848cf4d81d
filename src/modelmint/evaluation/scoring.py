"""Scores of a generated text against its reference: exact match, ROUGE-L (F) with a
tokenizer that keeps Chinese, and BLEU's sufficient statistics per example.

BLEU tokenization is chosen per example by the reference's language: sacrebleu's ``zh``
for Chinese, ``13a`` for English. A corpus BLEU is computed from the summed statistics,
which is what sacrebleu does for one tokenizer; a mixed corpus thus counts each sentence's
n-grams the way its own language is segmented (one tokenizer for all would either split
English into characters or leave Chinese as one token per phrase)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any

import numpy as np
from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics import BLEU

from modelmint.evaluation.text import RougeTokenizer, language_of

BLEU_TOKENIZE = {"zh": "zh", "en": "13a"}
# counts (4), totals (4), hypothesis length, reference length
BLEU_STATS = 10


@cache
def _bleu(lang: str) -> BLEU:
    return BLEU(tokenize=BLEU_TOKENIZE[lang])


@cache
def _rouge() -> RougeScorer:
    return RougeScorer(["rougeL"], tokenizer=RougeTokenizer())


def normalize(text: str) -> str:
    return " ".join(text.split())


def exact_match(prediction: str, reference: str) -> float:
    return float(normalize(prediction) == normalize(reference))


def rouge_l(prediction: str, reference: str) -> float:
    return float(_rouge().score(reference, prediction)["rougeL"].fmeasure)


def bleu_stats(prediction: str, reference: str, lang: str) -> list[int]:
    s = _bleu(lang).corpus_score([prediction], [[reference]])
    return [*s.counts, *s.totals, s.sys_len, s.ref_len]


def bleu_from_stats(stats: Any, *, sentence: bool = False) -> float:
    """BLEU (0-100) from summed statistics; ``sentence`` scores one example the way
    sacrebleu's sentence_score does (effective order, so a short text is not zero)."""
    a = np.asarray(stats, dtype=np.int64).reshape(-1, BLEU_STATS).sum(axis=0)
    return float(
        BLEU.compute_bleu(
            correct=a[:4].tolist(),
            total=a[4:8].tolist(),
            sys_len=int(a[8]),
            ref_len=int(a[9]),
            smooth_method="exp",
            effective_order=sentence,
        ).score
    )


def score_generation(prediction: str, reference: str) -> dict[str, Any]:
    """Per-example scores and the BLEU statistics the corpus score is summed from."""
    lang = language_of(reference)
    stats = bleu_stats(prediction, reference, lang)
    return {
        "lang": lang,
        "scores": {
            "exact_match": exact_match(prediction, reference),
            "rouge_l": rouge_l(prediction, reference),
            "bleu": bleu_from_stats(stats, sentence=True),
        },
        "stats": {"bleu": stats},
    }


def generation_metrics(examples: Sequence[dict[str, Any]]) -> dict[str, float]:
    """Corpus BLEU from summed statistics, mean ROUGE-L F and exact match."""
    if not examples:
        return {}
    return {
        "bleu": bleu_from_stats([e["stats"]["bleu"] for e in examples]),
        "rouge_l": float(np.mean([e["scores"]["rouge_l"] for e in examples])),
        "exact_match": float(np.mean([e["scores"]["exact_match"] for e in examples])),
    }
