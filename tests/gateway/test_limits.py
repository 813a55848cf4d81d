"""Admission behind the OpenAI routes: what clients see when a budget or a rate limit says
no, which models a key may see, and the ledger rules on every path a request can take
(completed, cut by the client, failed on our side, refused by a full queue): billed at
most once, and no reservation left behind."""

from __future__ import annotations

import asyncio
import gc
import json
import re
import threading
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi.testclient import TestClient

from modelmint.catalog import Catalog
from modelmint.cli.models import bundled_encoder
from modelmint.commerce import PLATFORM
from modelmint.commerce.pricing import PriceBooks
from modelmint.gateway import ServedModel
from modelmint.gateway.metering import format_reset
from modelmint.modeling.encoders import minilm_path
from modelmint.serving import (
    Completion,
    Embedder,
    Engine,
    EngineOverloaded,
    PromptScores,
    QueueTimeout,
    SamplingParams,
    TextCodec,
    TextDelta,
    collect,
)
from modelmint.store import Store
from support.helpers import free_port
from support.metered_gateway import BIG_BUDGET, INPUT_PRICE, Gateway, reservations, usage_events


@pytest.fixture
def gw(store: Store, tmp_path: Path, micro_model_dir: Path) -> Iterator[Gateway]:
    engine = Engine.load(micro_model_dir)  # the app closes its engines when it stops
    yield Gateway(store, tmp_path, engine)
    engine.close()


def completion(client: TestClient, model: str = "micro", **extra: Any) -> Any:
    body = {"model": model, "prompt": "Hello", "max_tokens": 4, "temperature": 0, **extra}
    return client.post("/v1/completions", json=body)


# -- refusals -----------------------------------------------------------------------------


def test_over_budget_is_429_insufficient_quota_and_not_billed(gw: Gateway) -> None:
    gw.budgets.set(PLATFORM, "acme", 40, "month", hard=True)  # 40 micro-units
    with gw.client() as c:
        refused = completion(c, max_tokens=60)  # may cost 120+: refused before it runs
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert error["type"] == "insufficient_quota"
        assert error["code"] == "insufficient_quota"
        assert "budget" in error["message"] and "max_tokens" in error["message"]
        assert usage_events(gw.store) == [] and reservations(gw.store) == 0

        fits = completion(c, max_tokens=2)  # a few prompt tokens + 4: fits in 40
        assert fits.status_code == 200, fits.text
    [event] = usage_events(gw.store)
    assert event.request_id == fits.json()["id"]
    assert event.retail_micros == fits.json()["usage"]["prompt_tokens"] + 2 * 2
    assert reservations(gw.store) == 0


def test_rate_limit_headers_then_429_with_retry_after(gw: Gateway) -> None:
    limited = gw.keys.create("acme", rpm_limit=2, tpm_limit=10_000).key
    with gw.client(limited) as c:
        first = completion(c)
        assert first.status_code == 200, first.text
        h = first.headers
        assert h["x-ratelimit-limit-requests"] == "2"
        assert h["x-ratelimit-remaining-requests"] == "1"
        assert h["x-ratelimit-limit-tokens"] == "10000"
        asked = first.json()["usage"]["prompt_tokens"] + 4  # prompt + max_tokens
        assert int(h["x-ratelimit-remaining-tokens"]) == 10_000 - asked
        for name in ("x-ratelimit-reset-requests", "x-ratelimit-reset-tokens"):
            assert re.fullmatch(r"\d+ms|\d+(\.\d+)?s|\d+m\d+s", h[name]), h[name]

        with c.stream(
            "POST",
            "/v1/completions",
            json={"model": "micro", "prompt": "Hello", "max_tokens": 4, "stream": True},
        ) as second:
            assert second.status_code == 200
            assert second.headers["x-ratelimit-remaining-requests"] == "0"
            assert list(second.iter_lines())[-2:] == ["data: [DONE]", ""]

        third = completion(c)
        assert third.status_code == 429, third.text
        error = third.json()["error"]
        assert error["code"] == "rate_limit_exceeded" and error["type"] == "rate_limit_error"
        assert "2 requests per minute" in error["message"]
        assert int(third.headers["Retry-After"]) >= 1
        assert third.headers["x-ratelimit-limit-requests"] == "2"
        assert third.headers["x-ratelimit-remaining-requests"] == "0"
    assert len(usage_events(gw.store)) == 2 and reservations(gw.store) == 0


