"""The engine the gateway talks to: continuous batching in one worker thread that owns the
model, with async streams of text pieces on the other side.

Each step admits waiting requests (prefill), decodes one token for every running
sequence, and hands each request its new text. A request whose client has gone stops at
the next step and frees its slot; a request that waits too long is answered with an
error; a full waiting queue refuses new requests at once (`EngineOverloaded`)."""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import torch

from modelmint.modeling import cpu_supports_bf16, load_causal_lm
from modelmint.modeling.quantized import quantized_linears
from modelmint.serving.detokenize import IncrementalDecoder
from modelmint.serving.logprobs import PromptScores, TokenLogprob, token_logprob
from modelmint.serving.model_runner import ModelRunner, RowInput
from modelmint.serving.prefix_cache import PrefixCache
from modelmint.serving.protocol import Completion, TextDelta, collect
from modelmint.serving.sampler import SamplingParams, SamplingState, sample
from modelmint.serving.scheduler import Scheduled, Scheduler
from modelmint.serving.text import TextCodec


class EngineOverloaded(RuntimeError):
    """The waiting queue is full (or the engine is shutting down): try again later."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class QueueTimeout(RuntimeError):
    """A request waited longer than the engine allows before it could start."""


@dataclass(frozen=True)
class EngineConfig:
    slots: int = 32  # most sequences decoded together
    max_waiting: int = 256  # queue bound: beyond it, requests are refused with 429
    max_prefill_tokens: int = 2048  # prompt tokens per step, so decoding never stalls long
    queue_timeout_s: float = 60.0  # nobody waits forever for a slot
    prefix_cache_mb: int = 128  # prompt beginnings kept for reuse; 0 turns reuse off
    dtype: str = "float32"  # or "bfloat16" (faster on CPUs with bf16 units), or "auto"
    threads: int | None = None  # CPU threads for the model (torch's default otherwise)

    def torch_dtype(self, model: torch.nn.Module) -> torch.dtype:
        if quantized_linears(model):  # int8 kernels take float32 activations
            return torch.float32
        if self.dtype == "auto":
            return torch.bfloat16 if cpu_supports_bf16() else torch.float32
        return {"float32": torch.float32, "bfloat16": torch.bfloat16}[self.dtype]


class EngineObserver(Protocol):
    """Where the engine reports what Prometheus (or a test) wants to know."""

    def queue(self, waiting: int, running: int) -> None: ...
    def first_token(self, seconds: float, prompt_tokens: int) -> None: ...
    def next_token(self, seconds: float) -> None: ...
    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None: ...


class NoObserver:
    def queue(self, waiting: int, running: int) -> None: ...
    def first_token(self, seconds: float, prompt_tokens: int) -> None: ...
    def next_token(self, seconds: float) -> None: ...
    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None: ...


@dataclass
class _Sequence:
    prompt_ids: list[int]
    params: SamplingParams
    sampling: SamplingState
    decoder: IncrementalDecoder
    deliver: Callable[[TextDelta | BaseException], None]
    cancelled: threading.Event = field(default_factory=threading.Event)
    cached: int = 0  # tokens whose keys and values are in the cache
    started: float = field(default_factory=time.monotonic)
    last_token_at: float | None = None
    pending_logprobs: list[TokenLogprob] = field(default_factory=list)

    @property
    def generated(self) -> int:
        return len(self.sampling.output_ids)


@dataclass
class _ScoreJob:
    prompt_ids: list[int]
    top_k: int
    done: Callable[[PromptScores | BaseException], None]


class Engine:
    """The native engine: continuous batching on this machine's CPU (or one GPU)."""

    def __init__(
        self,
        runner: ModelRunner,
        codec: TextCodec,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
    ) -> None:
        self.runner, self.codec, self.config = runner, codec, config
        self.observer: EngineObserver = observer or NoObserver()
        self.scheduler: Scheduler[_Sequence] = Scheduler(
            slots=min(config.slots, runner.slots),
            max_prefill_tokens=config.max_prefill_tokens,
            move_slot=lambda e, dst: runner.copy_slot(e.slot or 0, dst, e.item.cached),
        )
        self.prefix_cache = (
            PrefixCache(runner.cache, config.prefix_cache_mb << 20)
            if config.prefix_cache_mb
            else None
        )
        self._inbox: list[_Sequence | _ScoreJob] = []
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
        if config.threads:
            torch.set_num_threads(config.threads)
        codec = TextCodec(path)
        model = load_causal_lm(path)
        dtype = config.torch_dtype(model)
        # PreTrainedModel.to is wrapped in a way mypy misreads; it is nn.Module.to.
        model = cast(Any, model).to(dtype)
        runner = ModelRunner(model, slots=config.slots, dtype=dtype)
        return cls(runner, codec, config=config, observer=observer)

    # -- the async side -------------------------------------------------------------------
    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        if not 0 < len(prompt_ids) < self.runner.context_length:
            raise ValueError(
                f"a prompt of {len(prompt_ids)} tokens does not fit this model's context of "
                f"{self.runner.context_length} with room to answer"
            )
        loop = asyncio.get_running_loop()
        out: asyncio.Queue[TextDelta | BaseException] = asyncio.Queue()
        seed = params.seed if params.seed is not None else secrets.randbits(63)
        seq = _Sequence(
            prompt_ids=list(prompt_ids),
            params=params,
            sampling=SamplingState(
                params, torch.Generator().manual_seed(seed), list(prompt_ids), []
            ),
            decoder=IncrementalDecoder(self.codec.decode, params.stop),
            deliver=_deliverer(loop, out),
        )
        self._submit(seq)
        try:
            while True:
                item = await out.get()
                if isinstance(item, BaseException):
                    raise item
                yield item
                if item.finish_reason is not None:
                    return
        finally:
            seq.cancelled.set()
            self._notify()

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[PromptScores] = loop.create_future()

        def done(value: PromptScores | BaseException) -> None:
            loop.call_soon_threadsafe(_settle, result, value)

        self._submit(_ScoreJob(list(prompt_ids), top_k, done))
        return await result

    def _submit(self, item: _Sequence | _ScoreJob) -> None:
        with self._wake:
            if self._closing:
                raise EngineOverloaded("the server is shutting down", retry_after_s=5)
            waiting = len(self.scheduler.waiting) + len(self._inbox)
            if isinstance(item, _Sequence) and waiting >= self.config.max_waiting:
                self.observer.finished("rejected", 0.0, 0)
                raise EngineOverloaded(
                    f"the server is busy: {waiting} requests are already waiting",
                    retry_after_s=1,
                )
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
                while not self._inbox and not self.scheduler.has_work and not self._closing:
                    self._wake.wait()
                inbox, self._inbox = self._inbox, []
                closing = self._closing
            for item in inbox:
                if isinstance(item, _ScoreJob):
                    self._run_score(item)
                else:
                    self.scheduler.waiting.append(Scheduled(item, len(item.prompt_ids)))
            if closing:
                self._cancel_everything()
                return
            try:
                self._step()
            except Exception as e:  # the model failed: every request in flight gets the error
                for entry in [*self.scheduler.running, *self.scheduler.waiting]:
                    entry.item.deliver(e)
                self.scheduler.running.clear()
                self.scheduler.waiting.clear()

    def _run_score(self, job: _ScoreJob) -> None:
        try:
            logprobs = self.runner.prompt_logprobs(job.prompt_ids)
            job.done(self.codec.prompt_scores(job.prompt_ids, logprobs, job.top_k))
        except Exception as e:
            job.done(e)

    @torch.inference_mode()
    def _step(self) -> None:
        sched = self.scheduler
        self._drop_cancelled_and_expired()
        admitted = sched.admit()
        decoding = [e for e in sched.running if e not in admitted]
        if admitted:
            self._advance(admitted, self._prefill(admitted))
        if decoding:
            rows = [RowInput([e.item.sampling.output_ids[-1]], e.item.cached) for e in decoding]
            logits = self.runner.forward(0, rows)
            for e in decoding:
                e.item.cached += 1
            self._advance(decoding, logits)
        self.observer.queue(len(sched.waiting), len(sched.running))

    def _prefill(self, admitted: list[Scheduled[_Sequence]]) -> torch.Tensor:
        rows = []
        for e in admitted:
            prompt, slot = e.item.prompt_ids, e.slot or 0
            reused = self.prefix_cache.restore(prompt, slot) if self.prefix_cache else 0
            rows.append(RowInput(prompt[reused:], reused))
        logits = self.runner.forward(admitted[0].slot or 0, rows)
        for e in admitted:
            e.item.cached = len(e.item.prompt_ids)
            if self.prefix_cache:
                self.prefix_cache.store(e.item.prompt_ids, e.slot or 0)
        return logits

    def _advance(self, entries: list[Scheduled[_Sequence]], logits: torch.Tensor) -> None:
        seqs = [e.item for e in entries]
        wanted = [b for b, s in enumerate(seqs) if s.params.logprobs is not None]
        raw = torch.log_softmax(logits[wanted], dim=-1) if wanted else None
        tokens = sample(logits, [s.sampling for s in seqs])
        now = time.monotonic()
        finished: list[Scheduled[_Sequence]] = []
        for b, (entry, seq, token) in enumerate(zip(entries, seqs, tokens, strict=True)):
            if raw is not None and b in wanted:
                top_k = seq.params.logprobs or 0
                offset = len(seq.decoder.text)
                record = token_logprob(
                    raw[wanted.index(b)], token, top_k, self.codec.token_texts, offset
                )
                seq.pending_logprobs.append(record)
            seq.sampling.output_ids.append(token)
            if seq.last_token_at is None:
                self.observer.first_token(now - seq.started, len(seq.prompt_ids))
            else:
                self.observer.next_token(now - seq.last_token_at)
            seq.last_token_at = now
            reason, text = self._next_text(seq, token)
            if text or reason:
                self._emit(seq, text, reason)
            if reason:
                finished.append(entry)
                self.observer.finished(reason, now - seq.started, seq.generated)
        self.scheduler.release(finished)

    def _next_text(self, seq: _Sequence, token: int) -> tuple[str | None, str]:
        if token in self.codec.stop_ids:
            return "stop", seq.decoder.flush()
        piece = seq.decoder.push(token)
        if seq.decoder.stopped:
            return "stop", piece
        # Prompt and answer together stay within the context (as OpenAI counts it).
        full = len(seq.prompt_ids) + seq.generated >= self.runner.context_length
        if seq.generated >= seq.params.max_tokens or full:
            return "length", piece + seq.decoder.flush()
        return None, piece

    def _emit(self, seq: _Sequence, text: str, reason: str | None) -> None:
        seq.deliver(TextDelta(text, seq.generated, reason, tuple(seq.pending_logprobs)))
        seq.pending_logprobs.clear()

    def _drop_cancelled_and_expired(self) -> None:
        sched = self.scheduler
        gone = [e for e in sched.running if e.item.cancelled.is_set()]
        for e in gone:
            self.observer.finished("cancelled", time.monotonic() - e.item.started, e.item.generated)
        sched.release(gone)
        for e in sched.remove_waiting(lambda s: s.cancelled.is_set()):
            self.observer.finished("cancelled", time.monotonic() - e.item.started, 0)
        deadline = time.monotonic() - self.config.queue_timeout_s
        for e in sched.expire_waiting(deadline):
            self.observer.finished("timeout", time.monotonic() - e.item.started, 0)
            e.item.deliver(
                QueueTimeout(
                    f"the request waited {self.config.queue_timeout_s:.0f} s without a free slot"
                )
            )

    def _cancel_everything(self) -> None:
        for e in [*self.scheduler.running, *self.scheduler.waiting]:
            e.item.deliver(TextDelta("", e.item.generated, "cancelled"))
        self.scheduler.running.clear()
        self.scheduler.waiting.clear()


def _deliverer(
    loop: asyncio.AbstractEventLoop, out: asyncio.Queue[TextDelta | BaseException]
) -> Callable[[TextDelta | BaseException], None]:
    def deliver(item: TextDelta | BaseException) -> None:
        # A closed event loop means the requester is gone: nobody is listening.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(out.put_nowait, item)

    return deliver


def _settle(future: asyncio.Future[Any], value: Any) -> None:
    if future.done():  # the request was cancelled meanwhile
        return
    if isinstance(value, BaseException):
        future.set_exception(value)
    else:
        future.set_result(value)
