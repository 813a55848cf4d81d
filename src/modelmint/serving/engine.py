"""The engine the gateway talks to: async streams of text pieces and prompt scores, served
by one worker thread that owns the model. Requests wait in arrival order; a cancelled
request (client gone) stops at its next token and frees the worker."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from modelmint.serving.generator import SamplingParams, TextDelta, TextGenerator, TokenizerInfo
from modelmint.serving.logprobs import PromptScores, TokenLogprob


@dataclass
class _GenerateJob:
    prompt_ids: list[int]
    params: SamplingParams
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue[TextDelta | BaseException]
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass
class _ScoreJob:
    prompt_ids: list[int]
    top_k: int
    loop: asyncio.AbstractEventLoop
    result: asyncio.Future[PromptScores]


@dataclass(frozen=True)
class Completion:
    text: str
    completion_tokens: int
    finish_reason: str
    logprobs: tuple[TokenLogprob, ...] = ()


def _resolve(future: asyncio.Future[PromptScores], scores: PromptScores) -> None:
    if not future.done():  # done already when the request was cancelled meanwhile
        future.set_result(scores)


def _fail(future: asyncio.Future[PromptScores], error: Exception) -> None:
    if not future.done():
        future.set_exception(error)


class Engine:
    def __init__(self, generator: TextGenerator) -> None:
        self.generator = generator
        self._jobs: queue.Queue[_GenerateJob | _ScoreJob | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="mint-engine", daemon=True)
        self._worker.start()

    @property
    def context_length(self) -> int:
        return self.generator.context_length

    @property
    def vocab_size(self) -> int:
        return self.generator.vocab_size

    def encode(self, text: str, *, add_special_tokens: bool = False) -> list[int]:
        return self.generator.encode(text, add_special_tokens=add_special_tokens)

    def decode(self, ids: Sequence[int], *, skip_special_tokens: bool = True) -> str:
        return self.generator.decode(ids, skip_special_tokens=skip_special_tokens)

    def token_texts(self, ids: Sequence[int]) -> list[str]:
        return [self.generator.token_texts(i) for i in ids]

    def render_chat(
        self, messages: Sequence[dict[str, str]], *, add_generation_prompt: bool = True
    ) -> str:
        return self.generator.render_chat(messages, add_generation_prompt=add_generation_prompt)

    def tokenizer_info(self) -> TokenizerInfo:
        return self.generator.tokenizer_info()

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            if isinstance(job, _ScoreJob):
                self._score(job)
            else:
                self._generate(job)

    def _generate(self, job: _GenerateJob) -> None:
        try:
            for delta in self.generator.generate(job.prompt_ids, job.params, job.cancelled.is_set):
                job.loop.call_soon_threadsafe(job.out.put_nowait, delta)
        except Exception as e:  # handed to the waiting request, which fails with a 500
            job.loop.call_soon_threadsafe(job.out.put_nowait, e)

    def _score(self, job: _ScoreJob) -> None:
        try:
            scores = self.generator.score(job.prompt_ids, job.top_k)
        except Exception as e:
            job.loop.call_soon_threadsafe(_fail, job.result, e)
        else:
            job.loop.call_soon_threadsafe(_resolve, job.result, scores)

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        """Every prompt token's log-probability (the first has none) with ``top_k``
        alternatives per position, from one forward pass."""
        loop = asyncio.get_running_loop()
        job = _ScoreJob(list(prompt_ids), top_k, loop, loop.create_future())
        self._jobs.put(job)
        return await job.result

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        job = _GenerateJob(list(prompt_ids), params, asyncio.get_running_loop(), asyncio.Queue())
        self._jobs.put(job)
        try:
            while True:
                item = await job.out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            job.cancelled.set()

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        parts: list[str] = []
        logprobs: list[TokenLogprob] = []
        last = TextDelta("", 0, "stop")
        async for delta in self.stream(prompt_ids, params):
            parts.append(delta.text)
            logprobs.extend(delta.logprobs)
            last = delta
        return Completion(
            "".join(parts), last.completion_tokens, last.finish_reason or "stop", tuple(logprobs)
        )

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=5)
