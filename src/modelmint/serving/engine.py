"""The engine the gateway talks to: async streams of text pieces, served by one worker
thread that owns the model. Requests wait in arrival order; a cancelled request (client
gone) stops at its next token and frees the worker."""

from __future__ import annotations

import asyncio
import queue
import threading
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from modelmint.serving.generator import SamplingParams, TextDelta, TextGenerator


@dataclass
class _Job:
    prompt_ids: list[int]
    params: SamplingParams
    loop: asyncio.AbstractEventLoop
    out: asyncio.Queue[TextDelta | BaseException]
    cancelled: threading.Event = field(default_factory=threading.Event)


@dataclass(frozen=True)
class Completion:
    text: str
    completion_tokens: int
    finish_reason: str


class Engine:
    def __init__(self, generator: TextGenerator) -> None:
        self.generator = generator
        self._jobs: queue.Queue[_Job | None] = queue.Queue()
        self._worker = threading.Thread(target=self._run, name="mint-engine", daemon=True)
        self._worker.start()

    @property
    def context_length(self) -> int:
        return self.generator.context_length

    def encode(self, text: str) -> list[int]:
        return self.generator.encode(text)

    def render_chat(self, messages: Sequence[dict[str, str]]) -> str:
        return self.generator.render_chat(messages)

    def _run(self) -> None:
        while (job := self._jobs.get()) is not None:
            try:
                for delta in self.generator.generate(
                    job.prompt_ids, job.params, job.cancelled.is_set
                ):
                    job.loop.call_soon_threadsafe(job.out.put_nowait, delta)
            except Exception as e:  # handed to the waiting request, which fails with a 500
                job.loop.call_soon_threadsafe(job.out.put_nowait, e)

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        job = _Job(list(prompt_ids), params, asyncio.get_running_loop(), asyncio.Queue())
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
        last = TextDelta("", 0, "stop")
        async for delta in self.stream(prompt_ids, params):
            parts.append(delta.text)
            last = delta
        return Completion("".join(parts), last.completion_tokens, last.finish_reason or "stop")

    def close(self) -> None:
        self._jobs.put(None)
        self._worker.join(timeout=5)
