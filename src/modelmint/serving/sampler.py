"""Choosing the next token of every running sequence from one batch of logits.

Penalties, temperature, top-k and top-p are applied to the whole batch at once; the draw
itself uses each sequence's own random generator, so a request with a ``seed`` gets the
same tokens whatever else shares its batch."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import torch

from modelmint.errors import UserError

# The smallest temperature or repetition penalty divided by: an API value such as 1e-50 is
# 0 in float32, and dividing by it gives NaN probabilities.
MIN_DIVISOR = 1e-6
# torch.Generator.manual_seed takes [-2^63, 2^64); any integer seed is folded into it, so
# no seed (nor seed + i for choice i) can make seeding raise.
SEED_SPACE = 1 << 64


class InvalidSampling(UserError, ValueError):
    """A sampling parameter no sequence can run with; ``field`` names it."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(f"{field_name}: {message}")
        self.field = field_name


def generator(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed % SEED_SPACE)


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

    def checked(self, vocab_size: int) -> SamplingParams:
        """These parameters, safe for the batched sampler: every number finite and in its
        range (`InvalidSampling` otherwise), ``top_k`` at most the vocabulary (a larger one
        keeps every token, and would not fit a tensor), ``logprobs`` at most the vocabulary.
        The engine checks each sequence with it, so one request's values can never fail a
        step that other requests share."""
        for name in ("temperature", "top_p", "presence_penalty", "frequency_penalty"):
            if not math.isfinite(getattr(self, name)):
                raise InvalidSampling(name, "must be a finite number")
        if not math.isfinite(self.repetition_penalty) or self.repetition_penalty <= 0:
            raise InvalidSampling("repetition_penalty", "must be a finite number above 0")
        if self.temperature < 0:
            raise InvalidSampling("temperature", "must be 0 or more")
        if not 0 < self.top_p <= 1:
            raise InvalidSampling("top_p", "must be above 0 and at most 1")
        if self.max_tokens < 0:
            raise InvalidSampling("max_tokens", "must be 0 or more")
        if self.logprobs is not None and self.logprobs < 0:
            raise InvalidSampling("logprobs", "must be 0 or more")
        top_k = self.top_k if 0 < self.top_k < vocab_size else 0
        logprobs = None if self.logprobs is None else min(self.logprobs, vocab_size)
        if (top_k, logprobs) == (self.top_k, self.logprobs):
            return self
        return replace(self, top_k=top_k, logprobs=logprobs)

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
    for b, s in enumerate(states):
        if s.params.penalized:
            _penalize(logits[b], s)


def _penalize(row: torch.Tensor, s: SamplingState) -> None:
    p, vocab = s.params, row.shape[-1]
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


def sample(logits: torch.Tensor, states: Sequence[SamplingState]) -> list[int | Exception]:
    """One token per row of ``logits`` (float32 ``[rows, vocab]``, modified in place), or
    the error that row alone met: what one sequence brings (its penalties, its draw from
    probabilities its logits made NaN) fails that sequence, never its neighbours. The
    batched steps between run on parameters `SamplingParams.checked` bounded."""
    drawn: list[int | Exception] = [0] * len(states)
    for b, s in enumerate(states):
        if s.params.penalized:
            try:
                _penalize(logits[b], s)
            except Exception as e:
                drawn[b] = e
    greedy = [s.params.greedy for s in states]
    best = logits.argmax(dim=-1).tolist()
    for b, g in enumerate(greedy):
        if g and not isinstance(drawn[b], Exception):
            drawn[b] = best[b]
    rows = [b for b, g in enumerate(greedy) if not g and not isinstance(drawn[b], Exception)]
    if not rows:
        return drawn
    picked = logits[rows]
    temperature = torch.tensor([states[b].params.temperature for b in rows]).clamp_min(MIN_DIVISOR)
    picked /= temperature[:, None]
    top_k = torch.tensor([states[b].params.top_k for b in rows])
    top_p = torch.tensor([states[b].params.top_p for b in rows])
    if bool((top_k > 0).any() or (top_p < 1.0).any()):
        _filter_top_k_top_p(picked, top_k, top_p)
    probs = torch.softmax(picked, dim=-1)
    for i, b in enumerate(rows):
        try:
            drawn[b] = int(torch.multinomial(probs[i], 1, generator=states[b].generator))
        except Exception as e:
            drawn[b] = e
    return drawn
