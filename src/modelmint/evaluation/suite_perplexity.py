"""perplexity: held-out perplexity of a causal LM on a dataset split, with each document's
summed loss kept so a comparison can resample documents."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from pydantic import Field

from modelmint.evaluation.base import Suite, SuiteInput, SuiteOptions, SuiteOutput, take
from modelmint.modeling import chat_template_kwargs, record_text

DEFAULT_BLOCK = 256
_SHOWN_CHARS = 300  # of each document, in the examples file


class PerplexityOptions(SuiteOptions):
    block_size: int | None = Field(None, ge=2)  # None: 256, or the model's context if shorter


def run(inp: SuiteInput) -> SuiteOutput:
    from modelmint.evaluation.perplexity import text_losses
    from modelmint.modeling import load_causal_lm, load_tokenizer

    opts: PerplexityOptions = inp.options
    assert inp.records is not None
    records = take(inp.records, opts.max_examples)
    model = load_causal_lm(inp.model.path)
    tokenizer = load_tokenizer(inp.model.path)
    block = opts.block_size or min(DEFAULT_BLOCK, int(model.config.max_position_embeddings))
    template_kwargs = chat_template_kwargs(inp.model.path)
    texts = [record_text(r, tokenizer, template_kwargs=template_kwargs) for r in records]
    losses = text_losses(
        model, tokenizer, texts, block_size=block, batch_size=opts.batch_size, progress=inp.progress
    )
    examples = []
    for r, text, nll, n in zip(records, texts, losses.nll, losses.tokens, strict=True):
        examples.append(
            {
                "key": str(r.get("id")),
                "input": text[:_SHOWN_CHARS],
                "reference": None,
                "prediction": None,
                "lang": r.get("lang") or "",
                "scores": {"loss": float(nll / max(1, n))},
                "stats": {"nll": float(nll), "tokens": int(n)},
            }
        )
    resolved = opts.model_copy(update={"block_size": block})
    details = {"tokens": int(losses.tokens.sum()), "documents": len(examples)}
    return SuiteOutput(metrics(examples), examples, resolved.stored(), details)


def metrics(examples: Sequence[dict[str, Any]]) -> dict[str, float]:
    nll = sum(e["stats"]["nll"] for e in examples)
    tokens = sum(e["stats"]["tokens"] for e in examples)
    loss = nll / max(1, tokens)
    return {"perplexity": math.exp(loss), "loss": loss}


SUITE = Suite(
    name="perplexity",
    description="held-out perplexity of a causal LM on a dataset split (lower is better)",
    kinds=frozenset({"causal-lm"}),
    source="dataset",
    options=PerplexityOptions,
    run=run,
    metrics=metrics,
    headline=("perplexity",),
    lower_is_better=frozenset({"perplexity", "loss"}),
    histogram=("loss",),
    example_scores=("loss",),
)
