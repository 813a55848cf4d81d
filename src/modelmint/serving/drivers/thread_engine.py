"""The engine the gateway talks to: async streams of text pieces on one side, an
`EngineCore` doing continuous batching on the other.

`Engine` runs the core on a worker thread of this process; `ProcessEngine`
(process_engine.py) runs it in a process of its own. Both refuse a request at once when the
waiting queue is full (`EngineOverloaded`), and stop a sequence at the next step when its
client goes away."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from modelmint.serving.core.engine_core import (
    CoreSequence,
    EngineConfig,
    EngineCore,
    EngineObserver,
    EngineOverloaded,
    NoObserver,
    ScoreJob,
    load_runner,
)
from modelmint.serving.logprobs import PromptScores
from modelmint.serving.models.model_runner import ModelRunner
from modelmint.serving.protocol import Completion, TextDelta, collect
from modelmint.serving.sampler import SamplingParams
from modelmint.serving.text import TextCodec


def check_prompt(prompt_ids: Sequence[int], context_length: int) -> None:
    if not 0 < len(prompt_ids) < context_length:
        raise ValueError(
            f"a prompt of {len(prompt_ids)} tokens does not fit this model's context of "
            f"{context_length} with room to answer"
        )


def request_seed(params: SamplingParams) -> int:
    return params.seed if params.seed is not None else secrets.randbits(63)


def shutting_down() -> EngineOverloaded:
    return EngineOverloaded("the server is shutting down", retry_after_s=5)


def check_room(waiting: int, config: EngineConfig, observer: EngineObserver) -> None:
    """Refuses a request at once when ``waiting`` requests already wait (the queue's bound),
    counted as a rejected request."""
    if waiting >= config.max_waiting:
        observer.finished("rejected", 0.0, 0)
        raise EngineOverloaded(
            f"the server is busy: {waiting} requests are already waiting", retry_after_s=1
        )


async def pieces(out: asyncio.Queue[TextDelta | BaseException]) -> AsyncIterator[TextDelta]:
    """The pieces a request's queue receives, up to the last; an error is raised."""
    while True:
        item = await out.get()
        if isinstance(item, BaseException):
            raise item
        yield item
        if item.finish_reason is not None:
            return


def deliverer(
    loop: asyncio.AbstractEventLoop, out: asyncio.Queue[TextDelta | BaseException]
) -> Callable[[TextDelta | BaseException], None]:
    def deliver(item: TextDelta | BaseException) -> None:
        # A closed event loop means the requester is gone: nobody is listening.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(out.put_nowait, item)

    return deliver


def settler(loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> Callable[[Any], None]:
    def settle(value: Any) -> None:
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(_settle, future, value)

    return settle


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)


class Engine:
    """The native engine on a worker thread of this process (CPU or one GPU)."""

    def __init__(
        self,
        runner: ModelRunner,
        codec: TextCodec,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
    ) -> None:
        self.codec, self.config = codec, config
        self.observer: EngineObserver = observer or NoObserver()
        self.core = EngineCore(runner, codec, config, self.observer)
        self.runner = runner
        self._inbox: list[CoreSequence | ScoreJob] = []
        self._wake = threading.Condition()
        self._closing = False
        self._worker = threading.Thread(target=self._run, name="mint-engine", daemon=True)
        self._worker.start()

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
    ) -> Engine:
        runner, codec = load_runner(path, config)
        return cls(runner, codec, config=config, observer=observer)

    # -- the async side -------------------------------------------------------------------
    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        check_prompt(prompt_ids, self.runner.context_length)
        out: asyncio.Queue[TextDelta | BaseException] = asyncio.Queue()
        seq = self.core.sequence(
            list(prompt_ids),
            params,
            request_seed(params),
            frozenset(self.codec.stop_ids),
            deliverer(asyncio.get_running_loop(), out),
        )
        self._submit(seq)
        try:
            async for piece in pieces(out):
                yield piece
        finally:
            seq.cancelled.set()
            self._notify()

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[PromptScores] = loop.create_future()
        self._submit(ScoreJob(list(prompt_ids), top_k, settler(loop, result)))
        return await result

    def _submit(self, item: CoreSequence | ScoreJob) -> None:
        with self._wake:
            if self._closing:
                raise shutting_down()
            # scoring waits in the same queue as generation, and is bounded with it
            check_room(self.core.waiting + len(self._inbox), self.config, self.observer)
            self._inbox.append(item)
            self._wake.notify()

    def _notify(self) -> None:
        with self._wake:
            self._wake.notify()

    def close(self) -> None:
        with self._wake:
            self._closing = True
            self._wake.notify()
        self._worker.join(timeout=10)

    # -- the worker thread ----------------------------------------------------------------
    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._inbox and not self.core.has_work and not self._closing:
                    self._wake.wait()
                inbox, self._inbox = self._inbox, []
                closing = self._closing
            for item in inbox:
                if isinstance(item, ScoreJob):
                    self.core.score(item)
                else:
                    self.core.add(item)
            if closing:
                self.core.cancel_everything()
                return
            self.core.step()
