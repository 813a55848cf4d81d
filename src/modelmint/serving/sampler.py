"""Choosing the next token of every running sequence from one batch of logits.

Penalties, temperature, top-k and top-p are applied to the whole batch at once; the draw
itself uses each sequence's own random generator, so a request with a ``seed`` gets the
same tokens whatever else shares its batch."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

# The smallest temperature or repetition penalty divided by: an API value such as 1e-50 is
# 0 in float32, and dividing by it gives NaN probabilities.
MIN_DIVISOR = 1e-6


@dataclass(frozen=True)
class SamplingParams:
    """``logprobs``: None for none; otherwise the log-probability of every generated token
    with that many top alternatives (0 for the token's own only). Penalties follow OpenAI
    (presence, frequency: subtracted per generated occurrence) and the Hugging Face
    ``repetition_penalty`` (divides the logit of any token already in prompt or answer)."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0
    seed: int | None = None
    stop: Sequence[str] = field(default_factory=tuple)
    logprobs: int | None = None
    presence_penalty: float = 0.0
    frequency_penalty: float = 0.0
    repetition_penalty: float = 1.0

    @property
    def greedy(self) -> bool:
        return self.temperature <= 0 or self.top_k == 1

    @property
    def penalized(self) -> bool:
        return bool(self.presence_penalty or self.frequency_penalty) or (
            self.repetition_penalty != 1.0
        )


@dataclass
class SamplingState:
    """What sampling needs to know about one sequence."""

    params: SamplingParams
    generator: torch.Generator
    prompt_ids: Sequence[int]
    output_ids: list[int]


def apply_penalties(logits: torch.Tensor, states: Sequence[SamplingState]) -> None:
    vocab = logits.shape[-1]
    for b, s in enumerate(states):
        p = s.params
        if not p.penalized:
            continue
        row = logits[b]
        if p.repetition_penalty != 1.0:
            # a penalty below float32's range would be 0 here: a division by zero
            penalty = max(p.repetition_penalty, MIN_DIVISOR)
            seen = torch.as_tensor([*s.prompt_ids, *s.output_ids], dtype=torch.long)
            seen = seen[seen < vocab].unique()
            picked = row[seen]
            row[seen] = torch.where(picked > 0, picked / penalty, picked * penalty)
        if s.output_ids and (p.presence_penalty or p.frequency_penalty):
            counts = torch.bincount(torch.as_tensor(s.output_ids), minlength=vocab)[:vocab]
            row -= counts.to(row.dtype) * p.frequency_penalty
            row -= (counts > 0).to(row.dtype) * p.presence_penalty


def _filter_top_k_top_p(logits: torch.Tensor, top_k: torch.Tensor, top_p: torch.Tensor) -> None:
    """Sets to -inf every logit outside its row's top-k and top-p set (always keeps one)."""
    ordered, order = torch.sort(logits, dim=-1, descending=True)
    rank = torch.arange(logits.shape[-1])[None, :]
    drop = (top_k[:, None] > 0) & (rank >= top_k[:, None])
    probs = torch.softmax(ordered, dim=-1)
    drop |= (torch.cumsum(probs, dim=-1) - probs) >= top_p[:, None]
    drop[:, 0] = False
    logits.scatter_(1, order, ordered.masked_fill(drop, float("-inf")))


def sample(logits: torch.Tensor, states: Sequence[SamplingState]) -> list[int]:
    """One token per row of ``logits`` (float32 ``[rows, vocab]``, modified in place)."""
    apply_penalties(logits, states)
    greedy = [s.params.greedy for s in states]
    tokens = logits.argmax(dim=-1).tolist()
    if all(greedy):
        return tokens
    rows = [b for b, g in enumerate(greedy) if not g]
    picked = logits[rows]
    temperature = torch.tensor([states[b].params.temperature for b in rows]).clamp_min(MIN_DIVISOR)
    picked /= temperature[:, None]
    top_k = torch.tensor([states[b].params.top_k for b in rows])
    top_p = torch.tensor([states[b].params.top_p for b in rows])
    if bool((top_k > 0).any() or (top_p < 1.0).any()):
        _filter_top_k_top_p(picked, top_k, top_p)
    probs = torch.softmax(picked, dim=-1)
    for i, b in enumerate(rows):
        tokens[b] = int(torch.multinomial(probs[i], 1, generator=states[b].generator))
    return tokens
