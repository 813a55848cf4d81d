"""Serving behind the gateway: several models at once, a canary split, embeddings, the
queue's 429 with Retry-After, and Prometheus metrics."""

import base64
import random
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from fastapi.testclient import TestClient
from openai import OpenAI

from modelmint.catalog import Catalog
from modelmint.cli.models import bundled_encoder
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.commerce.ledger import UsageLedger
from modelmint.gateway import Canary, ServedModel, build_gateway, create_app
from modelmint.modeling.encoders import minilm_path
from modelmint.observability.serving_metrics import ServingMetrics
from modelmint.serving import Embedder, Engine, EngineConfig
from modelmint.store import Store
from support.gateway import gateway_settings


@pytest.fixture(scope="module")
def embedder() -> Embedder:
    return Embedder(minilm_path())


@pytest.fixture
def multi(
    store: Store, tmp_path: Path, micro_model_dir: Path, embedder: Embedder
) -> Iterator[dict]:
    catalog = Catalog(store, tmp_path / "artifacts")
    refs = [
        catalog.add_model_version(
            "micro",
            catalog.staging_dir("model"),
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics={},
        )
        for _ in range(2)
    ]
    encoder = bundled_encoder(catalog)
    Tenants(store).create("acme")
    keys = ApiKeys(store, pepper=b"test")
    key = keys.create("acme").key
    ledger = UsageLedger(store)
    metrics = ServingMetrics()
    stable = Engine.load(
        micro_model_dir,
        config=EngineConfig(slots=1, max_waiting=1),
        observer=metrics.observer(refs[0].label),
    )
    candidate = Engine.load(micro_model_dir, observer=metrics.observer(refs[1].label))
    primary = ServedModel("micro", refs[0].label, refs[0].id, engine=stable)
    canary_model = ServedModel("micro@candidate", refs[1].label, refs[1].id, engine=candidate)
    parts = build_gateway(
        gateway_settings(tmp_path, b"test"),
        store=store,
        models={
            "micro": primary,
            "micro@candidate": canary_model,
            "minilm": ServedModel("minilm", encoder.label, encoder.id, embedder=embedder),
        },
        canaries=[Canary(primary.names, canary_model, 0.25)],
        metrics=metrics,
        draw=random.Random(0),
    )
    with TestClient(create_app(parts)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield {"client": client, "refs": refs, "ledger": ledger, "key": key}


def test_canary_sends_its_share_to_the_candidate(multi) -> None:
    c = multi["client"]
    body = {"model": "micro", "prompt": "您好", "max_tokens": 2, "temperature": 0}
    for _ in range(40):
        assert c.post("/v1/completions", json=body).status_code == 200
    text = c.get("/metrics").text
    primary, candidate = (r.label for r in multi["refs"])
    served = {
        label: _metric(text, "mint_requests_total", model=label, reason="length")
        + _metric(text, "mint_requests_total", model=label, reason="stop")
        for label in (primary, candidate)
    }
    assert served[primary] + served[candidate] == 40
    # The split follows the context's seeded draw exactly: 25% of the draws.
    draw = random.Random(0)
    assert served[candidate] == sum(draw.random() < 0.25 for _ in range(40)) > 0


def test_label_and_alias_route_to_their_version(multi) -> None:
    c = multi["client"]
    candidate = multi["refs"][1].label
    r = c.post("/v1/completions", json={"model": candidate, "prompt": "Hi", "max_tokens": 1})
    assert r.status_code == 200 and r.json()["model"] == candidate
    r = c.post(
        "/v1/completions", json={"model": "micro@candidate", "prompt": "Hi", "max_tokens": 1}
    )
    assert r.status_code == 200
    names = {m["id"] for m in c.get("/v1/models").json()["data"]}
    assert {"micro", "micro@candidate", "minilm"} <= names


def test_embeddings_match_sentence_transformers_through_the_openai_client(multi) -> None:
    from sentence_transformers import SentenceTransformer

    client = OpenAI(
        base_url="http://testserver/v1", api_key=multi["key"], http_client=multi["client"]
    )
    texts = ["Where is my order?", "我的订单什么时候发货？"]
    out = client.embeddings.create(model="minilm", input=texts)  # base64 by default
    got = np.array([d.embedding for d in out.data])
    want = SentenceTransformer(str(minilm_path()), device="cpu").encode(
        texts, normalize_embeddings=True
    )
    assert got.shape == (2, 384)
    assert np.abs(got - want).max() < 1e-5
    assert out.usage.prompt_tokens > 0 and out.usage.total_tokens == out.usage.prompt_tokens
    raw = (
        multi["client"]
        .post(
            "/v1/embeddings", json={"model": "minilm", "input": "hi", "encoding_format": "base64"}
        )
        .json()
    )
    vec = np.frombuffer(base64.b64decode(raw["data"][0]["embedding"]), dtype="<f4")
    assert vec.shape == (384,) and abs(float(np.linalg.norm(vec)) - 1) < 1e-5


def test_wrong_kind_of_model_is_a_clear_400(multi) -> None:
    c = multi["client"]
    r = c.post("/v1/embeddings", json={"model": "micro@candidate", "input": "x"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "model"
    r = c.post("/v1/completions", json={"model": "minilm", "prompt": "x"})
    assert r.status_code == 400 and "embeddings" in r.json()["error"]["message"]


def test_full_queue_is_429_with_retry_after_and_counted(multi) -> None:
    import threading

    c = multi["client"]
    primary = multi["refs"][0].label
    long = {"model": primary, "prompt": "您好", "max_tokens": 120, "temperature": 1.0, "seed": 1}
    results: list[int] = []
    threads = [
        threading.Thread(
            target=lambda: results.append(c.post("/v1/completions", json=long).status_code)
        )
        for _ in range(6)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 200 in results and 429 in results, results
    r429 = None
    for _ in range(20):  # one slot, one waiting place: a burst is refused at once
        ts = [
            threading.Thread(target=lambda: c.post("/v1/completions", json=long)) for _ in range(3)
        ]
        for t in ts:
            t.start()
        r = c.post("/v1/completions", json=long)
        for t in ts:
            t.join()
        if r.status_code == 429:
            r429 = r
            break
    assert r429 is not None
    assert int(r429.headers["retry-after"]) >= 1
    assert r429.json()["error"]["type"] == "rate_limit_error"
    assert (
        _metric(c.get("/metrics").text, "mint_requests_total", model=primary, reason="rejected")
        >= 1
    )


def test_metrics_expose_latency_histograms_and_token_counters(multi) -> None:
    c = multi["client"]
    c.post("/v1/completions", json={"model": "micro@candidate", "prompt": "您好", "max_tokens": 5})
    text = c.get("/metrics").text
    label = multi["refs"][1].label
    for name in (
        "mint_time_to_first_token_seconds_count",
        "mint_inter_token_latency_seconds_count",
        "mint_e2e_request_latency_seconds_count",
        "mint_prompt_tokens_total",
        "mint_generation_tokens_total",
    ):
        assert _metric(text, name, model=label) > 0, name
    assert "mint_requests_waiting" in text and "mint_requests_running" in text


def _metric(text: str, name: str, **labels: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if not line.startswith(name + "{") and line.split(" ")[0] != name:
            continue
        head, _, value = line.rpartition(" ")
        if all(f'{k}="{v}"' in head for k, v in labels.items()):
            total += float(value)
    return total
