"""The native engine in a process of its own, as vLLM's V1 engine core: the model's
Python (scheduling, sampling, the layers' glue between kernels) never waits for the
interpreter lock the HTTP side holds to parse JSON and write server-sent events, so both
CPU cores work.

The server process keeps a `TextCodec` (the gateway tokenizes and bills with it) and talks
to the child over a pipe: ``add``/``abort``/``score``/``close`` go down; each engine step
comes back as one message with every request's new pieces and what the observer should
record. A reader thread in the server process hands the pieces to the requests' event
loops.

The server process supervises the child. If it dies (killed, out of memory, a crash in a
kernel), every request in flight gets `EngineDied` (the gateway answers 503 and bills only
what a client already received), new requests are refused with the same error while a new
child loads, and then serving goes on: no server restart. A child that keeps dying is
started again after a growing pause (1 s, doubling, at most 30 s), so a crash loop cannot
spin the CPU."""

from __future__ import annotations

import asyncio
import itertools
import logging
import multiprocessing as mp
import signal
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from modelmint.serving.core.engine_core import (
    EngineConfig,
    EngineCore,
    EngineDied,
    EngineObserver,
    NoObserver,
    QueueTimeout,
    ScoreJob,
    load_runner,
)
from modelmint.serving.drivers.thread_engine import (
    check_prompt,
    check_room,
    deliverer,
    pieces,
    request_seed,
    settler,
    shutting_down,
)
from modelmint.serving.logprobs import PromptScores
from modelmint.serving.protocol import Completion, TextDelta, collect
from modelmint.serving.sampler import SamplingParams
from modelmint.serving.text import TextCodec

START_TIMEOUT_S = 600.0  # loading a large model from a slow disk
# The pause before starting a child again grows while children die within this window.
CRASH_WINDOW_S = 60.0
MAX_RESTART_PAUSE_S = 30.0

log = logging.getLogger("modelmint.serving")


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

    def restarted(self, seconds: float) -> None:  # the server's supervisor reports these
        self.events.append(("restarted", (seconds,)))


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
                try:
                    _handle(core, msg, sequences, to_parent)
                except Exception as e:  # that request's own failure (bad parameters)
                    outbox.append((msg[1], _portable(e)))
                if msg[0] == "close":
                    flush()
                    return
            if core.has_work:
                core.step()
            flush()
    except (EOFError, BrokenPipeError, KeyboardInterrupt):  # the server process is gone
        return


def _handle(
    core: EngineCore,
    msg: tuple[Any, ...],
    sequences: dict[int, Any],
    to_parent: Callable[[int], Callable[[Any], None]],
) -> None:
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


class _Child:
    """One engine process, loaded and ready, and the server's end of its pipe."""

    def __init__(self, path: str, config: EngineConfig) -> None:
        # spawn, not fork: a forked copy of a process with torch's thread pools can hang
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=_core_main, args=(child, path, config), name="mint-engine", daemon=True
        )
        self.process.start()
        child.close()
        if not self.conn.poll(START_TIMEOUT_S):
            self.process.kill()
            raise EngineDied(f"the engine process did not load {path} in {START_TIMEOUT_S:.0f} s")
        try:
            status, detail = self.conn.recv()
        except EOFError:
            raise EngineDied(
                f"the engine process for {path} exited with code {self.process.exitcode} "
                "while loading"
            ) from None
        if status != "ready":
            self.process.join(timeout=10)
            raise EngineDied(f"the engine process could not load {path}: {detail}")
        self.context_length: int = detail
        self.send_lock = threading.Lock()

    def send(self, msg: tuple[Any, ...]) -> None:
        try:
            with self.send_lock:
                self.conn.send(msg)
        except (BrokenPipeError, OSError):  # the reader reports the death to everyone
            pass

    def close(self) -> None:
        self.send(("close", -1))
        self.process.join(timeout=10)
        if self.process.is_alive():
            self.process.kill()
            self.process.join(timeout=10)
        self.conn.close()


