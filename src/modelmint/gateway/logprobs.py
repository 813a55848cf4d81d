"""The ``logprobs`` object of a legacy completion choice, in OpenAI's shape, from the
engine's per-token records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from modelmint.gateway.schemas import CompletionLogprobs
from modelmint.serving import TokenLogprob


def _alternatives(t: TokenLogprob) -> dict[str, float] | None:
    if t.logprob is None:
        return None
    top: dict[str, float] = {}
    for text, logprob in t.top:
        top.setdefault(text, logprob)
    # OpenAI always lists the chosen token too, so a choice may hold logprobs + 1 entries.
    top.setdefault(t.token, t.logprob)
    return top


def completion_logprobs(
    prompt_tokens: Sequence[TokenLogprob],
    answer_tokens: Sequence[TokenLogprob],
    answer_start: int,
    text_length: int,
) -> CompletionLogprobs:
    """``prompt_tokens`` are echoed ones (offsets into the prompt text, which starts the
    choice's text); ``answer_tokens``' offsets are shifted by ``answer_start``, where the
    answer begins. A stop string can cut the text short of a token's offset, so offsets are
    clamped to ``text_length``."""
    placed: Iterable[tuple[TokenLogprob, int]] = [
        *((t, t.text_offset) for t in prompt_tokens),
        *((t, answer_start + t.text_offset) for t in answer_tokens),
    ]
    out = CompletionLogprobs(tokens=[], token_logprobs=[], top_logprobs=[], text_offset=[])
    for t, offset in placed:
        out.tokens.append(t.token)
        out.token_logprobs.append(t.logprob)
        out.top_logprobs.append(_alternatives(t))
        out.text_offset.append(min(offset, text_length))
    return out
