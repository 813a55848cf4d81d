"""What a client received is billed, exactly once, on the paths where a request ends early:
a reader that stops reading and then resets its connection, one choice of several failing,
and the engine process dying under load (after which serving resumes by itself). Real
sockets to a real server; SQLite and PostgreSQL both, by the store fixture."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from modelmint.gateway import ServedModel
from modelmint.serving import (
    Completion,
    Engine,
    EngineConfig,
    ProcessEngine,
    SamplingParams,
    TextDelta,
    collect,
)
from modelmint.store import Store, UsageEvent
from support.browser import live_server
from support.metered_gateway import Gateway, reservations, usage_events

PROMPT = "Hello"


def _until_billed(store: Store, count: int = 1, within_s: float = 20) -> list[UsageEvent]:
    deadline = time.monotonic() + within_s
    while len(events := usage_events(store)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return events


def _data_events(raw: bytes) -> list[dict[str, Any]]:
    """The complete JSON events of a server-sent event stream, in order."""
    out = []
    for line in raw.decode("utf-8", "replace").split("\n"):
        if line.startswith("data: {"):
            with contextlib.suppress(json.JSONDecodeError):  # the last may be cut short
                out.append(json.loads(line[6:]))
    return out


@contextmanager
def server_with_small_send_buffers(app: Any) -> Iterator[int]:
    """A real server whose connections buffer little (a few kB in the kernel, where the
    default grows to megabytes): a client that stops reading soon blocks its writes, as
    it would over a slow network. Yields the port."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)  # inherited by accepted ones
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline, "the test server did not start"
        time.sleep(0.02)
    try:
        yield int(sock.getsockname()[1])
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def _tokens_received(events: list[dict[str, Any]]) -> int:
    """Tokens whose text reached the client: each chunk lists them (logprobs asked for)."""
    return sum(
        len((c.get("logprobs") or {}).get("tokens") or [])
        for e in events
        for c in e.get("choices", [])
    )


@pytest.fixture
def endless_engine(micro_model_dir: Path) -> Iterator[Engine]:
    """Never stops by itself (no end token), so only max_tokens or the client ends it."""
    engine = Engine.load(micro_model_dir)
    engine.codec.stop_ids = set()
    yield engine
    engine.close()


def test_a_reader_that_stops_then_resets_is_billed_for_what_was_sent(
    store: Store, tmp_path: Path, endless_engine: Engine
) -> None:
    gw = Gateway(store, tmp_path, endless_engine)
    body = json.dumps(
        {
            "model": "micro",
            "prompt": PROMPT,
            "max_tokens": 100,
            "n": 16,
            "logprobs": 20,  # big events: the server's buffers fill while nobody reads
            "temperature": 1.0,
            "stream": True,
        }
    ).encode()
    with server_with_small_send_buffers(gw.app()) as port:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 2048)
        sock.connect(("127.0.0.1", port))
        sock.sendall(
            b"POST /v1/completions HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n"
            + f"Authorization: Bearer {gw.key}\r\nContent-Length: {len(body)}\r\n\r\n".encode()
            + body
        )
        raw = b""
        while raw.count(b"data: {") < 5:
            raw += sock.recv(2048)
        assert raw.startswith(b"HTTP/1.1 200")
        time.sleep(3)  # stops reading: the server blocks writing to it
        assert reservations(store) == 1
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()  # a reset, not a goodbye
        [event] = _until_billed(store)
    received = _tokens_received(_data_events(raw.partition(b"\r\n\r\n")[2]))
    assert event.status == "cancelled"
    assert received <= event.completion_tokens < 16 * 100
    assert reservations(store) == 0


class OneChoiceFailsEngineFake:
    """The real engine, except that the choice seeded ``failing_seed`` fails after
    ``good_pieces`` pieces: isolates what the gateway does with the other choices."""

    def __init__(self, engine: Engine, failing_seed: int, good_pieces: int) -> None:
        self.engine, self.codec = engine, engine.codec
        self.failing_seed, self.good_pieces = failing_seed, good_pieces

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        pieces = 0
        async for delta in self.engine.stream(prompt_ids, params):
            if params.seed == self.failing_seed and pieces == self.good_pieces:
                raise RuntimeError("this choice failed")
            pieces += 1
            yield delta

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> Any:
        return await self.engine.score(prompt_ids, top_k)

    def close(self) -> None:
        return None


def _with_engine(gw: Gateway, engine: Any) -> Any:
    real = gw.models["micro"]
    return gw.app({"micro": ServedModel("micro", real.label, real.model_version_id, engine=engine)})


def _running(engine: Engine) -> int:
    return len(engine.core.scheduler.running) + len(engine.core.scheduler.waiting)


