"""``mint serve`` in front of two real vLLM CPU servers, driven with the official openai
client: the gateway counts, admits and bills; vLLM generates. Answers equal the native
engine's; a stream in Chinese arrives whole; the ledger equals the usage clients were told;
a killed replica's requests go to the other; a replica killed mid-answer bills only what
was delivered; the upstream's key is sent and never printed."""

from __future__ import annotations

import asyncio
import json
import signal
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from openai import OpenAI

from modelmint.serving import Engine, EngineConfig, SamplingParams, TextCodec
from modelmint.store import Store
from support.lm_eval import serve_process
from support.metered_gateway import reservations, usage_events
from support.upstreams import MODEL, prepare_support_home, stop_group, vllm_servers

pytestmark = pytest.mark.slow

UPSTREAM_KEY = "upstream-secret-4f1c9a"
PROMPT = "您好，我的订单什么时候发货？"


@dataclass
class Fleet:
    home: Path
    key: str
    model_dir: Path
    replicas: list[subprocess.Popen[bytes]]
    gateway: subprocess.Popen[bytes]
    base: str
    told: dict[str, tuple[int, int]] = field(default_factory=dict)  # request id -> usage

    def client(self) -> OpenAI:
        return OpenAI(base_url=f"{self.base}/v1", api_key=self.key, max_retries=0)

    def store(self) -> Store:
        return Store.open(f"sqlite:///{self.home / 'mint.db'}", run_migrations=False)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Fleet]:
    home = tmp_path_factory.mktemp("gateway")
    key, model_dir = prepare_support_home(home)
    logs = tmp_path_factory.mktemp("vllm-logs")
    with vllm_servers(model_dir, 2, logs, api_key=UPSTREAM_KEY) as servers:
        upstreams = [f"--upstream={MODEL}={url}" for _, url in servers]
        args = ["--model", MODEL, *upstreams, "--log-level", "warning"]
        env = {"MINT_UPSTREAM_API_KEY": UPSTREAM_KEY}
        with serve_process(home, *args, env=env) as (gateway, base):
            yield Fleet(home, key, model_dir, [p for p, _ in servers], gateway, base)


def _native_answer(model_dir: Path, prompt: str, max_tokens: int) -> tuple[str, list[int]]:
    engine = Engine.load(model_dir, config=EngineConfig(dtype="float32", threads=1))
    try:
        ids = engine.codec.encode(prompt)
        params = SamplingParams(max_tokens=max_tokens, temperature=0, logprobs=0)
        done = asyncio.run(engine.complete(ids, params))
        return done.text, [t.token_id for t in done.logprobs]
    finally:
        engine.close()


def test_greedy_answers_and_logprobs_equal_the_native_engine(fleet: Fleet) -> None:
    r = fleet.client().completions.create(
        model=MODEL, prompt=PROMPT, max_tokens=24, temperature=0, logprobs=1
    )
    fleet.told[r.id] = (r.usage.prompt_tokens, r.usage.completion_tokens)
    text, _ = _native_answer(fleet.model_dir, PROMPT, 24)
    assert r.choices[0].text == text
    assert r.usage.completion_tokens == 24  # the model cannot end a text by itself
    assert r.usage.prompt_tokens == len(TextCodec(fleet.model_dir).encode(PROMPT))
    assert r.choices[0].logprobs is not None
    assert "".join(r.choices[0].logprobs.tokens) == text


def test_a_chinese_chat_streams_whole(fleet: Fleet) -> None:
    client = fleet.client()
    messages = [{"role": "user", "content": PROMPT}]
    whole = client.chat.completions.create(
        model=MODEL, messages=messages, max_tokens=40, temperature=0
    )
    fleet.told[whole.id] = (whole.usage.prompt_tokens, whole.usage.completion_tokens)
    pieces, usage, request_id = [], None, ""
    for chunk in client.chat.completions.create(
        model=MODEL,
        messages=messages,
        max_tokens=40,
        temperature=0,
        stream=True,
        stream_options={"include_usage": True},
    ):
        request_id = chunk.id
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            if choice.delta.content:
                pieces.append(choice.delta.content)
    assert usage is not None
    fleet.told[request_id] = (usage.prompt_tokens, usage.completion_tokens)
    assert len(pieces) > 5
    assert not any("\ufffd" in p for p in pieces)  # no character split between pieces
    assert "".join(pieces) == whole.choices[0].message.content
    assert any("\u4e00" <= ch <= "\u9fff" for ch in "".join(pieces))  # it answers in Chinese
    assert usage.completion_tokens == whole.usage.completion_tokens == 40


def test_a_killed_replica_s_requests_go_to_the_other(fleet: Fleet) -> None:
    stop_group(fleet.replicas[0], signal.SIGKILL)
    fleet.replicas[0].wait(timeout=30)
    client = fleet.client()
    for i in range(6):
        r = client.completions.create(model=MODEL, prompt=f"{PROMPT} {i}", max_tokens=8)
        fleet.told[r.id] = (r.usage.prompt_tokens, r.usage.completion_tokens)
        assert r.usage.completion_tokens == 8


def test_a_replica_killed_mid_answer_bills_what_was_delivered(fleet: Fleet) -> None:
    """The replica dies as soon as the stream's headers arrive (the gateway sends them
    after the first token), asked for 4,000 tokens: a short answer, or a kill after a few
    tokens, let a loaded CI machine's replica send everything first, and nothing was cut."""
    max_tokens = 4000
    body = {
        "model": MODEL,
        "prompt": PROMPT,
        "max_tokens": max_tokens,
        "temperature": 0,
        "logprobs": 0,
        "stream": True,
    }
    headers = {"Authorization": f"Bearer {fleet.key}"}
    delivered, error = 0, None
    with httpx.stream(
        "POST", f"{fleet.base}/v1/completions", json=body, headers=headers, timeout=120
    ) as r:
        request_id = r.headers["x-request-id"]
        stop_group(fleet.replicas[1], signal.SIGKILL)
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            event = json.loads(line[6:])
            if "error" in event:
                error = event["error"]
                continue
            delivered += len(event["choices"][0]["logprobs"]["tokens"])
    assert error is not None and error["code"] == "engine_unavailable", error
    assert 1 <= delivered < max_tokens
    fleet.told[request_id] = (-1, delivered)  # prompt tokens: whatever the gateway counted


def test_with_every_replica_down_a_request_gets_503_and_costs_nothing(fleet: Fleet) -> None:
    r = httpx.post(
        f"{fleet.base}/v1/completions",
        json={"model": MODEL, "prompt": PROMPT, "max_tokens": 4},
        headers={"Authorization": f"Bearer {fleet.key}"},
        timeout=60,
    )
    assert r.status_code == 503, r.text
    assert r.json()["error"]["code"] == "engine_unavailable"
    assert r.headers["retry-after"]


def test_the_ledger_equals_what_clients_were_told_and_the_key_stays_secret(fleet: Fleet) -> None:
    store = fleet.store()
    try:
        events = {e.request_id: e for e in usage_events(store)}
        assert reservations(store) == 0
    finally:
        store.close()
    assert set(events) == set(fleet.told)  # the refused requests were billed nothing
    for request_id, (prompt, completion) in fleet.told.items():
        event = events[request_id]
        assert event.completion_tokens == completion, request_id
        if prompt >= 0:
            assert event.prompt_tokens == prompt, request_id
        assert event.retail_micros == event.prompt_tokens * 1 + event.completion_tokens * 2
    fleet.gateway.terminate()
    out, _ = fleet.gateway.communicate(timeout=60)
    assert UPSTREAM_KEY not in out.decode(errors="replace")
