"""The Feedback service on the store (SQLite, and PostgreSQL when configured): only the
requesting tenant's requests, one record per request and choice, the review queue."""

from pathlib import Path

import pytest

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.commerce.ledger import UsageLedger, UsageRecord
from modelmint.labeling.feedback import Feedback, FeedbackError, NotFound
from modelmint.labeling.transcripts import Transcripts
from modelmint.store import Store


@pytest.fixture
def world(store: Store, tmp_path: Path) -> dict:
    catalog = Catalog(store, tmp_path / "artifacts")
    mv = catalog.add_model_version(
        "bot",
        catalog.staging_dir("model"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    keys = ApiKeys(store, pepper=b"t")
    ids = {}
    for name in ("acme", "globex"):
        Tenants(store).create(name)
        p = keys.authenticate(keys.create(name).key)
        assert p is not None
        ids[name] = (p.tenant_id, p.key_id)
    tid, kid = ids["acme"]
    UsageLedger(store).record(
        UsageRecord("r1", tid, kid, mv.id, "chat.completions", 1, 1, 1, "completed")
    )
    Transcripts(store).write(
        "r1",
        tenant_id=tid,
        api_key_id=kid,
        model_version_id=mv.id,
        endpoint="chat.completions",
        request={"messages": [{"role": "user", "content": "你好"}]},
        choices=["嗨", "hello"],
    )
    return {"store": store, "catalog": catalog, "ids": ids}


def test_only_the_requesting_tenant(world: dict) -> None:
    fb = Feedback(world["store"])
    tid, kid = world["ids"]["globex"]
    with pytest.raises(NotFound):
        fb.record("r1", tenant_id=tid, api_key_id=kid, rating=5)
    with pytest.raises(NotFound):
        fb.record("never-billed", tenant_id=tid, api_key_id=kid, rating=5)
    assert fb.list() == []


def test_record_update_and_review(world: dict) -> None:
    fb = Feedback(world["store"])
    tid, kid = world["ids"]["acme"]
    first, created = fb.record("r1", tenant_id=tid, api_key_id=kid, choice=1, rating=2)
    assert created and first.model == "bot:1" and first.status == "new"
    reviewed = fb.review(first.id, "accept", "ann")
    assert reviewed.status == "accepted" and reviewed.reviewer == "ann"
    again, created = fb.record("r1", tenant_id=tid, api_key_id=kid, choice=1, corrected="Hi!")
    # changed after review: back in the queue
    assert not created and again.id == first.id and again.status == "new" and again.rating is None
    other, created = fb.record("r1", tenant_id=tid, api_key_id=kid, choice=0, rating=5)
    assert created and other.id != first.id
    assert [r.id for r in fb.list(status="new", model="bot:1")] == [first.id, other.id]
    assert fb.list(model="nobody") == []


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({}, "rating"),
        ({"rating": 0}, "1 to 5"),
        ({"rating": 3, "choice": 2}, "choice must be 0 to 1"),
        ({"corrected": "   "}, "rating"),
    ],
)
def test_bad_feedback_is_refused(world: dict, kwargs: dict, words: str) -> None:
    tid, kid = world["ids"]["acme"]
    with pytest.raises(FeedbackError, match=words):
        Feedback(world["store"]).record("r1", tenant_id=tid, api_key_id=kid, **kwargs)


def test_review_and_export_refusals(world: dict) -> None:
    fb = Feedback(world["store"])
    with pytest.raises(NotFound):
        fb.review(42, "accept", "ann")
    tid, kid = world["ids"]["acme"]
    r, _ = fb.record("r1", tenant_id=tid, api_key_id=kid, rating=5)
    with pytest.raises(FeedbackError, match="accept or reject"):
        fb.review(r.id, "maybe", "ann")
    with pytest.raises(FeedbackError, match="include-unreviewed"):
        fb.export(world["catalog"], "bot")
    out = fb.export(world["catalog"], "bot", include_unreviewed=True)
    assert out.sft is not None and out.sft.label == "bot-feedback-sft:1" and out.preference is None
    # the same content again is the same dataset version
    assert fb.export(world["catalog"], "bot", include_unreviewed=True).sft == out.sft
