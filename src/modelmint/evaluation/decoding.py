"""What suites ask of a causal LM: greedy continuations of prompts, in batches, and the
log-likelihood of a continuation given a context (multiple choice)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from modelmint.evaluation.base import EvaluationError
from modelmint.modeling import stop_token_ids
from modelmint.observability import ProgressEvent, ProgressFn, no_progress


def _context_limit(model: Any) -> int:
    return int(model.config.max_position_embeddings)


def _model_dir(model: Any) -> Path | None:
    """The directory a model was loaded from (transformers keeps it as ``name_or_path``),
    whose files name its own end tokens; None for a model built in memory."""
    path = Path(str(getattr(model, "name_or_path", "") or ""))
    return path if str(path) not in ("", ".") and path.is_dir() else None


@torch.no_grad()
def greedy_generate(
    model: Any,
    tokenizer: Any,
    prompts: Sequence[str],
    *,
    max_new_tokens: int,
    batch_size: int,
    progress: ProgressFn = no_progress,
    task: str = "generate",
) -> list[str]:
    """Greedy continuations, each cut at the first end-of-text or chat-turn token and
    decoded without special tokens. A prompt too long for the context keeps its end."""
    room = _context_limit(model) - max_new_tokens
    if room < 1:
        raise EvaluationError(
            f"max_new_tokens={max_new_tokens} leaves no room for a prompt in the model's "
            f"{_context_limit(model)}-token context; lower it"
        )
    stops = stop_token_ids(tokenizer, _model_dir(model))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else stops[0]
    encoded = [
        tokenizer(p, add_special_tokens=False)["input_ids"][-room:] or [stops[0]] for p in prompts
    ]
    # Similar lengths in a batch waste less compute on padding; results keep prompt order.
    order = sorted(range(len(prompts)), key=lambda i: len(encoded[i]))
    outputs: list[str] = [""] * len(prompts)
    model.eval()
    for first in range(0, len(order), batch_size):
        batch = order[first : first + batch_size]
        width = max(len(encoded[i]) for i in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for row, i in enumerate(batch):  # left padding: every prompt ends where generation starts
            ids[row, width - len(encoded[i]) :] = torch.tensor(encoded[i])
            mask[row, width - len(encoded[i]) :] = 1
        out = model.generate(
            input_ids=ids.to(model.device),
            attention_mask=mask.to(model.device),
            max_new_tokens=max_new_tokens,
            do_sample=False,
            eos_token_id=stops,
            pad_token_id=pad,
        )
        for row, i in enumerate(batch):
            new = out[row, width:].tolist()
            end = next((k for k, t in enumerate(new) if t in stops), len(new))
            outputs[i] = tokenizer.decode(new[:end], skip_special_tokens=True).strip()
        progress(ProgressEvent(task, min(first + batch_size, len(order)), len(order)))
    return outputs


def encode_pair(tokenizer: Any, context: str, continuation: str) -> tuple[list[int], list[int]]:
    """Context and continuation tokens as lm-evaluation-harness splits them: trailing spaces
    of the context move to the continuation, and the continuation is what encoding the whole
    adds after the context's tokens. An empty context is the end-of-text token."""
    spaces = len(context) - len(context.rstrip())
    if spaces:
        context, continuation = context[:-spaces], context[-spaces:] + continuation
    if not context:
        return [tokenizer.eos_token_id], tokenizer(continuation, add_special_tokens=False)[
            "input_ids"
        ]
    whole = tokenizer(context + continuation, add_special_tokens=False)["input_ids"]
    ctx = tokenizer(context, add_special_tokens=False)["input_ids"]
    return ctx, whole[len(ctx) :]


@torch.no_grad()
def continuation_logprobs(
    model: Any,
    tokenizer: Any,
    pairs: Sequence[tuple[str, str]],
    *,
    batch_size: int,
    progress: ProgressFn = no_progress,
    task: str = "log-likelihood",
) -> list[float]:
    """Summed log-probability of each continuation given its context; a pair too long for
    the context window keeps the end of the context."""
    limit = _context_limit(model)
    rows = []
    for context, continuation in pairs:
        ctx, cont = encode_pair(tokenizer, context, continuation)
        if not cont:
            raise EvaluationError(f"the choice {continuation!r} encodes to no tokens")
        whole = (ctx + cont)[-(limit + 1) :]
        rows.append((whole[:-1], len(cont), whole[-len(cont) :]))
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    scores: list[float] = []
    model.eval()
    for first in range(0, len(rows), batch_size):
        batch = rows[first : first + batch_size]
        width = max(len(inp) for inp, _, _ in batch)
        ids = torch.full((len(batch), width), pad, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for r, (inp, _, _) in enumerate(batch):
            ids[r, : len(inp)] = torch.tensor(inp)
            mask[r, : len(inp)] = 1
        logits = model(input_ids=ids.to(model.device), attention_mask=mask.to(model.device)).logits
        logprobs = torch.log_softmax(logits.float().cpu(), dim=-1)
        for r, (inp, n, target) in enumerate(batch):
            picked = logprobs[r, len(inp) - n : len(inp)].gather(1, torch.tensor(target)[:, None])
            scores.append(float(picked.sum()))
        progress(ProgressEvent(task, min(first + batch_size, len(rows)), len(rows)))
    return scores