class ProcessEngine:
    """The native engine in its own process, supervised; the same interface as `Engine`."""

    def __init__(
        self,
        path: str | Path,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
        codec: TextCodec | None = None,
    ) -> None:
        self.path, self.config = str(path), config
        self.codec = codec or TextCodec(path)
        self.observer: EngineObserver = observer or NoObserver()
        self._child = _Child(self.path, config)  # the first load's failure is the caller's
        # the served context, which the gateway checks requests against
        self.codec.context_length = self._child.context_length
        self.restarts = 0
        self._deaths: list[float] = []  # when recent children died, for the pause
        self._ids = itertools.count()
        self._lock = threading.Lock()  # guards the child, the two maps below and _dead
        self._waiters: dict[int, Callable[[Any], None]] = {}
        self._unstarted: set[int] = set()  # submitted, no piece yet: the waiting queue
        self._dead: str | None = None  # why requests are refused, while no child serves
        self._closing = threading.Event()
        self._reader = self._start_reader(self._child)

    @classmethod
    def load(
        cls,
        path: str | Path,
        *,
        config: EngineConfig = EngineConfig(),
        observer: EngineObserver | None = None,
    ) -> ProcessEngine:
        return cls(path, config=config, observer=observer)

    @property
    def pid(self) -> int | None:
        """The engine process serving now."""
        return self._child.process.pid

    # -- the async side -------------------------------------------------------------------
    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        check_prompt(prompt_ids, self.codec.context_length)
        params = params.checked(self.codec.vocab_size)  # a bad one is refused here, at once
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
        child = self._submit(rid, deliverer(asyncio.get_running_loop(), out), msg)
        finished = False
        try:
            async for piece in pieces(out):
                if piece.finish_reason is not None:
                    finished = True
                yield piece
        finally:
            if not finished:
                self._forget(rid)
                child.send(("abort", rid))

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        loop = asyncio.get_running_loop()
        result: asyncio.Future[PromptScores] = loop.create_future()
        rid = next(self._ids)
        msg = ("score", rid, list(prompt_ids), top_k)
        self._submit(rid, settler(loop, result), msg)  # bounded with generation
        return await result

    def _submit(self, rid: int, waiter: Callable[[Any], None], msg: tuple[Any, ...]) -> _Child:
        with self._lock:
            if self._closing.is_set():
                raise shutting_down()
            if self._dead is not None:
                raise EngineDied(self._dead)
            check_room(len(self._unstarted), self.config, self.observer)
            self._waiters[rid] = waiter
            self._unstarted.add(rid)
            child = self._child
        # Sent to the child it was registered with: if that one dies meanwhile, its
        # reader fails this request with the rest, and no later child runs it unasked.
        child.send(msg)
        return child

    def _forget(self, rid: int) -> None:
        with self._lock:
            self._waiters.pop(rid, None)
            self._unstarted.discard(rid)

    def close(self) -> None:
        self._closing.set()
        with self._lock:
            child = self._child
        child.close()
        self._reader.join(timeout=10)

    # -- the reader thread, and the supervisor when the child dies ------------------------
    def _start_reader(self, child: _Child) -> threading.Thread:
        reader = threading.Thread(
            target=self._read, args=(child,), name="mint-engine-reader", daemon=True
        )
        reader.start()
        return reader

    def _read(self, child: _Child) -> None:
        while True:
            try:
                outputs, events = child.conn.recv()
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
        if self._closing.is_set():
            return
        child.process.join(timeout=2)
        died = f"the engine process stopped (exit code {child.process.exitcode})"
        log.error("%s; starting a new one", died)
        with self._lock:
            self._dead = f"{died}; a new one is starting, retry in a few seconds"
            waiters, self._waiters = list(self._waiters.values()), {}
            self._unstarted.clear()
        for waiter in waiters:
            waiter(EngineDied(self._dead))
        child.conn.close()
        self._restart()

    def _restart(self) -> None:
        """Starts children until one loads (or the engine is closed), pausing longer the
        more children died in the last minute."""
        started = time.monotonic()
        self._deaths = [t for t in self._deaths if started - t < CRASH_WINDOW_S] + [started]
        pause = 0.0 if len(self._deaths) == 1 else 1.0
        pause *= 2 ** max(0, len(self._deaths) - 2)
        while not self._closing.wait(min(pause, MAX_RESTART_PAUSE_S)):
            try:
                child = _Child(self.path, self.config)
            except EngineDied as e:
                log.error("%s; trying again", e)
                pause = max(1.0, pause * 2)
                continue
            with self._lock:
                serving = not self._closing.is_set()
                if serving:
                    self._child, self._dead = child, None
                    self.restarts += 1
            if not serving:
                child.close()
                return
            took = time.monotonic() - started
            self.observer.restarted(took)
            log.warning("a new engine process serves again after %.1f s", took)
            self._reader = self._start_reader(child)
            return