def test_no_limits_no_ratelimit_headers(gw: Gateway) -> None:
    with gw.client() as c:
        r = completion(c)
    assert r.status_code == 200
    assert not [k for k in r.headers if k.startswith("x-ratelimit")]


def test_reset_durations_read_like_openais() -> None:
    assert format_reset(0.02) == "20ms"
    assert format_reset(1) == "1s"
    assert format_reset(1.5) == "1.5s"
    assert format_reset(360) == "6m0s"
    assert format_reset(3600) == "1h0m0s"


# -- which models a key sees ----------------------------------------------------------------


def test_key_sees_and_calls_only_its_allowed_models(gw: Gateway) -> None:
    only_mini = gw.keys.create("acme", allowed_models=["mini"]).key
    with gw.client(only_mini) as c:
        assert [m["id"] for m in c.get("/v1/models").json()["data"]] == ["mini"]
        for r in (
            c.get("/v1/models/micro"),
            completion(c, "micro"),
            c.post(
                "/v1/chat/completions",
                json={"model": "micro", "messages": [{"role": "user", "content": "hi"}]},
            ),
        ):
            assert r.status_code == 404, r.text
            assert r.json()["error"]["code"] == "model_not_found"
            assert "micro" in r.json()["error"]["message"]
        assert completion(c, "mini").status_code == 200
    with gw.client() as c:  # a key without a list sees every model
        assert sorted(m["id"] for m in c.get("/v1/models").json()["data"]) == ["micro", "mini"]
    assert [e.model_version_id for e in usage_events(gw.store)] == [
        gw.models["mini"].model_version_id
    ]


def test_tokenizer_routes_keep_to_the_keys_models_and_limits(gw: Gateway) -> None:
    only_mini = gw.keys.create("acme", allowed_models=["mini"], rpm_limit=3).key
    with gw.client(only_mini) as c:
        hidden = c.post("/tokenize", json={"model": "micro", "prompt": "Hi"})
        assert hidden.status_code == 404 and hidden.json()["error"]["code"] == "model_not_found"
        assert c.get("/tokenizer_info", params={"model": "micro"}).status_code == 404
        # without a model: the one generating model this key may use
        tokens = c.post("/tokenize", json={"prompt": "Hi"}).json()["tokens"]
        assert c.post("/detokenize", json={"tokens": tokens}).status_code == 200
        assert c.get("/tokenizer_info").status_code == 200
        refused = c.post("/tokenize", json={"prompt": "Hi"})  # the fourth in a minute
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "rate_limit_exceeded"
    events = usage_events(gw.store)
    assert [e.endpoint for e in events] == ["tokenize", "detokenize", "tokenizer_info"]
    assert {(e.prompt_tokens, e.completion_tokens, e.retail_micros) for e in events} == {(0, 0, 0)}
    assert {e.model_version_id for e in events} == {gw.models["mini"].model_version_id}
    assert reservations(gw.store) == 0


# -- the ledger on every path -----------------------------------------------------------------


class FailingFakeEngine:
    """A fake engine that fails on our side: at once, or after ``good_pieces`` pieces of a
    stream. It notes how many reservations were held while it ran (admission came first)."""

    def __init__(self, codec: TextCodec, store: Store, good_pieces: int = 0) -> None:
        self.codec = codec
        self.store = store
        self.good_pieces = good_pieces
        self.held_while_running: list[int] = []

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        self.held_while_running.append(reservations(self.store))
        for i in range(self.good_pieces):
            yield TextDelta("x", i + 1)
            await asyncio.sleep(0)
        raise RuntimeError("fake engine failure")

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        raise RuntimeError("fake engine failure")

    def close(self) -> None:
        return None


class OverloadedFakeEngine(FailingFakeEngine):
    """A fake engine whose queue is always full."""

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        self.held_while_running.append(reservations(self.store))
        raise EngineOverloaded("The server has too many requests waiting.", retry_after_s=2)
        yield TextDelta("", 0)  # pragma: no cover (makes this an async generator)


def _fake_client(gw: Gateway, engine: Any) -> TestClient:
    real = gw.models["micro"]
    models = {"micro": ServedModel("micro", real.label, real.model_version_id, engine=engine)}
    client = TestClient(gw.app(models), raise_server_exceptions=False)
    client.headers["Authorization"] = f"Bearer {gw.key}"
    return client


