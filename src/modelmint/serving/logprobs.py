"""How likely the model found each token: the data behind ``logprobs`` and ``echo``, for the
prompt (one forward pass, ``Engine.score``) and for generated tokens (the decoding
loop). Knows tensors; the gateway only shapes these records into JSON."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from transformers import PreTrainedTokenizerBase

# JSON has no -inf; a token the model rules out entirely gets this floor, as vLLM does.
LOGPROB_FLOOR = -9999.0


@dataclass(frozen=True)
class TokenLogprob:
    """One token of a prompt or an answer.

    ``logprob`` is None for the first prompt token, which nothing predicts. ``top`` holds the
    most likely tokens at that position, best first, as (token text, logprob). ``text_offset``
    is where the token's text starts in the decoded prompt, or in the answer."""

    token_id: int
    token: str
    logprob: float | None
    top: tuple[tuple[str, float], ...]
    text_offset: int


@dataclass(frozen=True)
class PromptScores:
    """Every prompt token with its log-probability given the tokens before it."""

    tokens: tuple[TokenLogprob, ...]

    @property
    def total(self) -> float:
        return sum(t.logprob for t in self.tokens if t.logprob is not None)


def _byte_level_table() -> dict[str, int]:
    """GPT-2's byte-level BPE alphabet, printable character -> byte."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    table = {chr(b): b for b in printable}
    shifted = 0
    for b in range(256):
        if b not in printable:
            table[chr(256 + shifted)] = b
            shifted += 1
    return table


_BYTE_LEVEL = _byte_level_table()


class TokenTexts:
    """The text a token id is shown as in logprobs.

    A byte-level token can hold part of a UTF-8 character, which decodes to U+FFFD on its
    own; such a token is shown by its bytes (``bytes:\\xe6\\x88``), as OpenAI does, so two
    different tokens never share a key in ``top_logprobs``."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase) -> None:
        self.tokenizer = tokenizer
        self._cache: dict[int, str] = {}

    def __call__(self, token_id: int) -> str:
        text = self._cache.get(token_id)
        if text is None:
            text = self._cache[token_id] = self._text_of(token_id)
        return text

    def _text_of(self, token_id: int) -> str:
        text = str(self.tokenizer.decode([token_id], skip_special_tokens=False))
        if "\ufffd" not in text:
            return text
        piece = str(self.tokenizer.convert_ids_to_tokens(token_id))
        if piece and all(c in _BYTE_LEVEL for c in piece):
            return "bytes:" + "".join(f"\\x{_BYTE_LEVEL[c]:02x}" for c in piece)
        return piece


def _finite(x: float) -> float:
    return max(x, LOGPROB_FLOOR)


def token_logprob(
    logprobs: torch.Tensor, token_id: int, top_k: int, texts: TokenTexts, text_offset: int
) -> TokenLogprob:
    """The record for ``token_id`` at one position, from that position's log-softmax."""
    top: tuple[tuple[str, float], ...] = ()
    if top_k > 0:
        values, ids = torch.topk(logprobs, min(top_k, logprobs.shape[-1]))
        top = tuple((texts(int(i)), _finite(float(v))) for v, i in zip(values, ids, strict=True))
    return TokenLogprob(
        token_id, texts(token_id), _finite(float(logprobs[token_id])), top, text_offset
    )


def prompt_text_offsets(ids: Sequence[int], decode: Callable[[list[int]], str]) -> list[int]:
    """Where each token's text starts in the decoded prompt. Decoding each prefix (rather than
    adding up token lengths) keeps offsets right across tokens that split a character."""
    return [len(decode(list(ids[:i])).rstrip("\ufffd")) for i in range(len(ids))]
