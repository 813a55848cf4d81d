"""One model, one sequence at a time: the decoding loop with a KV cache, sampling and
stop handling, and scoring a prompt in one forward pass. Knows tensors; knows nothing of
HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import DynamicCache

from modelmint.modeling import load_causal_lm, load_tokenizer, stop_token_ids
from modelmint.serving.detokenize import IncrementalDecoder
from modelmint.serving.logprobs import (
    PromptScores,
    TokenLogprob,
    TokenTexts,
    prompt_text_offsets,
    token_logprob,
)


@dataclass(frozen=True)
class SamplingParams:
    """``logprobs``: None for none; otherwise the log-probability of every generated token
    with that many top alternatives (0 for the token's own only)."""

    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: Sequence[str] = field(default_factory=tuple)
    logprobs: int | None = None


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
class TokenizerInfo:
    """What a client needs to tokenize as the server does (lm-evaluation-harness's remote
    tokenizer reads the special tokens from here)."""

    tokenizer_class: str
    bos_token: str | None
    eos_token: str | None
    pad_token: str | None
    unk_token: str | None
    model_max_length: int
    chat_template: str | None


def sample_next(logits: torch.Tensor, params: SamplingParams, generator: torch.Generator) -> int:
    if params.temperature <= 0:
        return int(torch.argmax(logits))
    probs = torch.softmax(logits.float() / params.temperature, dim=-1)
    if params.top_p < 1.0:
        sorted_probs, order = torch.sort(probs, descending=True)
        # Keep the smallest set of tokens whose mass reaches top_p (always at least one).
        outside = torch.cumsum(sorted_probs, dim=-1) - sorted_probs >= params.top_p
        sorted_probs[outside] = 0.0
        probs = torch.zeros_like(probs).scatter(-1, order, sorted_probs)
    return int(torch.multinomial(probs, 1, generator=generator))


class TextGenerator:
    def __init__(self, path: Path, *, threads: int | None = None) -> None:
        if threads:
            torch.set_num_threads(threads)
        self.tokenizer = load_tokenizer(path)
        self.model = load_causal_lm(path)
        self.context_length = int(self.model.config.max_position_embeddings)
        self.stop_ids = set(stop_token_ids(self.tokenizer))
        self.token_texts = TokenTexts(self.tokenizer)

    @property
    def vocab_size(self) -> int:
        """Token ids below this are valid input."""
        return len(self.tokenizer)

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=add_special_tokens))

    def render_chat(
        self, messages: Sequence[dict[str, str]], *, add_generation_prompt: bool = True
    ) -> str:
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=add_generation_prompt
            )
        )

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=skip_special_tokens))

    def tokenizer_info(self) -> TokenizerInfo:
        tok = self.tokenizer
        template = tok.chat_template if isinstance(tok.chat_template, str) else None
        return TokenizerInfo(
            tokenizer_class=type(tok).__name__,
            bos_token=tok.bos_token,
            eos_token=tok.eos_token,
            pad_token=tok.pad_token,
            unk_token=tok.unk_token,
            model_max_length=self.context_length,
            chat_template=template,
        )

    @torch.inference_mode()
    def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        """Each prompt token's log-probability given the ones before it, with the ``top_k``
        most likely tokens at each position."""
        ids = list(prompt_ids)
        logits = self.model(input_ids=torch.tensor([ids], dtype=torch.long)).logits[0, :-1]
        logprobs = torch.log_softmax(logits.float(), dim=-1)
        offsets = prompt_text_offsets(ids, lambda p: self.decode(p, skip_special_tokens=False))
        first = TokenLogprob(ids[0], self.token_texts(ids[0]), None, (), 0)
        rest = (
            token_logprob(logprobs[i - 1], ids[i], top_k, self.token_texts, offsets[i])
            for i in range(1, len(ids))
        )
        return PromptScores((first, *rest))

    @torch.inference_mode()
    def generate(
        self,
        prompt_ids: Sequence[int],
        params: SamplingParams,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> Iterator[TextDelta]:
        seed = params.seed if params.seed is not None else secrets.randbits(63)
        rng = torch.Generator().manual_seed(seed)
        cache = DynamicCache()
        ids = torch.tensor([list(prompt_ids)], dtype=torch.long)
        decoder = IncrementalDecoder(self.decode, params.stop)
        pending: list[TokenLogprob] = []
        n = 0

        def delta(text: str, finish_reason: str | None = None) -> TextDelta:
            piece = TextDelta(text, n, finish_reason, tuple(pending))
            pending.clear()
            return piece

        while True:
            if cancelled():
                yield delta("", "cancelled")
                return
            out = self.model(input_ids=ids, past_key_values=cache, use_cache=True)
            logits = out.logits[0, -1]
            token = sample_next(logits, params, rng)
            n += 1
            if params.logprobs is not None:
                # Log-probabilities of the model itself, before temperature and top_p.
                logprobs = torch.log_softmax(logits.float(), dim=-1)
                pending.append(
                    token_logprob(
                        logprobs, token, params.logprobs, self.token_texts, len(decoder.text)
                    )
                )
            ids = torch.tensor([[token]], dtype=torch.long)
            if token in self.stop_ids:
                yield delta(decoder.flush(), "stop")
                return
            piece = decoder.push(token)
            if decoder.stopped:
                yield delta(piece, "stop")
                return
            if n >= params.max_tokens:
                yield delta(piece + decoder.flush(), "length")
                return
            if piece:
                yield delta(piece)
