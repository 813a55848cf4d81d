"""What every engine gives the gateway: streams of text pieces and prompt scores, over
token ids the gateway has already counted."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Protocol

from modelmint.serving.logprobs import PromptScores, TokenLogprob
from modelmint.serving.sampler import SamplingParams
from modelmint.serving.text import TextCodec


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer. ``completion_tokens`` counts all tokens generated so far;
    ``finish_reason`` is set on the last piece: "stop", "length" or "cancelled".
    ``logprobs`` covers the tokens generated since the previous piece, when asked for."""

    text: str
    completion_tokens: int
    finish_reason: str | None = None
    logprobs: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True)
class Completion:
    text: str
    completion_tokens: int
    finish_reason: str
    logprobs: tuple[TokenLogprob, ...] = ()


class TextEngine(Protocol):
    codec: TextCodec

    def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]: ...

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion: ...

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores: ...

    def close(self) -> None: ...


async def collect(stream: AsyncIterator[TextDelta]) -> Completion:
    """A whole completion from a stream of pieces."""
    parts: list[str] = []
    logprobs: list[TokenLogprob] = []
    last = TextDelta("", 0, "stop")
    async for delta in stream:
        parts.append(delta.text)
        logprobs.extend(delta.logprobs)
        last = delta
    return Completion(
        "".join(parts), last.completion_tokens, last.finish_reason or "stop", tuple(logprobs)
    )
