"""The engine's core: continuous batching with no threads and no asyncio, so it can run on
a worker thread of the server's process (`engine.Engine`) or alone in a process of its own
(`engine_process.ProcessEngine`), where the HTTP side never holds its interpreter lock.

Each step admits waiting requests, decodes one token for every sequence past its prompt and
reads the next chunk of the prompts still being read, all in one pass of the model, and
hands each request its new text through the request's ``deliver``. A request whose
client has gone stops at the next step and frees its slot; a request that waits too long
is answered with an error."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, cast

import torch

from modelmint.modeling import cpu_supports_bf16, load_causal_lm
from modelmint.serving.core.detokenize import IncrementalDecoder
from modelmint.serving.core.prefix_cache import PrefixCache
from modelmint.serving.core.scheduler import Scheduled, Scheduler
from modelmint.serving.logprobs import PromptScores, TokenLogprob, token_logprob
from modelmint.serving.models.model_runner import (
    ModelRunner,
    RowInput,
    kv_budget,
    serving_shape,
)
from modelmint.serving.protocol import TextDelta
from modelmint.serving.sampler import SamplingParams, SamplingState, generator, sample
from modelmint.serving.text import TextCodec

log = logging.getLogger(__name__)


class EngineOverloaded(RuntimeError):
    """The waiting queue is full (or the engine is shutting down): try again later."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class EngineDied(RuntimeError):
    """The engine process stopped (killed, out of memory), or a new one is still loading:
    retry in a few seconds."""


class QueueTimeout(RuntimeError):
    """A request waited longer than the engine allows before it could start."""


DTYPES = {"float32": torch.float32, "bfloat16": torch.bfloat16}


@dataclass(frozen=True)
class EngineConfig:
    # most sequences decoded together; None: up to 64, as many as half the free memory holds
    slots: int | None = None
    max_waiting: int = 256  # queue bound: beyond it, requests are refused with 429
    max_prefill_tokens: int = 512  # prompt tokens per step: longer prompts take several
    queue_timeout_s: float = 60.0  # nobody waits forever for a slot
    prefix_cache_mb: int = 128  # prompt beginnings kept for reuse; 0 turns reuse off
    dtype: str = "float32"  # or "bfloat16" (faster on CPUs with bf16 units), or "auto"
    # the cache's dtype: "auto" (the model's) or "bfloat16", which halves the bytes a
    # decoding step reads from the cache beside float32 weights
    kv_dtype: str = "auto"
    threads: int | None = None  # CPU threads for the model (torch's default otherwise)
    # the most tokens a sequence may reach; None: the model's, or shorter where that lets
    # up to 64 slots fit (never below 8,192)
    max_context: int | None = None

    def torch_dtype(self) -> torch.dtype:
        if self.dtype == "auto":
            return torch.bfloat16 if cpu_supports_bf16() else torch.float32
        return DTYPES[self.dtype]

    def cache_dtype(self, model_dtype: torch.dtype) -> torch.dtype:
        return model_dtype if self.kv_dtype == "auto" else DTYPES[self.kv_dtype]


class EngineObserver(Protocol):
    """Where the engine reports what Prometheus (or a test) wants to know."""

    def queue(self, waiting: int, running: int) -> None: ...
    def first_token(self, seconds: float, prompt_tokens: int) -> None: ...
    def next_token(self, seconds: float) -> None: ...
    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None: ...
    def restarted(self, seconds: float) -> None: ...  # a new engine process took over


class NoObserver:
    def queue(self, waiting: int, running: int) -> None: ...
    def first_token(self, seconds: float, prompt_tokens: int) -> None: ...
    def next_token(self, seconds: float) -> None: ...
    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None: ...
    def restarted(self, seconds: float) -> None: ...


Delivery = Callable[[TextDelta | BaseException], None]


@dataclass
class CoreSequence:
    prompt_ids: list[int]
    params: SamplingParams
    sampling: SamplingState
    decoder: IncrementalDecoder
    deliver: Delivery
    stop_ids: frozenset[int]  # the gateway codec's, at submission: one source of truth
    cancelled: threading.Event = field(default_factory=threading.Event)
    cached: int = 0  # tokens whose keys and values are in the cache
    started: float = field(default_factory=time.monotonic)
    last_token_at: float | None = None
    pending_logprobs: list[TokenLogprob] = field(default_factory=list)

    @property
    def generated(self) -> int:
        return len(self.sampling.output_ids)


