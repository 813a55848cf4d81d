"""The native engine in a process of its own, as vLLM's V1 engine core: the model's
Python (scheduling, sampling, the layers' glue between kernels) never waits for the
interpreter lock the HTTP side holds to parse JSON and write server-sent events, so both
CPU cores work.

The server process keeps a `TextCodec` (the gateway tokenizes and bills with it) and talks
to the child over a pipe: ``add``/``abort``/``score``/``close`` go down; each engine step
comes back as one message with every request's new pieces and what the observer should
record. A reader thread in the server process hands the pieces to the requests' event
loops. If the child dies, every request in flight gets an error and new ones are refused."""

from __future__ import annotations

import asyncio
import itertools
import multiprocessing as mp
import signal
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from modelmint.serving.engine import (
    check_prompt,
    deliverer,
    overloaded,
    pieces,
    request_seed,
    settler,
)
from modelmint.serving.engine_core import (
    EngineConfig,
    EngineCore,
    EngineDied,
    EngineObserver,
    EngineOverloaded,
    NoObserver,
    QueueTimeout,
    ScoreJob,
    load_runner,
)
from modelmint.serving.logprobs import PromptScores
from modelmint.serving.protocol import Completion, TextDelta, collect
from modelmint.serving.sampler import SamplingParams
from modelmint.serving.text import TextCodec

START_TIMEOUT_S = 600.0  # loading a large model from a slow disk


class _RecordingObserver:
    """Observer calls in the child, replayed on the server's observer after each step."""

    def __init__(self) -> None:
        self.events: list[tuple[str, tuple[Any, ...]]] = []

    def queue(self, waiting: int, running: int) -> None:
        self.events.append(("queue", (waiting, running)))

    def first_token(self, seconds: float, prompt_tokens: int) -> None:
        self.events.append(("first_token", (seconds, prompt_tokens)))

    def next_token(self, seconds: float) -> None:
        self.events.append(("next_token", (seconds,)))

    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None:
        self.events.append(("finished", (reason, seconds, completion_tokens)))


def _portable(item: Any) -> Any:
    """What can cross the pipe: the errors the gateway knows by type, others as text."""
    if isinstance(item, BaseException) and not isinstance(item, QueueTimeout | ValueError):
        return RuntimeError(f"{type(item).__name__}: {item}")
    return item


def _final(item: Any) -> bool:
    return not isinstance(item, TextDelta) or item.finish_reason is not None


def _core_main(conn: Connection, path: str, config: EngineConfig) -> None:
    """The child: load the model, then step whenever there is work, reading requests
    between steps."""
    # Ctrl-C reaches the whole process group: the server drains its requests first and
    # then closes the engine, so the engine must not stop on it by itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        runner, codec = load_runner(path, config)
    except BaseException as e:  # the parent reports it; nothing else can
        conn.send(("failed", f"{type(e).__name__}: {e}"))
        return
    observer = _RecordingObserver()
    core = EngineCore(runner, codec, config, observer)
    conn.send(("ready", runner.context_length))
    outbox: list[tuple[int, Any]] = []
    sequences: dict[int, Any] = {}

    def to_parent(rid: int) -> Callable[[Any], None]:
        def deliver(item: Any) -> None:
            outbox.append((rid, _portable(item)))
            if _final(item):
                sequences.pop(rid, None)

        return deliver

    def flush() -> None:
        if outbox or observer.events:
            conn.send((outbox, observer.events))
            outbox.clear()
            observer.events.clear()

    try:
        while True:
            if not core.has_work:
                conn.poll(None)
            while conn.poll():
                msg = conn.recv()
                kind, rid = msg[0], msg[1]
                if kind == "add":
                    prompt, params, seed, stop_ids = msg[2:]
                    seq = core.sequence(prompt, params, seed, stop_ids, to_parent(rid))
                    sequences[rid] = seq
                    core.add(seq)
                elif kind == "abort":
                    if rid in sequences:
                        sequences[rid].cancelled.set()
                elif kind == "score":
                    core.score(ScoreJob(msg[2], msg[3], to_parent(rid)))
                elif kind == "close":
                    core.cancel_everything()
                    flush()
                    return
            if core.has_work:
                core.step()
            flush()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the server process is gone
        return


