"""``gateway.metering.metered``: the one way a request that generates nothing (embeddings,
the tokenizer helpers) is admitted and closed. Settled once, for the tokens its work used,
when the work returns; released unbilled when the work fails or its caller is cancelled;
never run when admission says no; and never left holding a reservation."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelmint.catalog import Catalog
from modelmint.cli.models import bundled_encoder
from modelmint.commerce import PLATFORM
from modelmint.commerce.admission import AdmissionRequest
from modelmint.commerce.pricing import PriceBooks
from modelmint.gateway import ServedModel
from modelmint.gateway.errors import APIError
from modelmint.gateway.metering import admission_request, metered
from modelmint.modeling.encoders import minilm_path
from modelmint.serving import Embedder, Embeddings, Engine
from modelmint.store import Store
from support.metered_gateway import INPUT_PRICE, Gateway, reservations, usage_events


@pytest.fixture
def gw(store: Store, tmp_path: Path, micro_model_dir: Path) -> Iterator[Gateway]:
    engine = Engine.load(micro_model_dir)
    yield Gateway(store, tmp_path, engine)
    engine.close()


def _request(gw: Gateway, prompt_tokens: int) -> AdmissionRequest:
    principal = gw.keys.authenticate(gw.key)
    assert principal is not None
    return admission_request("emb-1", principal, gw.models["micro"], "embeddings", prompt_tokens)


def test_work_that_returns_is_settled_once_for_the_tokens_it_used(gw: Gateway) -> None:
    held: list[int] = []

    async def work() -> None:
        async with metered(gw.admission, _request(gw, 5)) as charge:
            held.append(reservations(gw.store))
            charge.prompt_tokens = 3  # the encoder read fewer than were counted at admission

    asyncio.run(work())
    assert held == [1]
    [event] = usage_events(gw.store)
    assert (event.endpoint, event.status) == ("embeddings", "completed")
    assert (event.prompt_tokens, event.completion_tokens) == (3, 0)
    assert event.retail_micros == 3 * INPUT_PRICE // 1_000_000
    assert reservations(gw.store) == 0


@pytest.mark.parametrize(
    "failure", [RuntimeError("the encoder failed"), asyncio.CancelledError()], ids=repr
)
def test_work_that_fails_or_is_cancelled_is_released_unbilled(
    gw: Gateway, failure: BaseException
) -> None:
    held: list[int] = []

    async def work() -> None:
        async with metered(gw.admission, _request(gw, 5)):
            held.append(reservations(gw.store))
            raise failure

    with pytest.raises(type(failure)):
        asyncio.run(work())
    assert held == [1]
    assert usage_events(gw.store) == [] and reservations(gw.store) == 0


def test_work_refused_at_admission_never_runs(gw: Gateway) -> None:
    gw.budgets.set(PLATFORM, "acme", 3, "month", hard=True)  # fewer micros than 5 tokens
    ran: list[bool] = []

    async def work() -> None:
        async with metered(gw.admission, _request(gw, 5)):
            ran.append(True)

    with pytest.raises(APIError) as refused:
        asyncio.run(work())
    assert refused.value.status == 429 and ran == []
    assert usage_events(gw.store) == [] and reservations(gw.store) == 0


class FailingEmbedder(Embedder):
    """The real encoder, whose embedding fails after the tokens were counted and admitted."""

    def embed(self, texts: Sequence[str]) -> Embeddings:
        raise RuntimeError("the encoder failed")


def test_an_embeddings_request_that_fails_on_our_side_is_not_billed(gw: Gateway) -> None:
    encoder = bundled_encoder(Catalog(gw.store, gw.artifacts))
    PriceBooks(gw.store).set_price(PLATFORM, "standard", "minilm", INPUT_PRICE, 0)
    failing = FailingEmbedder(minilm_path())
    models = {"minilm": ServedModel("minilm", encoder.label, encoder.id, embedder=failing)}
    with TestClient(gw.app(models), raise_server_exceptions=False) as c:
        c.headers["Authorization"] = f"Bearer {gw.key}"
        r = c.post("/v1/embeddings", json={"model": "minilm", "input": ["Where is my order?"]})
    assert r.status_code == 500, r.text
    assert usage_events(gw.store) == [] and reservations(gw.store) == 0


def test_a_tokenize_request_refused_by_its_work_is_not_recorded(gw: Gateway) -> None:
    with gw.client() as c:
        both = {"model": "micro", "prompt": "Hi", "messages": [{"role": "user", "content": "Hi"}]}
        refused = c.post("/tokenize", json=both)
        assert refused.status_code == 400, refused.text
        assert c.post("/tokenize", json={"model": "micro", "prompt": "Hi"}).status_code == 200
    [event] = usage_events(gw.store)
    assert (event.endpoint, event.prompt_tokens, event.completion_tokens) == ("tokenize", 0, 0)
    assert reservations(gw.store) == 0
