"""BLEU, ROUGE-L and exact match on Chinese and English; classification metrics against
scikit-learn."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
from rouge_score.rouge_scorer import RougeScorer
from sacrebleu.metrics import BLEU
from sklearn.metrics import cohen_kappa_score, precision_recall_fscore_support

from modelmint.evaluation.classify_metrics import classification_metrics
from modelmint.evaluation.scoring import (
    bleu_from_stats,
    generation_metrics,
    rouge_l,
    score_generation,
)
from modelmint.evaluation.text import language_of, rouge_tokens

ZH = "您好，您的订单 MM20261122-48213 已经发货，预计明天送达。"
ZH_OTHER = "退款已经处理，三到五个工作日内原路退回。"
EN = "Your refund has been approved and should arrive within 5 business days."


def test_a_chinese_prediction_equal_to_its_reference_scores_full_marks() -> None:
    s = score_generation(ZH, ZH)
    assert s["lang"] == "zh"
    assert s["scores"] == {"exact_match": 1.0, "rouge_l": 1.0, "bleu": pytest.approx(100.0)}


def test_an_unrelated_chinese_prediction_scores_low() -> None:
    s = score_generation("我想修改收货地址。", ZH)
    assert s["scores"]["exact_match"] == 0.0
    assert s["scores"]["bleu"] < 10 and s["scores"]["rouge_l"] < 0.3


def test_rouge_l_scores_chinese_where_the_stock_tokenizer_sees_nothing() -> None:
    prediction = "您的订单已经发货"
    reference = "您好，您的订单已经发货，预计明天送达。"
    stock = RougeScorer(["rougeL"]).score(reference, prediction)["rougeL"].fmeasure
    assert stock == 0.0
    # the prediction is a subsequence of the reference (16 characters without punctuation)
    ours = rouge_l(prediction, reference)
    assert ours == pytest.approx(2 * 1.0 * (8 / 16) / (1 + 8 / 16))


def test_rouge_tokens_keep_latin_words_and_split_chinese_characters() -> None:
    assert rouge_tokens("订单MM2026已发货, Thanks!") == [
        "订",
        "单",
        "mm2026",
        "已",
        "发",
        "货",
        "thanks",
    ]
    assert language_of("Order MM2026 shipped") == "en" and language_of("order 已发货") == "zh"


def test_bleu_tokenizes_each_language_as_sacrebleu_does() -> None:
    pairs = [(ZH[:12], ZH), ("Your refund was approved.", EN), (ZH_OTHER[:8], ZH_OTHER)]
    examples = [score_generation(p, r) for p, r in pairs]
    zh = [examples[0], examples[2]]
    direct_zh = BLEU(tokenize="zh").corpus_score([pairs[0][0], pairs[2][0]], [[ZH, ZH_OTHER]])
    assert generation_metrics(zh)["bleu"] == pytest.approx(direct_zh.score)
    direct_en = BLEU(tokenize="13a").corpus_score([pairs[1][0]], [[EN]])
    assert bleu_from_stats(examples[1]["stats"]["bleu"]) == pytest.approx(direct_en.score)
    sentence = BLEU(tokenize="13a", effective_order=True).sentence_score(pairs[1][0], [EN])
    assert examples[1]["scores"]["bleu"] == pytest.approx(sentence.score)


def test_exact_match_ignores_surrounding_and_repeated_whitespace_only() -> None:
    assert score_generation("  It  ships today.\n", "It ships today.")["scores"]["exact_match"] == 1
    assert score_generation("it ships today.", "It ships today.")["scores"]["exact_match"] == 0


def test_kappa_and_macro_scores_equal_scikit_learn_on_a_known_confusion() -> None:
    # 2 classes: 20 a->a, 5 a->b, 10 b->a, 15 b->b. po = 0.7, pe = 0.5*0.6 + 0.5*0.4 = 0.5
    y = ["a"] * 25 + ["b"] * 25
    p = ["a"] * 20 + ["b"] * 5 + ["a"] * 10 + ["b"] * 15
    m = classification_metrics(y, p)
    assert m["kappa"] == pytest.approx(0.4) == pytest.approx(cohen_kappa_score(y, p))
    assert m["accuracy"] == pytest.approx(0.7)


@pytest.mark.parametrize("seed", range(5))
def test_classification_metrics_equal_scikit_learn_with_missing_classes(seed: int) -> None:
    rng = random.Random(seed)
    y = [rng.choice("abcde") for _ in range(60)]
    p = [rng.choice("abcdf") for _ in range(60)]  # 'e' never predicted, 'f' never true
    m = classification_metrics(y, p)
    precision, recall, f1, _ = precision_recall_fscore_support(
        y, p, average="macro", zero_division=0
    )
    assert m["macro_precision"] == pytest.approx(precision)
    assert m["macro_recall"] == pytest.approx(recall)
    assert m["macro_f1"] == pytest.approx(f1)
    assert m["kappa"] == pytest.approx(cohen_kappa_score(y, p))
    assert m["accuracy"] == pytest.approx(np.mean(np.array(y) == np.array(p)))
    assert not math.isnan(classification_metrics(["a", "a"], ["a", "a"])["kappa"])