class ProcessEngine:
    """The native engine in its own process; the same interface as `Engine`."""

    def __init__(
        self,
        path: str | Path,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
        codec: TextCodec | None = None,
    ) -> None:
        self.config = config
        self.codec = codec or TextCodec(path)
        self.observer: EngineObserver = observer or NoObserver()
        # spawn, not fork: a forked copy of a process with torch's thread pools can hang
        ctx = mp.get_context("spawn")
        self._conn, child = ctx.Pipe()
        self._process = ctx.Process(
            target=_core_main, args=(child, str(path), config), name="mint-engine", daemon=True
        )
        self._process.start()
        child.close()
        if not self._conn.poll(START_TIMEOUT_S):
            self._process.kill()
            raise EngineDied(f"the engine process did not load {path} in {START_TIMEOUT_S:.0f} s")
        try:
            status, detail = self._conn.recv()
        except EOFError:
            raise EngineDied(
                f"the engine process for {path} exited with code {self._process.exitcode} "
                "while loading"
            ) from None
        if status != "ready":
            self._process.join(timeout=10)
            raise EngineDied(f"the engine process could not load {path}: {detail}")
        self.context_length: int = detail
        self._ids = itertools.count()
        self._send_lock = threading.Lock()
        self._lock = threading.Lock()  # guards the two maps below and _dead
        self._waiters: dict[int, Callable[[Any], None]] = {}
        self._unstarted: set[int] = set()  # submitted, no piece yet: the waiting queue
        self._dead: str | None = None
        self._closing = False
        self._reader = threading.Thread(target=self._read, name="mint-engine-reader", daemon=True)
        self._reader.start()

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
    ) -> ProcessEngine:
        return cls(path, config=config, observer=observer)

    # -- the async side -------------------------------------------------------------------
    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        check_prompt(prompt_ids, self.context_length)
        out: asyncio.Queue[TextDelta | BaseException] = asyncio.Queue()
        rid = next(self._ids)
        msg = (
            "add",
            rid,
            list(prompt_ids),
            params,
            request_seed(params),
            frozenset(self.codec.stop_ids),
        )
        self._submit(rid, deliverer(asyncio.get_running_loop(), out), msg, counted=True)
        finished = False
        try:
            async for piece in pieces(out):
                if piece.finish_reason is not None:
                    finished = True
                yield piece
        finally:
            if not finished:
                self._forget(rid)
                self._send(("abort", rid))

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[PromptScores] = loop.create_future()
        rid = next(self._ids)
        self._submit(rid, settler(loop, result), ("score", rid, list(prompt_ids), top_k))
        return await result

    def _submit(
        self, rid: int, waiter: Callable[[Any], None], msg: tuple[Any, ...], counted: bool = False
    ) -> None:
        with self._lock:
            if self._dead is not None:
                raise EngineDied(self._dead)
            if self._closing:
                raise EngineOverloaded("the server is shutting down", retry_after_s=5)
            if counted and len(self._unstarted) >= self.config.max_waiting:
                self.observer.finished("rejected", 0.0, 0)
                raise overloaded(len(self._unstarted))
            self._waiters[rid] = waiter
            if counted:
                self._unstarted.add(rid)
        self._send(msg)

    def _send(self, msg: tuple[Any, ...]) -> None:
        try:
            with self._send_lock:
                self._conn.send(msg)
        except (BrokenPipeError, OSError):  # the reader reports the death to everyone
            pass

    def _forget(self, rid: int) -> None:
        with self._lock:
            self._waiters.pop(rid, None)
            self._unstarted.discard(rid)

    def close(self) -> None:
        with self._lock:
            self._closing = True
        self._send(("close", -1))
        self._process.join(timeout=10)
        if self._process.is_alive():
            self._process.kill()
        self._reader.join(timeout=10)
        self._conn.close()

    # -- the reader thread ----------------------------------------------------------------
    def _read(self) -> None:
        while True:
            try:
                outputs, events = self._conn.recv()
            except (EOFError, OSError):
                break
            for name, args in events:
                getattr(self.observer, name)(*args)
            with self._lock:
                ready = []
                for rid, item in outputs:
                    self._unstarted.discard(rid)
                    waiter = (
                        self._waiters.pop(rid, None) if _final(item) else self._waiters.get(rid)
                    )
                    if waiter is not None:
                        ready.append((waiter, item))
            for waiter, item in ready:
                waiter(item)
        self._process.join(timeout=2)
        code = self._process.exitcode
        with self._lock:
            self._dead = f"the engine process stopped (exit code {code}); restart the server"
            waiters, self._waiters = list(self._waiters.values()), {}
            self._unstarted.clear()
        if not self._closing:
            for waiter in waiters:
                waiter(EngineDied(self._dead))
