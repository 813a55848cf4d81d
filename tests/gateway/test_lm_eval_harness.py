"""`lm_eval --model local-completions` against a live `mint serve`, on two tasks shipped in
tests/lm_eval_tasks (a multiple-choice loglikelihood task and a generate-until task), with
scores checked against the same questions answered by the model in-process."""

from __future__ import annotations

from pathlib import Path

import pytest

from support.lm_eval import (
    MODEL,
    DirectScorer,
    HarnessRun,
    agreement,
    mint_serve,
    prepare_home,
    run_harness,
)

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("mint-lm-eval")


@pytest.fixture(scope="module")
def harness(home: Path) -> HarnessRun:
    key = prepare_home(home)
    with mint_serve(home) as base:
        return run_harness(home, base, key, home / "lm-eval-out")


@pytest.fixture(scope="module")
def figures(home: Path, harness: HarnessRun) -> dict:
    model_dir = next((home / "artifacts" / "models" / MODEL).glob("v*"))
    return agreement(harness, DirectScorer(model_dir))


def test_loglikelihoods_equal_direct_computation(figures: dict) -> None:
    assert figures["loglikelihood_requests"] == 36
    assert figures["max_abs_loglikelihood_diff"] <= 1e-4


def test_generations_equal_greedy_decoding(figures: dict) -> None:
    assert figures["generations_identical"] == "10/10"


def test_task_scores_equal_and_mean_something(figures: dict) -> None:
    assert figures["scores_equal"], figures
    # The model learned most answers but not all: neither score is trivially 0 or 1.
    assert 0 < figures["harness"]["mint_choice/acc"] < 1
    assert 0 < figures["harness"]["mint_answer/exact_match"] < 1


def test_harness_samples_are_the_served_answers(harness: HarnessRun) -> None:
    first = harness.samples["mint_answer"][0]
    assert first["doc"]["answer"] == "SF Express"
    assert first["filtered_resps"] == ["SF Express"] and first["exact_match"] == 1.0
    assert all(len(s["resps"]) == 3 for s in harness.samples["mint_choice"])
