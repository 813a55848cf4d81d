"""Zero-shot suggestions from a served LM. A real gateway (the micro random model behind
uvicorn on a free port) proves the HTTP path end to end: its garbage answers are counted
as unparseable and write nothing, a bad key is a clear 401 error. A FakeChatServer (an
httpx transport that answers a fixed label with logprobs) isolates the parsing and the
confidence, and the retries after 429."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.labeling import LabelProjects, LabelQueue
from modelmint.labeling.projects import ProjectInfo
from modelmint.labeling.suggest import SuggestError, run_suggester, stored_config
from modelmint.labeling.suggest_zero_shot import (
    ZeroShotSuggester,
    chat_url,
    confidence_from_logprobs,
    parse_answer,
)
from modelmint.serving import Engine
from modelmint.store import LabelItem, Store
from support.gateway import gateway_settings
from support.helpers import build_micro_model, free_port
from support.labeling import register_tiny

LABELS = ["refund", "shipping", "account"]


@pytest.fixture
def catalog(store: Store, tmp_path: Path) -> Catalog:
    c = Catalog(store, tmp_path / "artifacts")
    register_tiny(c)
    return c


def _project(store: Store, catalog: Catalog, labels: list[str] = LABELS) -> ProjectInfo:
    return LabelProjects(store, catalog).create(
        "z", "tickets", kind="classification", labels=labels, guidelines="客服工单的意图。"
    )


@pytest.fixture(scope="module")
def micro_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_micro_model(tmp_path_factory.mktemp("micro"))


@pytest.fixture
def served(
    store: Store, catalog: Catalog, tmp_path: Path, micro_model_dir: Path
) -> Iterator[dict[str, str]]:
    """The gateway app with the micro model, served by uvicorn on a free port."""
    staged = catalog.staging_dir("model")
    ref = catalog.add_model_version(
        "micro", staged, run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    Tenants(store).create("acme")
    keys = ApiKeys(store, pepper=b"test")
    key = keys.create("acme").key
    model = ServedModel(
        id="micro", label=ref.label, model_version_id=ref.id, engine=Engine.load(micro_model_dir)
    )
    settings = gateway_settings(tmp_path, b"test")
    app = create_app(build_gateway(settings, models={"micro": model}, store=store))
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        yield {"url": f"http://127.0.0.1:{port}", "key": key}
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_real_server_garbage_is_counted_not_written_and_a_bad_key_is_401(
    store: Store, catalog: Catalog, served: dict[str, str]
) -> None:
    # labels the micro model's 600-token vocabulary cannot plausibly spell
    project = _project(store, catalog, labels=["xqzlabel", "wvkjlabel"])
    suggester = ZeroShotSuggester(served["url"], "micro", api_key=served["key"], max_tokens=8)
    result = run_suggester(store, project, suggester)
    assert (result.considered, result.suggested) == (6, 0)
    assert result.unparseable + result.failed == 6 and result.unparseable >= 1
    assert result.examples and all(isinstance(e, str) for e in result.examples)
    # an item too long for the micro model's 128 tokens is reported, not fatal
    assert result.failed == 0 or any("maximum context length" in e for e in result.examples)
    with store.session() as s:
        rows = s.query(LabelItem).filter(LabelItem.project_id == project.id).all()
        assert all(r.suggestion is None and r.suggestion_source is None for r in rows)
    # the key is a secret: only where to read it from is stored
    assert stored_config(store, "z") == {
        "source": "zero-shot",
        "base_url": served["url"],
        "model": "micro",
        "api_key_env": "MINT_API_KEY",
        "max_tokens": 8,
    }
    bad = ZeroShotSuggester(f"{served['url']}/v1", "micro", api_key="sk-wrong", max_tokens=8)
    with pytest.raises(SuggestError, match=r"/v1/chat/completions answered 401 .*--api-key"):
        run_suggester(store, project, bad)
    gone = ZeroShotSuggester(f"http://127.0.0.1:{free_port()}", "micro")
    with pytest.raises(SuggestError, match=r"cannot reach http://127\.0\.0\.1:\d+/v1/chat/comp"):
        run_suggester(store, project, gone)


class FakeChatServer:
    """Answers every chat completion with ``answer``, split into the given tokens, each
    with its logprob; the first ``limited`` requests get 429 with Retry-After."""

    def __init__(self, tokens: list[tuple[str, float]], limited: int = 0) -> None:
        self.tokens = tokens
        self.limited = limited
        self.requests: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        self.requests.append(body)
        if len(self.requests) <= self.limited:
            error = {"error": {"message": "slow down", "type": "rate_limit", "code": None}}
            return httpx.Response(429, json=error, headers={"Retry-After": "0.5"})
        answer = "".join(t for t, _ in self.tokens)
        content = [
            {"token": t, "logprob": lp, "top_logprobs": [{"token": t, "logprob": lp}]}
            for t, lp in self.tokens
        ]
        choice = {
            "index": 0,
            "message": {"role": "assistant", "content": answer},
            "finish_reason": "stop",
            "logprobs": {"content": content} if body.get("logprobs") else None,
        }
        return httpx.Response(
            200, json={"id": "x", "object": "chat.completion", "choices": [choice]}
        )

    def client(self) -> httpx.Client:
        return httpx.Client(transport=httpx.MockTransport(self.handle))


def test_fake_server_label_with_logprobs_becomes_a_confident_suggestion(
    store: Store, catalog: Catalog
) -> None:
    project = _project(store, catalog)
    fake = FakeChatServer([(" The", -0.5), (" label", -0.1), (": Ship", -0.2), ("ping", -0.05)])
    waits: list[float] = []
    fake.limited = 2
    suggester = ZeroShotSuggester(
        "http://fake:8000/v1", "lm", client=fake.client(), sleep=waits.append
    )
    result = run_suggester(store, project, suggester)
    assert (result.suggested, result.unparseable) == (6, 0)
    assert waits == [0.5, 0.5]  # two 429s honoured, then answered
    body = fake.requests[-1]
    assert body["temperature"] == 0 and body["logprobs"] is True
    assert "客服工单的意图。" in body["messages"][0]["content"]
    assert "refund, shipping, account" in body["messages"][0]["content"]
    with store.session() as s:
        rows = s.query(LabelItem).filter(LabelItem.project_id == project.id).all()
    # the tokens that spell "Shipping" (": Ship" overlaps it, "ping" ends it)
    assert {(r.suggestion, r.suggestion_source) for r in rows} == {("shipping", "zero-shot:lm")}
    assert all(r.confidence == pytest.approx(math.exp(-0.25)) for r in rows)
    item = LabelQueue(store).next_item("z", "ann")
    assert item is not None and item.suggestion == "shipping"

    never = FakeChatServer([("shipping", -0.1)], limited=99)
    limited = ZeroShotSuggester(
        "http://fake:8000", "lm", client=never.client(), sleep=lambda _: None, retries=2
    )
    with pytest.raises(SuggestError, match=r"answered 429 .* 3 times"):
        run_suggester(store, project, limited)


def test_unparseable_answers_are_counted_and_clear_an_old_suggestion(
    store: Store, catalog: Catalog
) -> None:
    project = _project(store, catalog)
    run_suggester(
        store,
        project,
        ZeroShotSuggester("http://f", "lm", client=FakeChatServer([("退款", -0.1)]).client()),
    )
    with store.session() as s:
        assert s.query(LabelItem).filter(LabelItem.suggestion_source.is_(None)).count() == 6
    good = FakeChatServer([("account", -0.1)])
    run_suggester(store, project, ZeroShotSuggester("http://f", "lm", client=good.client()))
    vague = FakeChatServer([("refund or shipping?", -0.1)])
    again = run_suggester(
        store, project, ZeroShotSuggester("http://f", "lm", client=vague.client())
    )
    assert (again.suggested, again.unparseable, again.cleared) == (0, 6, 6)
    assert again.examples[0] == "refund or shipping?"


@pytest.mark.parametrize(
    ("kind", "labels", "answer", "value"),
    [
        ("classification", LABELS, "Refund", "refund"),
        ("classification", LABELS, "  “shipping”。", "shipping"),
        ("classification", LABELS, "The label is: ACCOUNT.", "account"),
        ("classification", LABELS, "ｒｅｆｕｎｄ", "refund"),  # full-width letters
        ("classification", LABELS, "shipping, not refund", None),  # two labels
        ("classification", LABELS, "Refund. Refund!", "refund"),
        ("classification", LABELS, "refunds", None),  # not the label
        ("classification", LABELS, "it is refund or shipping", None),  # two labels
        ("classification", ["order", "order_status"], "Order status", "order_status"),
        ("classification", ["退款", "物流"], "答案：退款。", "退款"),
        ("multilabel", LABELS, "shipping，refund", ["refund", "shipping"]),
        ("multilabel", LABELS, "None", []),
        ("rating", ["1", "2", "3", "4", "5"], "4/5", "4"),
        ("rating", ["1", "2", "3", "4", "5"], "3 out of 5", "3"),
        ("rating", ["1", "2", "3", "4", "5"], "45", None),
        ("preference", ["A", "B"], "选B", "B"),
        ("preference", ["A", "B"], "Answer: A is better", "A"),
    ],
)
def test_parse_answer(kind: str, labels: list[str], answer: str, value: Any) -> None:
    parsed = parse_answer(kind, labels, answer)
    assert (parsed[0] if parsed else None) == value


def test_confidence_and_url() -> None:
    tokens = {"content": [{"token": "ref", "logprob": -0.2}, {"token": "und", "logprob": -0.3}]}
    assert confidence_from_logprobs(tokens, "refund", [(0, 6)]) == pytest.approx(math.exp(-0.5))
    # tokens that do not spell the answer: the first token's probability
    assert confidence_from_logprobs(tokens, "Refund!", [(0, 6)]) == pytest.approx(math.exp(-0.2))
    assert confidence_from_logprobs(None, "refund", [(0, 6)]) is None
    assert chat_url("http://h:8000") == "http://h:8000/v1/chat/completions"
    assert chat_url("http://h:8000/v1/") == "http://h:8000/v1/chat/completions"
    with pytest.raises(SuggestError, match="give an http"):
        ZeroShotSuggester("h:8000", "lm")
