"""The native engine in its own process: the same answers as on a thread, requests that
leave free their slot, the waiting bound, scoring, metrics, and a child that dies and is
replaced."""

import asyncio
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from modelmint.serving import (
    Engine,
    EngineConfig,
    EngineDied,
    EngineOverloaded,
    ProcessEngine,
    SamplingParams,
)
from support.helpers import build_micro_model

PROMPTS = ["Where is my order", "您好，我想退款", "Invoice for", "我的包裹", "Hi", "退货"]


class RecordingObserverFake:
    def __init__(self) -> None:
        self.calls: dict[str, list[tuple]] = {}

    def _add(self, name: str, *args: object) -> None:
        self.calls.setdefault(name, []).append(args)

    def queue(self, waiting: int, running: int) -> None:
        self._add("queue", waiting, running)

    def first_token(self, seconds: float, prompt_tokens: int) -> None:
        self._add("first_token", seconds, prompt_tokens)

    def next_token(self, seconds: float) -> None:
        self._add("next_token", seconds)

    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None:
        self._add("finished", reason, seconds, completion_tokens)

    def restarted(self, seconds: float) -> None:
        self._add("restarted", seconds)


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_micro_model(tmp_path_factory.mktemp("m"))


@pytest.fixture(scope="module")
def observer() -> RecordingObserverFake:
    return RecordingObserverFake()


@pytest.fixture(scope="module")
def process_engine(model_dir: Path, observer: RecordingObserverFake) -> Iterator[ProcessEngine]:
    e = ProcessEngine(model_dir, config=EngineConfig(slots=4, max_waiting=8), observer=observer)
    yield e
    e.close()


async def _complete_all(engine: Engine | ProcessEngine, n: int, seed: int | None) -> list[str]:
    params = SamplingParams(max_tokens=n, temperature=0 if seed is None else 1.0, seed=seed)
    done = await asyncio.gather(*[engine.complete(engine.codec.encode(p), params) for p in PROMPTS])
    return [d.text for d in done]


def test_same_answers_as_the_threaded_engine(
    model_dir: Path, process_engine: ProcessEngine
) -> None:
    threaded = Engine.load(model_dir, config=EngineConfig(slots=4))
    try:
        for seed in (None, 11):  # greedy, and sampled with a seed
            assert asyncio.run(_complete_all(process_engine, 12, seed)) == asyncio.run(
                _complete_all(threaded, 12, seed)
            )
        ids = threaded.codec.encode("您好，我的订单")
        mine, theirs = (asyncio.run(e.score(ids, 2)) for e in (process_engine, threaded))
        assert [t.logprob for t in mine.tokens] == pytest.approx([t.logprob for t in theirs.tokens])
    finally:
        threaded.close()


def test_stop_tokens_are_the_server_codecs(process_engine: ProcessEngine) -> None:
    """The gateway's codec decides what stops a sequence, not the child's own copy."""
    saved = process_engine.codec.stop_ids
    process_engine.codec.stop_ids = set()
    try:
        ids = process_engine.codec.encode("Hi")
        done = asyncio.run(
            process_engine.complete(ids, SamplingParams(max_tokens=40, temperature=0))
        )
        assert (done.completion_tokens, done.finish_reason) == (40, "length")
    finally:
        process_engine.codec.stop_ids = saved


def test_a_client_that_leaves_frees_its_slot(
    process_engine: ProcessEngine, observer: RecordingObserverFake
) -> None:
    async def leave_early() -> None:
        ids = process_engine.codec.encode("Where is my order")
        stream = process_engine.stream(ids, SamplingParams(max_tokens=100, temperature=0))
        await stream.__anext__()
        await stream.aclose()

    before = len([c for c in observer.calls.get("finished", []) if c[0] == "cancelled"])
    asyncio.run(leave_early())
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        cancelled = [c for c in observer.calls.get("finished", []) if c[0] == "cancelled"]
        if len(cancelled) > before:
            break
        time.sleep(0.02)
    assert len(cancelled) == before + 1
    assert cancelled[-1][2] < 100  # it stopped long before its 100 tokens
    # metrics of the child's steps reached the server's observer
    assert observer.calls["first_token"] and observer.calls["queue"]


def test_the_waiting_bound_refuses_at_once(model_dir: Path) -> None:
    engine = ProcessEngine(model_dir, config=EngineConfig(slots=1, max_waiting=2))

    async def main() -> list[object]:
        params = SamplingParams(max_tokens=5, temperature=0)
        ids = engine.codec.encode("Hi")
        return await asyncio.gather(
            *[engine.complete(ids, params) for _ in range(3)], return_exceptions=True
        )

    async def scores() -> list[object]:  # scoring waits in the same bounded queue
        ids = engine.codec.encode("Hi")
        return await asyncio.gather(
            *[engine.score(ids, 0) for _ in range(3)], return_exceptions=True
        )

    try:
        for results in (asyncio.run(main()), asyncio.run(scores())):
            refused = [r for r in results if isinstance(r, EngineOverloaded)]
            assert len(refused) == 1 and refused[0].retry_after_s == 1
            assert sum(1 for r in results if not isinstance(r, BaseException)) == 2
    finally:
        engine.close()


def test_a_killed_engine_process_fails_its_requests_and_is_replaced(model_dir: Path) -> None:
    observer = RecordingObserverFake()
    engine = ProcessEngine(model_dir, config=EngineConfig(slots=2), observer=observer)
    ids = engine.codec.encode("Where is my order")
    long = SamplingParams(max_tokens=100, temperature=0)

    async def killed_under_load() -> list[BaseException]:
        streams = [engine.stream(ids, long) for _ in range(4)]  # two run, two wait
        await asyncio.gather(*[s.__anext__() for s in streams[:2]])
        first = engine.pid
        assert first is not None
        os.kill(first, signal.SIGKILL)
        failures = []
        for stream in streams:
            try:
                async for _ in stream:
                    pass
            except EngineDied as e:
                failures.append(e)
        return failures

    async def first_answer() -> float:
        killed_at = time.monotonic()
        while True:
            try:
                await engine.complete(ids, SamplingParams(max_tokens=3))
                return time.monotonic() - killed_at
            except EngineDied as e:  # refused at once while the new child loads
                assert "retry in a few seconds" in str(e)
                await asyncio.sleep(0.05)

    try:
        first_pid = engine.pid
        failures = asyncio.run(killed_under_load())
        assert len(failures) == 4 and all("stopped" in str(e) for e in failures)
        recovered_s = asyncio.run(asyncio.wait_for(first_answer(), 120))
        print(f"\nback to serving {recovered_s:.1f} s after the kill")
        assert engine.pid != first_pid and engine.restarts == 1
        assert len(observer.calls["restarted"]) == 1
        # the new child serves the same answers
        again = asyncio.run(engine.complete(ids, SamplingParams(max_tokens=8, temperature=0)))
        assert again.completion_tokens >= 1
    finally:
        engine.close()


def test_a_model_that_cannot_load_names_the_path(tmp_path: Path) -> None:
    # a tokenizer without weights: the server's codec loads, the child's model does not
    good = build_micro_model(tmp_path / "good")
    bad = tmp_path / "bad"
    bad.mkdir()
    for f in good.iterdir():
        if not f.name.startswith("model"):
            (bad / f.name).write_bytes(f.read_bytes())
    with pytest.raises(EngineDied, match=r"could not load .*bad"):
        ProcessEngine(bad)
