"""The ``logprobs`` objects of OpenAI's answers (a legacy completion choice's, a chat
choice's) from the engine's per-token records."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from modelmint.gateway.schemas import (
    ChatLogprobs,
    ChatTokenLogprob,
    CompletionLogprobs,
    TopLogprob,
)
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


def _top(token: str, logprob: float) -> TopLogprob:
    return TopLogprob(token=token, logprob=logprob, bytes=list(token.encode("utf-8")))


def chat_logprobs(answer_tokens: Sequence[TokenLogprob], top_k: int) -> ChatLogprobs:
    """Every answer token with its ``top_k`` best alternatives (best first)."""
    content = []
    for t in answer_tokens:
        if t.logprob is None:  # only a first prompt token has none; answers always do
            continue
        own = _top(t.token, t.logprob)
        top = [_top(text, lp) for text, lp in t.top[:top_k]]
        content.append(ChatTokenLogprob(**own.model_dump(), top_logprobs=top))
    return ChatLogprobs(content=content)
