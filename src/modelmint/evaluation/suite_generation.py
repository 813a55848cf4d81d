"""generation: a chat model answers the conversations of a dataset split (everything up to
the last assistant turn, in its chat template), greedily; its answers are scored against
that assistant turn by BLEU, ROUGE-L and exact match."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import Field

from modelmint.evaluation.base import (
    EvaluationError,
    Suite,
    SuiteInput,
    SuiteOptions,
    SuiteOutput,
    take,
)
from modelmint.evaluation.text import chat_prompt

_SHOWN_CHARS = 600


class GenerationOptions(SuiteOptions):
    max_new_tokens: int = Field(64, ge=1)


def run(inp: SuiteInput) -> SuiteOutput:
    from modelmint.evaluation.decoding import greedy_generate
    from modelmint.evaluation.scoring import generation_metrics, score_generation
    from modelmint.modeling import chat_template_kwargs, load_causal_lm, load_tokenizer

    opts: GenerationOptions = inp.options
    assert inp.records is not None
    tokenizer = load_tokenizer(inp.model.path)
    if not getattr(tokenizer, "chat_template", None):
        raise EvaluationError(
            f"{inp.model.label} has no chat template, so conversations cannot be put to it; "
            "use the custom suite with plain prompts (--file)"
        )
    template_kwargs = chat_template_kwargs(inp.model.path)
    found = [(r, chat_prompt(r, tokenizer, template_kwargs)) for r in inp.records]
    chats = take([(r, pr) for r, pr in found if pr is not None], opts.max_examples)
    if not chats:
        raise EvaluationError(
            "no record of the split is a conversation with an assistant turn; the generation "
            "suite needs chat data (OpenAI messages, ShareGPT or Alpaca when ingested)"
        )
    model = load_causal_lm(inp.model.path)
    predictions = greedy_generate(
        model,
        tokenizer,
        [prompt for _, (prompt, _) in chats],
        max_new_tokens=opts.max_new_tokens,
        batch_size=opts.batch_size,
        progress=inp.progress,
        task="generation",
    )
    examples = [
        {
            "key": str(r.get("id")),
            "input": prompt[-_SHOWN_CHARS:],
            "reference": reference,
            "prediction": prediction,
            **score_generation(prediction, reference),
        }
        for (r, (prompt, reference)), prediction in zip(chats, predictions, strict=True)
    ]
    details = {
        "skipped_without_assistant_turn": len(found) - sum(pr is not None for _, pr in found)
    }
    return SuiteOutput(generation_metrics(examples), examples, opts.stored(), details)


def metrics(examples: Sequence[dict[str, Any]]) -> dict[str, float]:
    from modelmint.evaluation.scoring import generation_metrics

    return generation_metrics(examples)


SUITE = Suite(
    name="generation",
    description="greedy answers to the split's conversations: BLEU, ROUGE-L, exact match",
    kinds=frozenset({"causal-lm"}),
    source="dataset",
    options=GenerationOptions,
    run=run,
    metrics=metrics,
    headline=("bleu", "rouge_l"),
    histogram=("bleu", "rouge_l"),
    example_scores=("bleu", "rouge_l", "exact_match"),
)