@dataclass
class ScoreJob:
    prompt_ids: list[int]
    top_k: int
    done: Callable[[PromptScores | BaseException], None]


def load_runner(path: str | Path, config: EngineConfig) -> tuple[ModelRunner, TextCodec]:
    if config.threads:
        torch.set_num_threads(config.threads)
    codec = TextCodec(path)
    model = load_causal_lm(path)
    dtype = config.torch_dtype()
    # PreTrainedModel.to is wrapped in a way mypy misreads; it is nn.Module.to.
    model = cast(Any, model).to(dtype)
    kv_dtype = config.cache_dtype(dtype)
    slots, context = serving_shape(
        model.config, kv_dtype, kv_budget(), config.slots, config.max_context
    )
    if context < codec.context_length:
        log.info(
            "%s: serving %d slots of %d tokens (the model's context is %d; --max-context "
            "sets another, with as many slots as memory holds)",
            path, slots, context, codec.context_length,
        )  # fmt: skip
    runner = ModelRunner(model, slots=slots, dtype=dtype, kv_dtype=kv_dtype, context_length=context)
    codec.context_length = runner.context_length  # what the gateway checks requests against
    return runner, codec


class EngineCore:
    def __init__(
        self,
        runner: ModelRunner,
        codec: TextCodec,
        config: EngineConfig,
        observer: EngineObserver,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.runner, self.codec, self.config, self.observer = runner, codec, config, observer
        self.clock = clock  # seconds, only ever subtracted: queue timeouts and latencies
        self.scheduler: Scheduler[CoreSequence] = Scheduler(
            slots=min(config.slots or runner.slots, runner.slots),
            max_prefill_tokens=config.max_prefill_tokens,
            move_slot=lambda e, dst: runner.copy_slot(e.slot or 0, dst, e.item.cached),
        )
        self.prefix_cache = (
            PrefixCache(runner.cache, config.prefix_cache_mb << 20)
            if config.prefix_cache_mb
            else None
        )

    def sequence(
        self,
        prompt_ids: list[int],
        params: SamplingParams,
        seed: int,
        stop_ids: frozenset[int],
        deliver: Delivery,
    ) -> CoreSequence:
        """A sequence ready to add; `InvalidSampling` (a ValueError naming the field) when
        its parameters could not run, before it can share a step with anyone."""
        params = params.checked(self.codec.vocab_size)
        return CoreSequence(
            prompt_ids=prompt_ids,
            params=params,
            sampling=SamplingState(params, generator(seed), prompt_ids, []),
            decoder=IncrementalDecoder(self.codec.decode, params.stop),
            deliver=deliver,
            stop_ids=stop_ids,
            started=self.clock(),
        )

    @property
    def waiting(self) -> int:
        return len(self.scheduler.waiting)

    @property
    def has_work(self) -> bool:
        return self.scheduler.has_work

    def add(self, seq: CoreSequence) -> None:
        self.scheduler.waiting.append(Scheduled(seq, len(seq.prompt_ids), self.clock()))

    def score(self, job: ScoreJob) -> None:
        try:
            logprobs = self.runner.prompt_logprobs(job.prompt_ids)
            job.done(self.codec.prompt_scores(job.prompt_ids, logprobs, job.top_k))
        except Exception as e:
            job.done(e)

    def step(self) -> None:
        try:
            self._step()
        except Exception as e:  # the model failed: every request in flight gets the error
            for entry in [*self.scheduler.running, *self.scheduler.waiting]:
                entry.item.deliver(e)
            self.scheduler.running.clear()
            self.scheduler.waiting.clear()

    def cancel_everything(self) -> None:
        for e in [*self.scheduler.running, *self.scheduler.waiting]:
            e.item.deliver(TextDelta("", e.item.generated, "cancelled"))
        self.scheduler.running.clear()
        self.scheduler.waiting.clear()

    @torch.inference_mode()
    def _step(self) -> None:
        sched = self.scheduler
        self._drop_cancelled_and_expired()
        for e in sched.admit():
            reused = (
                self.prefix_cache.restore(e.item.prompt_ids, e.slot or 0)
                if self.prefix_cache
                else 0
            )
            e.prefilled = e.item.cached = reused
        decoding, chunks = sched.decoding(), sched.chunks()
        if decoding or chunks:
            rows = [RowInput([e.item.sampling.output_ids[-1]], e.item.cached) for e in decoding]
            rows += [
                RowInput(c.entry.item.prompt_ids[c.start : c.start + c.length], c.start)
                for c in chunks
            ]
            completing = [c.entry for c in chunks if c.completes]
            wanted = [
                *range(len(decoding)),
                *(len(decoding) + b for b, c in enumerate(chunks) if c.completes),
            ]
            logits = self.runner.forward(0, rows, wanted)
            for e in decoding:
                e.item.cached += 1
            for c in chunks:
                c.entry.prefilled = c.entry.item.cached = c.start + c.length
            for e in completing:
                if self.prefix_cache:
                    self.prefix_cache.store(e.item.prompt_ids, e.slot or 0)
            self._advance([*decoding, *completing], logits)
        self.observer.queue(len(sched.waiting), len(sched.running))

    def _advance(self, entries: list[Scheduled[CoreSequence]], logits: torch.Tensor) -> None:
        seqs = [e.item for e in entries]
        wanted = [b for b, s in enumerate(seqs) if s.params.logprobs is not None]
        raw = torch.log_softmax(logits[wanted], dim=-1) if wanted else None
        tokens = sample(logits, [s.sampling for s in seqs])
        now = self.clock()
        finished: list[Scheduled[CoreSequence]] = []
        for b, (entry, seq, token) in enumerate(zip(entries, seqs, tokens, strict=True)):
            try:
                if isinstance(token, Exception):
                    raise token
                logprobs = raw[wanted.index(b)] if raw is not None and b in wanted else None
                reason = self._take(seq, token, logprobs, now)
            except Exception as e:  # this sequence's failure is its own
                finished.append(entry)
                self.observer.finished("error", now - seq.started, seq.generated)
                seq.deliver(e)
                continue
            if reason:
                finished.append(entry)
                self.observer.finished(reason, now - seq.started, seq.generated)
        self.scheduler.release(finished)

    def _take(
        self, seq: CoreSequence, token: int, logprobs: torch.Tensor | None, now: float
    ) -> str | None:
        """Adds the sampled token to ``seq``, hands over any new text, and says why the
        sequence ended if it did."""
        if logprobs is not None:
            top_k = seq.params.logprobs or 0
            offset = len(seq.decoder.text)
            record = token_logprob(logprobs, token, top_k, self.codec.token_texts, offset)
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
        return reason

    def _next_text(self, seq: CoreSequence, token: int) -> tuple[str | None, str]:
        if token in seq.stop_ids:
            return "stop", seq.decoder.flush()
        piece = seq.decoder.push(token)
        if seq.decoder.stopped:
            return "stop", piece
        # Prompt and answer together stay within the context (as OpenAI counts it).
        full = len(seq.prompt_ids) + seq.generated >= self.runner.context_length
        if seq.generated >= seq.params.max_tokens or full:
            return "length", piece + seq.decoder.flush()
        return None, piece

    def _emit(self, seq: CoreSequence, text: str, reason: str | None) -> None:
        seq.deliver(TextDelta(text, seq.generated, reason, tuple(seq.pending_logprobs)))
        seq.pending_logprobs.clear()

    def _drop_cancelled_and_expired(self) -> None:
        sched = self.scheduler
        gone = [e for e in sched.running if e.item.cancelled.is_set()]
        for e in gone:
            self.observer.finished("cancelled", self.clock() - e.item.started, e.item.generated)
        sched.release(gone)
        for e in sched.remove_waiting(lambda s: s.cancelled.is_set()):
            self.observer.finished("cancelled", self.clock() - e.item.started, 0)
        deadline = self.clock() - self.config.queue_timeout_s
        for e in sched.expire_waiting(deadline):
            self.observer.finished("timeout", self.clock() - e.item.started, 0)
            e.item.deliver(
                QueueTimeout(
                    f"the request waited {self.config.queue_timeout_s:.0f} s without a free slot"
                )
            )