@pytest.mark.parametrize("stream", [False, True])
def test_failure_on_our_side_is_released_not_billed(gw: Gateway, stream: bool) -> None:
    fake = FailingFakeEngine(gw.engine.codec, gw.store)
    with _fake_client(gw, fake) as c:
        r = completion(c, stream=stream)
    assert r.status_code == 500
    assert r.json()["error"]["type"] == "server_error"
    assert fake.held_while_running == [1]
    assert usage_events(gw.store) == [] and reservations(gw.store) == 0


def test_stream_failing_midway_bills_what_the_client_got(gw: Gateway) -> None:
    fake = FailingFakeEngine(gw.engine.codec, gw.store, good_pieces=3)
    with _fake_client(gw, fake) as c:
        r = completion(c, stream=True, max_tokens=10)
    assert r.status_code == 200  # the stream had started; the error is its last event
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    assert events[-1]["error"]["type"] == "server_error"
    assert "".join(e["choices"][0]["text"] for e in events[:-1]) == "xxx"
    assert fake.held_while_running == [1]
    [event] = usage_events(gw.store)  # the client keeps its three tokens: they are billed
    assert (event.status, event.completion_tokens) == ("failed", 3)
    assert reservations(gw.store) == 0


class SecondChoiceTimesOutFakeEngine(FailingFakeEngine):
    """Choice 0 streams three pieces; choice 1 waited too long for a slot."""

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        if params.seed == 1:
            await asyncio.sleep(0.05)
            raise QueueTimeout("the request waited 60 s without a free slot")
        for i in range(3):
            yield TextDelta("x", i + 1)
            await asyncio.sleep(0.01)
        yield TextDelta("", 3, "stop")


def test_a_queue_timeout_mid_stream_is_a_503_event_and_bills_what_was_sent(gw: Gateway) -> None:
    fake = SecondChoiceTimesOutFakeEngine(gw.engine.codec, gw.store)
    with _fake_client(gw, fake) as c:
        r = completion(c, stream=True, n=2, seed=0, max_tokens=10)
    events = [json.loads(line[6:]) for line in r.text.splitlines() if line.startswith("data: ")]
    error = events[-1]["error"]
    assert error["code"] == "server_overloaded" and "retry later" in error["message"]
    sent = sum(len(e["choices"][0]["text"]) for e in events[:-1])
    [event] = usage_events(gw.store)
    assert (event.status, event.completion_tokens) == ("failed", sent)
    assert reservations(gw.store) == 0


@pytest.mark.parametrize("stream", [False, True])
def test_full_queue_is_429_and_released(gw: Gateway, stream: bool) -> None:
    fake = OverloadedFakeEngine(gw.engine.codec, gw.store)
    with _fake_client(gw, fake) as c:
        r = completion(c, stream=stream)
    assert r.status_code == 429, r.text
    assert r.json()["error"]["code"] == "server_overloaded"
    assert r.headers["Retry-After"] == "2"
    assert fake.held_while_running == [1]
    assert usage_events(gw.store) == [] and reservations(gw.store) == 0


