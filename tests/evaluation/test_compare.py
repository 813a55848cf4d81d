"""Paired bootstrap intervals and comparisons of two models' evaluations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelmint.catalog import Catalog, ModelRef
from modelmint.evaluation import EvaluationError, compare, paired_bootstrap, run_evaluation
from modelmint.evaluation.runner import repeat_on
from modelmint.evaluation.suite_custom import metrics as choice_metrics


def _choice_examples(correct: np.ndarray) -> list[dict]:
    return [
        {"key": str(i), "scores": {"correct": float(c), "correct_norm": float(c)}}
        for i, c in enumerate(correct)
    ]


def _paired_sample(rng: np.random.Generator, n: int) -> tuple[list[dict], list[dict]]:
    """Model a is right with p 0.6; b fixes a third of a's errors and breaks a twelfth of
    its successes: accuracy 0.6 + 0.4/3 - 0.6/12 = 0.6833, a true difference of 0.0833."""
    a = rng.random(n) < 0.6
    flip = rng.random(n)
    b = np.where(a, flip >= 1 / 12, flip < 1 / 3)
    return _choice_examples(a), _choice_examples(b)


TRUE_DIFF = 0.4 / 3 - 0.6 / 12


def test_bootstrap_intervals_cover_the_true_difference_about_95_percent_of_the_time() -> None:
    rng = np.random.default_rng(123)
    covered = 0
    trials = 40
    for t in range(trials):
        a, b = _paired_sample(rng, 150)
        low, high = paired_bootstrap(a, b, choice_metrics, resamples=300, seed=t)["accuracy"]
        covered += low <= TRUE_DIFF <= high
    assert covered >= 0.85 * trials


def test_bootstrap_is_reproducible_with_its_seed() -> None:
    a, b = _paired_sample(np.random.default_rng(5), 200)
    first = paired_bootstrap(a, b, choice_metrics, resamples=200, seed=1)
    assert first == paired_bootstrap(a, b, choice_metrics, resamples=200, seed=1)
    assert first != paired_bootstrap(a, b, choice_metrics, resamples=200, seed=2)
    low, high = first["accuracy"]
    observed = choice_metrics(b)["accuracy"] - choice_metrics(a)["accuracy"]
    assert low < observed < high


def test_pairing_narrows_the_interval_of_two_models_that_mostly_agree() -> None:
    rng = np.random.default_rng(9)
    a = rng.random(300) < 0.7
    b = a.copy()
    b[:6] = ~b[:6]  # b differs from a on 6 of 300 examples only
    low, high = paired_bootstrap(
        _choice_examples(a), _choice_examples(b), choice_metrics, resamples=500
    )["accuracy"]
    # unpaired, the interval would be about +-0.07 (two independent binomial spreads)
    assert high - low < 0.05


@pytest.mark.slow
def test_comparing_two_models_bootstraps_their_stored_evaluations(
    catalog: Catalog, clm: ModelRef
) -> None:
    from modelmint.training import parse_recipe, start_training
    from support.training import micro_clm

    weak = start_training(catalog, parse_recipe(micro_clm("weak", steps=1))).model
    assert weak is not None
    strong = run_evaluation(catalog, clm, "perplexity", options={"max_examples": 30})
    c = compare(strong, repeat_on(catalog, strong, weak), resamples=200)
    assert c.b.model == weak.label and c.a.options == c.b.options and c.paired == 30
    ppl = next(m for m in c.metrics if m.name == "perplexity")
    assert ppl.lower_is_better and ppl.diff > 0 and ppl.low > 0  # clearly worse
    assert ppl.verdict == "worse" and ppl.low <= ppl.diff <= ppl.high
    assert math.isclose(ppl.a, strong.metrics["perplexity"], rel_tol=1e-9)
    moved = [abs(x.score_b - x.score_a) for x in c.changed]
    assert moved == sorted(moved, reverse=True) and len(moved) == 10
    assert compare(c.a, c.b, resamples=200).metrics == c.metrics  # same seed, same intervals
    with pytest.raises(EvaluationError, match="measure different things"):
        compare(strong, run_evaluation(catalog, weak, "perplexity", options={"max_examples": 8}))
