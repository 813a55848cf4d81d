"""The generation and custom suites on a micro causal LM: batched greedy decoding, choice
log-likelihoods, few-shot prompts, and errors in custom files."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch

from modelmint.catalog import Catalog, ModelRef
from modelmint.evaluation import EvaluationError, run_evaluation
from modelmint.evaluation.custom_file import read_custom_file, with_shots
from modelmint.evaluation.decoding import continuation_logprobs, greedy_generate
from modelmint.evaluation.scoring import generation_metrics, score_generation
from modelmint.modeling import load_causal_lm, load_tokenizer

pytestmark = pytest.mark.slow

PROMPTS = ["您好，我的订单", "Where is my order", "退款", "I would like to change the shipping"]


def write_jsonl(path: Path, rows: list[object]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n")
    return path


def test_batched_greedy_decoding_equals_one_prompt_at_a_time(clm: ModelRef) -> None:
    model, tok = load_causal_lm(clm.path), load_tokenizer(clm.path)
    batched = greedy_generate(model, tok, PROMPTS, max_new_tokens=12, batch_size=4)
    single = [greedy_generate(model, tok, [p], max_new_tokens=12, batch_size=1)[0] for p in PROMPTS]
    assert batched == single
    assert any(batched)  # a trained model says something


def test_choice_log_likelihood_is_the_sum_of_the_models_token_log_probs(clm: ModelRef) -> None:
    model, tok = load_causal_lm(clm.path), load_tokenizer(clm.path)
    pairs = [("您好，我的订单", "什么时候发货？"), ("Where is my order", "? It shipped.")]
    got = continuation_logprobs(model, tok, pairs, batch_size=2)
    for (context, choice), value in zip(pairs, got, strict=True):
        ctx = tok(context, add_special_tokens=False)["input_ids"]
        whole = tok(context + choice, add_special_tokens=False)["input_ids"]
        with torch.no_grad():
            logits = model(input_ids=torch.tensor([whole])).logits[0]
        logprobs = torch.log_softmax(logits, -1)
        direct = sum(float(logprobs[i - 1, whole[i]]) for i in range(len(ctx), len(whole)))
        assert math.isclose(value, direct, rel_tol=1e-4)


def test_generation_suite_answers_conversations_and_scores_them(
    catalog: Catalog, clm: ModelRef
) -> None:
    result = run_evaluation(
        catalog, clm, "generation", options={"max_examples": 6, "max_new_tokens": 8}
    )
    examples = result.examples()
    assert len(examples) == 6
    for e in examples:
        assert e["input"].endswith("<|im_start|>assistant\n")  # up to the assistant's cue
        assert score_generation(e["prediction"], e["reference"])["scores"] == e["scores"]
    assert result.metrics == pytest.approx(generation_metrics(examples))
    assert {e["lang"] for e in examples} <= {"zh", "en"}


def test_custom_multiple_choice_picks_the_likeliest_choice(
    catalog: Catalog, clm: ModelRef, tmp_path: Path
) -> None:
    items = [
        {"prompt": "您好，我的订单", "choices": ["什么时候发货？", "qzx vvk"], "reference": 0},
        {"prompt": "Where is my order", "choices": ["zzq!", "? It shipped."], "reference": "zzq!"},
        {"id": "third", "prompt": "退款", "choices": ["已经处理", "kk"], "reference": "已经处理"},
    ]
    path = write_jsonl(tmp_path / "mc.jsonl", items)
    result = run_evaluation(catalog, clm, "custom", dataset=str(path))
    examples = result.examples()
    model, tok = load_causal_lm(clm.path), load_tokenizer(clm.path)
    for item, e in zip(items, examples, strict=True):
        ll = continuation_logprobs(
            model, tok, [(item["prompt"], c) for c in item["choices"]], batch_size=2
        )
        assert e["stats"]["loglikelihoods"] == pytest.approx(ll, rel=1e-4)
        assert e["prediction"] == item["choices"][max(range(2), key=ll.__getitem__)]
    assert examples[2]["key"] == "third" and examples[0]["key"] == "line 1"
    assert result.metrics["accuracy"] == pytest.approx(
        sum(e["scores"]["correct"] for e in examples) / 3
    )
    assert result.dataset == str(path) and result.split is None


def test_few_shot_prompts_are_fixed_by_the_seed_and_never_show_the_item(tmp_path: Path) -> None:
    rows = [{"prompt": f"Q{i}:", "reference": f" A{i}"} for i in range(8)]
    items = read_custom_file(write_jsonl(tmp_path / "gen.jsonl", rows))
    a = with_shots(items, 3, num_fewshot=3, seed=7, separator="\n##\n")
    assert a == with_shots(items, 3, num_fewshot=3, seed=7, separator="\n##\n")
    assert a.endswith("\n##\nQ3:") and a.count("\n##\n") == 3 and "A3" not in a
    shots = {with_shots(items, 3, num_fewshot=3, seed=s, separator="|") for s in range(6)}
    assert len(shots) > 1  # the seed chooses the shots
    with pytest.raises(EvaluationError, match="only 7 other items"):
        with_shots(items, 0, num_fewshot=8, seed=0, separator="\n")


def test_custom_generation_with_few_shots_runs_and_stores_its_options(
    catalog: Catalog, clm: ModelRef, tmp_path: Path
) -> None:
    rows = [
        {"prompt": "Customer: Where is my order?\nAgent:", "reference": " It ships today."},
        {"prompt": "客户：我要退款\n客服：", "reference": "好的，已为您处理退款。"},
        {"prompt": "Customer: Thanks!\nAgent:", "reference": " You're welcome."},
    ]
    path = write_jsonl(tmp_path / "gen.jsonl", rows)
    options = {"num_fewshot": 2, "max_new_tokens": 6, "fewshot_seed": 3}
    result = run_evaluation(catalog, clm, "custom", dataset=str(path), options=options)
    examples = result.examples()
    assert examples[1]["lang"] == "zh" and examples[0]["lang"] == "en"
    assert examples[0]["input"].count("\n\n") == 2  # two shots before the item
    assert result.options["num_fewshot"] == 2 and "batch_size" not in result.options
    assert set(result.metrics) == {"bleu", "rouge_l", "exact_match"}


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ('{"prompt": "a", "reference": "b"', "line 2: not valid JSON"),
        ('{"prompt": "a"}', "line 2, field 'reference': missing"),
        ('{"prompt": 3, "reference": "b"}', "line 2, field 'prompt': must be a non-empty string"),
        (
            '{"prompt": "a", "refrence": "b"}',
            "line 2, field 'refrence': unknown field; did you mean 'reference'",
        ),
        (
            '{"prompt": "a", "reference": "c", "choices": ["a", "b"]}',
            "line 2, field 'reference': must be one of the choices",
        ),
        (
            '{"prompt": "a", "reference": 5, "choices": ["a", "b"]}',
            "line 2, field 'reference': index 5",
        ),
        (
            '{"prompt": "a", "reference": "a", "choices": ["a"]}',
            "line 2, field 'choices': must be a list of at least two",
        ),
        ("[1, 2]", "line 2: expected a JSON object"),
    ],
)
def test_bad_custom_lines_name_the_file_line_and_field(
    tmp_path: Path, line: str, expected: str
) -> None:
    path = tmp_path / "bad.jsonl"
    path.write_text('{"prompt": "ok", "reference": "fine"}\n' + line + "\n")
    with pytest.raises(EvaluationError) as caught:
        read_custom_file(path)
    assert str(caught.value).startswith(f"{path}, ")
    assert expected in str(caught.value)


def test_a_file_mixing_choices_and_generation_is_refused(tmp_path: Path) -> None:
    path = write_jsonl(
        tmp_path / "mixed.jsonl",
        [
            {"prompt": "a", "reference": "b"},
            {"prompt": "a", "reference": "x", "choices": ["x", "y"]},
        ],
    )
    with pytest.raises(EvaluationError, match=r"line 2, field 'choices': line 1 has no choices"):
        read_custom_file(path)