def test_completed_requests_are_billed_once_with_the_usage_returned(gw: Gateway) -> None:
    with gw.client() as c:
        whole = completion(c, n=2, max_tokens=5)
        chat = c.post(
            "/v1/chat/completions",
            json={
                "model": "micro",
                "messages": [{"role": "user", "content": "hi"}],
                "max_tokens": 3,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    streamed = [json.loads(x[6:]) for x in chat.text.splitlines() if x.startswith("data: {")]
    usages = {whole.json()["id"]: whole.json()["usage"], streamed[-1]["id"]: streamed[-1]["usage"]}
    events = {e.request_id: e for e in usage_events(gw.store)}
    assert events.keys() == usages.keys()
    for rid, u in usages.items():
        e = events[rid]
        assert (e.prompt_tokens, e.completion_tokens) == (
            u["prompt_tokens"],
            u["completion_tokens"],
        )
        assert e.status == "completed"
        assert e.retail_micros == e.prompt_tokens + 2 * e.completion_tokens
    assert reservations(gw.store) == 0


# -- a stream the client cuts (a real server: a test client cannot hang up) -------------------


@pytest.fixture
def endless_slow_engine(micro_model_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Engine]:
    """Never ends by itself (no end token) and takes a while per token (a fake delay), so
    the client is certain to hang up mid-stream."""
    engine = Engine.load(micro_model_dir)
    monkeypatch.setattr(engine.codec, "stop_ids", set())
    forward = engine.runner.forward

    def slow_forward_fake(*args: Any, **kwargs: Any) -> Any:
        time.sleep(0.03)
        return forward(*args, **kwargs)

    monkeypatch.setattr(engine.runner, "forward", slow_forward_fake)
    yield engine
    engine.close()


def test_stream_cut_by_the_client_is_billed_for_the_tokens_it_got(
    store: Store, tmp_path: Path, endless_slow_engine: Engine
) -> None:
    gw = Gateway(store, tmp_path, endless_slow_engine)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(gw.app(), port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        body = {"model": "micro", "prompt": "Hello", "max_tokens": 100, "stream": True}
        headers = {"Authorization": f"Bearer {gw.key}"}
        received = 0
        url = f"http://127.0.0.1:{port}/v1/completions"
        with httpx.stream("POST", url, json=body, headers=headers, timeout=30) as r:
            assert r.status_code == 200
            request_id = r.headers["x-request-id"]
            for line in r.iter_lines():
                if line.startswith("data: {"):
                    received += 1
                    if received == 3:
                        assert reservations(store) == 1  # held while it streams
                        break  # hang up
        deadline = time.monotonic() + 20
        while not usage_events(store) and time.monotonic() < deadline:
            time.sleep(0.05)
        [event] = usage_events(store)
        assert event.request_id == request_id
        assert event.status == "cancelled"
        assert 3 <= event.completion_tokens < 100
        assert event.retail_micros == event.prompt_tokens + 2 * event.completion_tokens
        assert reservations(store) == 0
    finally:
        server.should_exit = True
        thread.join(timeout=10)


# -- embeddings are admitted and billed like generation (prompt tokens only) ---------------


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(minilm_path())


def test_embeddings_are_refused_over_budget_and_billed_once_within(
    gw: Gateway, embedder: Embedder
) -> None:
    encoder = bundled_encoder(Catalog(gw.store, gw.artifacts))
    PriceBooks(gw.store).set_price(PLATFORM, "standard", "minilm", INPUT_PRICE, 0)
    models = {"minilm": ServedModel("minilm", encoder.label, encoder.id, embedder=embedder)}
    texts = ["Where is my order?", "我的订单到哪了？"]
    with TestClient(gw.app(models)) as c:
        c.headers["Authorization"] = f"Bearer {gw.key}"
        gw.budgets.set(PLATFORM, "acme", 3, "month", hard=True)  # fewer micros than tokens
        refused = c.post("/v1/embeddings", json={"model": "minilm", "input": texts})
        assert refused.status_code == 429, refused.text
        assert refused.json()["error"]["code"] == "insufficient_quota"
        gw.budgets.set(PLATFORM, "acme", BIG_BUDGET, "month", hard=True)
        ok = c.post("/v1/embeddings", json={"model": "minilm", "input": texts})
        assert ok.status_code == 200, ok.text
    [event] = usage_events(gw.store)
    assert event.endpoint == "embeddings" and event.completion_tokens == 0
    assert event.prompt_tokens == ok.json()["usage"]["prompt_tokens"] > 3
    assert event.retail_micros == event.prompt_tokens
    assert reservations(gw.store) == 0


def test_stream_whose_client_left_before_the_first_event_is_released(gw: Gateway) -> None:
    """The client hangs up as the stream is about to start: the response's body is never
    iterated, so only dropping it can release the reservation."""
    app = gw.app()
    body = json.dumps({"model": "micro", "prompt": "Hello", "max_tokens": 50, "stream": True})
    scope = {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},  # Starlette listens for disconnect
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/v1/completions",
        "raw_path": b"/v1/completions",
        "root_path": "",
        "query_string": b"",
        "headers": [
            (b"authorization", f"Bearer {gw.key}".encode()),
            (b"content-type", b"application/json"),
        ],
        "server": ("127.0.0.1", 8000),
        "client": ("127.0.0.1", 50000),
    }
    messages = [{"type": "http.request", "body": body.encode(), "more_body": False}]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "http.response.start":
            await asyncio.sleep(3600)  # the headers never get out: the client is gone

    asyncio.run(app(scope, receive, send))
    gc.collect()
    assert not [m for m in sent if m["type"] == "http.response.body" and m["body"]]
    assert reservations(gw.store) == 0 and usage_events(gw.store) == []
