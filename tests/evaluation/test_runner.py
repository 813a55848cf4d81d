"""run_evaluation stores results on the model version; rerun_evaluations repeats them."""

from __future__ import annotations

import json
import math

import pytest
from sklearn.metrics import accuracy_score, cohen_kappa_score, f1_score

from modelmint.catalog import Catalog, ModelRef
from modelmint.evaluation import (
    EvaluationError,
    perplexity,
    rerun_evaluations,
    run_evaluation,
)
from modelmint.modeling import classifier_text, load_causal_lm, load_tokenizer, record_text

pytestmark = pytest.mark.slow


def test_perplexity_suite_is_stored_and_equals_the_direct_computation(
    catalog: Catalog, clm: ModelRef
) -> None:
    result = run_evaluation(catalog, clm, "perplexity", options={"max_examples": 20})
    records = catalog.get_dataset("support").read_split("validation")[:20]
    tok = load_tokenizer(clm.path)
    direct = perplexity(
        load_causal_lm(clm.path), tok, [record_text(r, tok) for r in records], block_size=128
    )
    assert math.isclose(result.metrics["perplexity"], direct, rel_tol=1e-6)
    assert result.options == {"max_examples": 20, "block_size": 128}  # resolved, stored
    assert result.dataset == "support:1" and result.split == "validation"
    examples = result.examples()
    assert len(examples) == 20 and {e["key"] for e in examples} == {r["id"] for r in records}
    stored = catalog.evaluations.get(result.id)
    assert stored.metrics == result.metrics and stored.model == clm.label
    assert [e.id for e in catalog.evaluations.list(clm.id)][-1] == result.id


def test_classification_suite_reads_records_as_the_recipe_trained(
    catalog: Catalog, classifier: ModelRef
) -> None:
    result = run_evaluation(catalog, classifier, "classification")
    assert result.options == {
        "max_examples": None,
        "label": "intent",
        "input": "first_user_turn",
        "max_length": 48,
    }
    examples = result.examples()
    y = [e["reference"] for e in examples]
    p = [e["prediction"] for e in examples]
    assert math.isclose(result.metrics["accuracy"], accuracy_score(y, p))
    assert math.isclose(result.metrics["macro_f1"], f1_score(y, p, average="macro"))
    assert math.isclose(result.metrics["kappa"], cohen_kappa_score(y, p))
    details = json.loads((result.path / "details.json").read_text())
    assert sum(map(sum, details["confusion"])) == len(examples)
    assert sum(e["scores"]["correct"] for e in examples) == sum(
        details["confusion"][i][i] for i in range(len(details["classes"]))
    )


def test_a_classifier_reads_the_part_of_a_record_its_recipe_names(catalog: Catalog) -> None:
    for r in catalog.get_dataset("support").read_split("validation")[:30]:
        asked = next(m["content"] for m in r["messages"] if m["role"] == "user")
        reply = next(m["content"] for m in r["messages"] if m["role"] == "assistant")
        assert classifier_text(r, "first_user_turn") == asked
        assert classifier_text(r, "first_assistant_turn") == reply
        assert classifier_text(r, "text") == r["text"]


def test_rerun_repeats_the_latest_of_each_measurement(catalog: Catalog, clm: ModelRef) -> None:
    from modelmint.training import parse_recipe, start_training
    from support.training import micro_clm

    other = start_training(catalog, parse_recipe(micro_clm("lm2", steps=2))).model
    assert other is not None
    fresh = rerun_evaluations(catalog, other, clm)  # `other` has none: the default, on both
    assert [(a.suite, b.suite) for a, b in fresh] == [("perplexity", "perplexity")]
    a, b = fresh[0]
    assert (a.model, b.model) == (other.label, clm.label) and a.options == b.options
    assert a.metrics["perplexity"] > b.metrics["perplexity"]  # 2 steps against 12
    run_evaluation(catalog, other, "perplexity", options={"max_examples": 5})
    again = rerun_evaluations(catalog, other, clm)
    assert sorted(json.dumps(x.options, sort_keys=True) for x, _ in again) == sorted(
        json.dumps(o, sort_keys=True) for o in (a.options, {"max_examples": 5, "block_size": 128})
    )
    assert all(x.options == y.options and y.model == clm.label for x, y in again)


def test_bad_requests_say_what_to_do(catalog: Catalog, clm: ModelRef, classifier: ModelRef) -> None:
    with pytest.raises(
        EvaluationError, match=r"unknown suite 'perplexty' .did you mean 'perplexity'"
    ):
        run_evaluation(catalog, clm, "perplexty")
    with pytest.raises(EvaluationError, match=r"no option 'block'.*did you mean 'block_size'"):
        run_evaluation(catalog, clm, "perplexity", options={"block": 3})
    with pytest.raises(EvaluationError, match="option max_examples"):
        run_evaluation(catalog, clm, "perplexity", options={"max_examples": "many"})
    with pytest.raises(
        EvaluationError, match="evaluates causal-lm models; intent:1 is a classifier"
    ):
        run_evaluation(catalog, classifier, "perplexity")
    with pytest.raises(EvaluationError, match=r"no split 'dev' .it has train, validation"):
        run_evaluation(catalog, clm, "perplexity", split="dev")
