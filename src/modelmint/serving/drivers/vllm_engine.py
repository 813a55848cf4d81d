"""vLLM behind the same engine interface as the native one: the gateway (keys, limits,
metering, the OpenAI shapes) does not know which one it talks to.

vLLM is an optional dependency that needs a GPU; it is imported only when this engine is
built. Prompts go in as token ids, so both engines see exactly what the gateway counted
and billed."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelmint.serving.logprobs import PromptScores, TokenLogprob, TokenTexts, prompt_text_offsets
from modelmint.serving.protocol import Completion, TextDelta, collect
from modelmint.serving.sampler import SamplingParams
from modelmint.serving.text import TextCodec

_FINISH = {"stop": "stop", "length": "length", "abort": "cancelled"}


@dataclass(frozen=True)
class VllmConfig:
    tensor_parallel_size: int = 1
    gpu_memory_utilization: float = 0.85
    dtype: str = "auto"
    enable_prefix_caching: bool = True


def vllm_available() -> bool:
    try:
        import vllm  # noqa: F401
    except ImportError:
        return False
    return True


class VllmEngine:
    def __init__(self, path: Path, codec: TextCodec, config: VllmConfig = VllmConfig()) -> None:
        from vllm import AsyncEngineArgs, AsyncLLMEngine

        self.codec = codec
        args = AsyncEngineArgs(
            model=str(path),
            tokenizer=str(path),
            tensor_parallel_size=config.tensor_parallel_size,
            gpu_memory_utilization=config.gpu_memory_utilization,
            dtype=config.dtype,
            max_model_len=codec.context_length,
            enable_prefix_caching=config.enable_prefix_caching,
        )
        self.llm = AsyncLLMEngine.from_engine_args(args)

    def _sampling(self, params: SamplingParams, **extra: Any) -> Any:
        from vllm import SamplingParams as VllmSampling

        return VllmSampling(
            max_tokens=params.max_tokens,
            temperature=max(params.temperature, 0.0),
            top_p=params.top_p,
            top_k=params.top_k if params.top_k > 0 else -1,
            seed=params.seed,
            stop=list(params.stop) or None,
            logprobs=params.logprobs,
            presence_penalty=params.presence_penalty,
            frequency_penalty=params.frequency_penalty,
            repetition_penalty=params.repetition_penalty,
            stop_token_ids=sorted(self.codec.stop_ids),
            **extra,
        )

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        from vllm import TokensPrompt

        request_id = f"mint-{secrets.token_hex(8)}"
        sent_text, sent_tokens = 0, 0
        texts: TokenTexts = self.codec.token_texts
        generator = self.llm.generate(
            TokensPrompt(prompt_token_ids=list(prompt_ids)), self._sampling(params), request_id
        )
        try:
            async for output in generator:
                choice = output.outputs[0]
                logprobs: tuple[TokenLogprob, ...] = ()
                if params.logprobs is not None and choice.logprobs:
                    logprobs = tuple(
                        _record(tid, choice.logprobs[i], texts, sent_text)
                        for i, tid in enumerate(choice.token_ids[sent_tokens:], start=sent_tokens)
                    )
                reason = _FINISH.get(choice.finish_reason or "")
                if choice.finish_reason is not None and reason is None:
                    reason = "stop"
                delta = TextDelta(choice.text[sent_text:], len(choice.token_ids), reason, logprobs)
                sent_text, sent_tokens = len(choice.text), len(choice.token_ids)
                if delta.text or delta.finish_reason or delta.logprobs:
                    yield delta
                if reason is not None:
                    return
        finally:
            await self.llm.abort(request_id)

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        from vllm import TokensPrompt

        ids = list(prompt_ids)
        sampling = self._sampling(
            SamplingParams(max_tokens=1, temperature=0), prompt_logprobs=top_k
        )
        final = None
        async for output in self.llm.generate(
            TokensPrompt(prompt_token_ids=ids), sampling, f"mint-score-{secrets.token_hex(8)}"
        ):
            final = output
        assert final is not None and final.prompt_logprobs is not None
        texts = self.codec.token_texts
        offsets = prompt_text_offsets(
            ids, lambda p: self.codec.decode(p, skip_special_tokens=False)
        )
        first = TokenLogprob(ids[0], texts(ids[0]), None, (), 0)
        rest = (
            _record(ids[i], final.prompt_logprobs[i], texts, offsets[i], top_k=top_k)
            for i in range(1, len(ids))
        )
        return PromptScores((first, *rest))

    def close(self) -> None:
        self.llm.shutdown()


def _record(
    token_id: int, alternatives: Any, texts: TokenTexts, offset: int, top_k: int | None = None
) -> TokenLogprob:
    """A vLLM position (token id -> Logprob with .logprob and .rank) as our record."""
    ranked = sorted(alternatives.items(), key=lambda kv: kv[1].rank or 0)
    top = tuple((texts(int(t)), float(lp.logprob)) for t, lp in ranked if lp.rank is not None)
    if top_k is not None:
        top = top[:top_k]
    own = alternatives.get(token_id)
    return TokenLogprob(token_id, texts(token_id), float(own.logprob) if own else None, top, offset)
