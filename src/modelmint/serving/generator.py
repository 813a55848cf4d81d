"""One model, one sequence at a time: the decoding loop with a KV cache, sampling and
stop handling. Knows tensors; knows nothing of HTTP."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from transformers import DynamicCache

from modelmint.modeling import load_causal_lm, load_tokenizer, stop_token_ids
from modelmint.serving.detokenize import IncrementalDecoder


@dataclass(frozen=True)
class SamplingParams:
    max_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None
    stop: Sequence[str] = field(default_factory=tuple)


@dataclass(frozen=True)
class TextDelta:
    """A piece of the answer. ``completion_tokens`` counts all tokens generated so far;
    ``finish_reason`` is set on the last piece: "stop", "length" or "cancelled"."""

    text: str
    completion_tokens: int
    finish_reason: str | None = None


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

    def encode(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def render_chat(self, messages: Sequence[dict[str, str]]) -> str:
        return str(
            self.tokenizer.apply_chat_template(
                list(messages), tokenize=False, add_generation_prompt=True
            )
        )

    def decode(self, ids: Sequence[int]) -> str:
        return str(self.tokenizer.decode(list(ids), skip_special_tokens=True))

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
        n = 0
        while True:
            if cancelled():
                yield TextDelta("", n, "cancelled")
                return
            out = self.model(input_ids=ids, past_key_values=cache, use_cache=True)
            token = sample_next(out.logits[0, -1], params, rng)
            n += 1
            ids = torch.tensor([[token]], dtype=torch.long)
            if token in self.stop_ids:
                yield TextDelta(decoder.flush(), n, "stop")
                return
            piece = decoder.push(token)
            if decoder.stopped:
                yield TextDelta(piece, n, "stop")
                return
            if n >= params.max_tokens:
                yield TextDelta(piece + decoder.flush(), n, "length")
                return
            if piece:
                yield TextDelta(piece, n)
