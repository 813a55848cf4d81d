from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import hash_secret, split_key
from modelmint.labeling import LabelingError, LabelProjects, LabelQueue
from modelmint.labeling.annotators import TOKEN_START, Annotators
from modelmint.store import Store
from modelmint.store.labeling_tables import Annotator
from support.labeling import register_tiny

PEPPER = b"test-pepper"
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def annotators(store: Store, tmp_path: Path) -> Annotators:
    catalog = Catalog(store, tmp_path / "artifacts")
    register_tiny(catalog)
    for name in ("intents", "other"):
        LabelProjects(store, catalog).create(
            name, "tickets", kind="classification", labels=["refund", "shipping", "account"]
        )
    return Annotators(store, PEPPER, clock=lambda: T0)


def test_token_shown_once_and_only_a_keyed_hash_is_stored(
    annotators: Annotators, store: Store
) -> None:
    info, token = annotators.create("li", language="zh", projects=["intents"])
    assert token.startswith("mml-") and info.prefix in token
    prefix, secret = split_key(token, TOKEN_START) or ("", "")
    assert prefix == info.prefix and len(secret) >= 32
    with store.session() as s:
        row = s.scalars(select(Annotator)).one()
        stored = (row.prefix, row.secret_hash, row.language, row.projects)
    assert stored == (info.prefix, hash_secret(PEPPER, secret), "zh", ["intents"])
    assert secret not in stored[1]
    assert info.created_at == T0


def test_authenticate_right_wrong_and_revoked(annotators: Annotators) -> None:
    info, token = annotators.create("ann")
    got = annotators.authenticate(token)
    assert got is not None and got.name == "ann" and got.active
    assert annotators.authenticate(token[:-1] + ("x" if token[-1] != "x" else "y")) is None
    assert annotators.authenticate("mml-nothingthere-secret") is None
    assert annotators.authenticate("mm-" + token[4:]) is None  # an API key's shape
    assert annotators.authenticate("") is None
    # the same secret under another pepper is not accepted (the hash is keyed)
    assert Annotators(annotators.store, b"other").authenticate(token) is None
    revoked = annotators.revoke("ann")
    assert revoked.revoked_at == T0 and not revoked.active
    assert annotators.authenticate(token) is None
    assert annotators.by_prefix(info.prefix).revoked_at == T0  # type: ignore[union-attr]
    assert annotators.revoke("ann").revoked_at == T0  # twice: no-op


def test_projects_scope_what_an_annotator_may_label(annotators: Annotators) -> None:
    scoped, _ = annotators.create("scoped", projects=["intents"])
    everything, _ = annotators.create("all")
    assert annotators.may_label(scoped, "intents")
    assert not annotators.may_label(scoped, "other")
    assert annotators.may_label(everything, "other")
    assert annotators.projects_for(scoped) == ["intents"]
    assert annotators.projects_for(everything) == ["intents", "other"]
    gone = annotators.revoke("all")
    assert not annotators.may_label(gone, "intents") and annotators.projects_for(gone) == []


def test_bad_input_names_the_field(annotators: Annotators) -> None:
    with pytest.raises(LabelingError, match="language 'fr'"):
        annotators.create("x", language="fr")
    with pytest.raises(LabelingError, match="no label project 'nope'"):
        annotators.create("x", projects=["intents", "nope"])
    with pytest.raises(LabelingError, match="1 to 200"):
        annotators.create("  ")
    annotators.create("x")
    with pytest.raises(LabelingError, match="exists"):
        annotators.create("x")
    with pytest.raises(LabelingError, match="no annotator 'y'"):
        annotators.revoke("y")
    assert [a.name for a in annotators.list()] == ["x"]
    assert annotators.set_language("x", "ZH").language == "zh"


def test_skip_passes_over_items_in_the_queue(annotators: Annotators) -> None:
    queue = LabelQueue(annotators.store)
    first = queue.next_item("intents", "ann")
    assert first is not None
    assert queue.next_item("intents", "ann") == first  # pending comes back
    assert queue.release("intents", "ann") == 1
    second = queue.next_item("intents", "ann", skip=[first.id])
    assert second is not None and second.id != first.id
    third = queue.next_item("intents", "ann", skip=[first.id, second.id])
    assert third is not None and third.id not in (first.id, second.id)