def test_one_failing_choice_stops_the_others_and_is_not_billed(
    store: Store, tmp_path: Path, endless_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    forward = endless_engine.runner.forward

    def slow_forward_fake(*args: Any, **kwargs: Any) -> Any:  # 110 tokens: over 2 s
        time.sleep(0.02)
        return forward(*args, **kwargs)

    monkeypatch.setattr(endless_engine.runner, "forward", slow_forward_fake)
    gw = Gateway(store, tmp_path, endless_engine)
    fake = OneChoiceFailsEngineFake(endless_engine, failing_seed=7 + 2, good_pieces=2)
    body = {"model": "micro", "prompt": PROMPT, "max_tokens": 110, "n": 8, "seed": 7}
    with live_server(_with_engine(gw, fake)) as base:
        r = httpx.post(
            f"{base}/v1/completions",
            json=body,
            headers={"Authorization": f"Bearer {gw.key}"},
            timeout=60,
        )
        assert r.status_code == 500 and r.json()["error"]["type"] == "server_error"
        deadline = time.monotonic() + 0.5
        while _running(endless_engine) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert _running(endless_engine) == 0  # the seven others were stopped, not finished
    assert usage_events(store) == [] and reservations(store) == 0


def test_one_failing_choice_in_a_stream_bills_what_was_delivered(
    store: Store, tmp_path: Path, endless_engine: Engine
) -> None:
    gw = Gateway(store, tmp_path, endless_engine)
    fake = OneChoiceFailsEngineFake(endless_engine, failing_seed=7 + 1, good_pieces=3)
    body = {
        "model": "micro",
        "prompt": PROMPT,
        "max_tokens": 110,
        "n": 2,
        "seed": 7,
        "logprobs": 0,
        "stream": True,
    }
    with live_server(_with_engine(gw, fake)) as base:
        r = httpx.post(
            f"{base}/v1/completions",
            json=body,
            headers={"Authorization": f"Bearer {gw.key}"},
            timeout=60,
        )
        [event] = _until_billed(store)
    events = _data_events(r.content)
    assert events[-1]["error"]["type"] == "server_error"
    assert (event.status, event.completion_tokens) == ("failed", _tokens_received(events))
    assert reservations(store) == 0


@pytest.fixture
def endless_process_engine(micro_model_dir: Path) -> Iterator[ProcessEngine]:
    engine = ProcessEngine(micro_model_dir, config=EngineConfig(slots=32))
    engine.codec.stop_ids = set()  # the server's codec decides what stops a sequence
    yield engine
    engine.close()


def test_engine_death_bills_what_was_received_and_serving_resumes(
    store: Store, tmp_path: Path, endless_process_engine: ProcessEngine
) -> None:
    engine = endless_process_engine
    gw = Gateway(store, tmp_path, engine)
    headers = {"Authorization": f"Bearer {gw.key}"}
    whole_body = {"model": "micro", "prompt": PROMPT, "max_tokens": 110, "n": 16}
    stream_body = {**whole_body, "logprobs": 0, "stream": True}
    with live_server(gw.app()) as base:
        url = f"{base}/v1/completions"
        whole: list[httpx.Response] = []
        asker = threading.Thread(
            target=lambda: whole.append(
                httpx.post(url, json=whole_body, headers=headers, timeout=60)
            )
        )
        raw = b""
        with httpx.stream("POST", url, json=stream_body, headers=headers, timeout=60) as r:
            asker.start()
            for chunk in r.iter_raw():
                if not raw:
                    pid = engine.pid
                    assert pid is not None
                    os.kill(pid, signal.SIGKILL)
                    killed_at = time.monotonic()
                raw += chunk
        asker.join(60)
        [event] = _until_billed(store)
        while (
            # a request admitted while the new engine warms up may wait for it: not httpx's 5 s
            ok := httpx.post(url, json={**whole_body, "n": 1}, headers=headers, timeout=60)
        ).status_code != 200:
            assert ok.status_code == 503 and ok.json()["error"]["code"] == "engine_unavailable"
            assert int(ok.headers["Retry-After"]) >= 1
            assert time.monotonic() - killed_at < 120
            time.sleep(0.05)
        print(f"\nthe next 200 came {time.monotonic() - killed_at:.1f} s after the kill")
    events = _data_events(raw)
    assert events[-1]["error"]["code"] == "engine_unavailable"
    received = _tokens_received(events)
    assert 1 <= received < 16 * 110
    assert (event.status, event.completion_tokens) == ("failed", received)
    [refused] = whole
    assert refused.status_code == 503 and refused.json()["error"]["code"] == "engine_unavailable"
    # the stream's event, then the successful request's: the refused one was not billed
    assert len(usage_events(store)) == 2 and reservations(store) == 0
