"""custom: a suite from a JSONL file (see custom_file). Multiple-choice items are scored by
the log-likelihood of each choice after the prompt (accuracy, and accuracy with the
log-likelihood divided by the choice's length in bytes, as lm-evaluation-harness's
acc_norm); the others are answered greedily and scored by exact match, BLEU and ROUGE-L."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
from pydantic import Field

from modelmint.evaluation.base import Suite, SuiteInput, SuiteOptions, SuiteOutput, take
from modelmint.evaluation.custom_file import CustomItem, read_custom_file, with_shots
from modelmint.evaluation.text import language_of

_SHOWN_CHARS = 600


class CustomOptions(SuiteOptions):
    num_fewshot: int = Field(0, ge=0)
    fewshot_seed: int = 1234
    fewshot_separator: str = "\n\n"
    max_new_tokens: int = Field(64, ge=1)  # generation items
    use_chat_template: bool = False  # put each prompt to the model as a user turn


def run(inp: SuiteInput) -> SuiteOutput:
    from modelmint.evaluation.decoding import greedy_generate
    from modelmint.evaluation.scoring import score_generation
    from modelmint.modeling import (
        chat_template_kwargs,
        load_causal_lm,
        load_tokenizer,
        render_chat,
    )

    opts: CustomOptions = inp.options
    assert inp.file is not None
    items = read_custom_file(inp.file)
    chosen = take(list(range(len(items))), opts.max_examples)
    tokenizer = load_tokenizer(inp.model.path)
    template_kwargs = chat_template_kwargs(inp.model.path)
    contexts = []
    for i in chosen:
        context = with_shots(
            items,
            i,
            num_fewshot=opts.num_fewshot,
            seed=opts.fewshot_seed,
            separator=opts.fewshot_separator,
        )
        if opts.use_chat_template:
            context = render_chat(
                tokenizer,
                [{"role": "user", "content": context}],
                add_generation_prompt=True,
                template_kwargs=template_kwargs,
            )
        contexts.append(str(context))
    model = load_causal_lm(inp.model.path)
    picked = [items[i] for i in chosen]
    if picked[0].choices is not None:
        examples = _multiple_choice(inp, opts, model, tokenizer, picked, contexts)
    else:
        predictions = greedy_generate(
            model,
            tokenizer,
            contexts,
            max_new_tokens=opts.max_new_tokens,
            batch_size=opts.batch_size,
            progress=inp.progress,
            task="custom",
        )
        examples = [
            {
                "key": item.key,
                "input": context[-_SHOWN_CHARS:],
                "reference": item.reference,
                "prediction": prediction,
                **score_generation(prediction, item.reference),
            }
            for item, context, prediction in zip(picked, contexts, predictions, strict=True)
        ]
    kind = "multiple_choice" if picked[0].choices is not None else "generation"
    return SuiteOutput(metrics(examples), examples, opts.stored(), {"kind": kind})


def _multiple_choice(
    inp: SuiteInput,
    opts: CustomOptions,
    model: Any,
    tokenizer: Any,
    items: list[CustomItem],
    contexts: list[str],
) -> list[dict[str, Any]]:
    from modelmint.evaluation.decoding import continuation_logprobs

    pairs = [
        (c, choice)
        for item, c in zip(items, contexts, strict=True)
        for choice in item.choices or ()
    ]
    scores = continuation_logprobs(
        model, tokenizer, pairs, batch_size=opts.batch_size, progress=inp.progress, task="custom"
    )
    examples, at = [], 0
    for item, context in zip(items, contexts, strict=True):
        choices, answer = item.choices or (), item.answer or 0
        ll = np.asarray(scores[at : at + len(choices)])
        at += len(choices)
        per_byte = ll / np.asarray([len(c.encode("utf-8")) for c in choices])
        guess, guess_norm = int(ll.argmax()), int(per_byte.argmax())
        examples.append(
            {
                "key": item.key,
                "input": context[-_SHOWN_CHARS:],
                "reference": item.reference,
                "prediction": choices[guess],
                "lang": language_of(item.prompt + item.reference),
                "scores": {
                    "correct": float(guess == answer),
                    "correct_norm": float(guess_norm == answer),
                    "margin": float(ll[answer] - np.delete(ll, answer).max()),
                },
                "stats": {"loglikelihoods": ll.tolist()},
            }
        )
    return examples


def metrics(examples: Sequence[dict[str, Any]]) -> dict[str, float]:
    if examples and "correct" in examples[0]["scores"]:
        return {
            "accuracy": float(np.mean([e["scores"]["correct"] for e in examples])),
            "accuracy_norm": float(np.mean([e["scores"]["correct_norm"] for e in examples])),
        }
    from modelmint.evaluation.scoring import generation_metrics

    return generation_metrics(examples)


SUITE = Suite(
    name="custom",
    description="items from a JSONL file: multiple choice by log-likelihood, or generation",
    kinds=frozenset({"causal-lm"}),
    source="file",
    options=CustomOptions,
    run=run,
    metrics=metrics,
    headline=("accuracy", "bleu", "exact_match"),
    histogram=("margin", "bleu", "rouge_l"),
    example_scores=("correct", "margin", "bleu", "rouge_l"),
)
