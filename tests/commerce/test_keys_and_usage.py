from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from modelmint.catalog import Catalog
from modelmint.commerce import PLATFORM, CommerceError
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.commerce.ledger import UsageLedger, UsageRecord
from modelmint.store import ApiKey, Store


@pytest.fixture
def keys(store: Store) -> ApiKeys:
    Tenants(store).create("acme")
    return ApiKeys(store, pepper=b"pepper")


def test_key_is_stored_only_as_a_hash(keys: ApiKeys, store: Store) -> None:
    created = keys.create("acme")
    assert created.key.startswith("mm-")
    with store.session() as s:
        row = s.scalars(select(ApiKey)).one()
    assert created.key not in (row.secret_hash, row.prefix)
    assert created.key.split("-", 2)[2] not in row.secret_hash
    principal = keys.authenticate(created.key)
    assert principal is not None and principal.tenant == "acme"


def test_wrong_revoked_and_malformed_keys_are_refused(keys: ApiKeys, store: Store) -> None:
    created = keys.create("acme")
    assert keys.authenticate(created.key[:-1] + ("x" if created.key[-1] != "x" else "y")) is None
    assert keys.authenticate("sk-not-ours") is None
    assert keys.authenticate("") is None
    # Another server with another pepper cannot use the same database to check keys.
    assert ApiKeys(store, pepper=b"other").authenticate(created.key) is None
    keys.revoke(PLATFORM, created.prefix)
    assert keys.authenticate(created.key) is None


def test_keys_need_an_existing_tenant(keys: ApiKeys) -> None:
    with pytest.raises(CommerceError, match="no tenant"):
        keys.create("ghost")


def test_duplicate_tenant_is_refused(store: Store) -> None:
    Tenants(store).create("t1")
    with pytest.raises(CommerceError, match="already exists"):
        Tenants(store).create("t1")
    assert Tenants(store).ensure("t1").name == "t1"


def test_ledger_bills_a_request_once_and_sums(keys: ApiKeys, store: Store, tmp_path) -> None:
    created = keys.create("acme")
    p = keys.authenticate(created.key)
    assert p is not None
    catalog = Catalog(store, tmp_path)
    model = catalog.add_model_version(
        "m", catalog.staging_dir("m"), run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    ledger = UsageLedger(store)

    def event(rid: str, p_tok: int, c_tok: int) -> UsageRecord:
        return UsageRecord(
            rid, p.tenant_id, p.key_id, model.id, "completions", p_tok, c_tok, 12, "completed"
        )

    assert ledger.record(event("r1", 10, 5)) is True
    assert ledger.record(event("r1", 10, 5)) is False  # replay: not billed twice
    assert ledger.record(event("r2", 3, 7)) is True
    s = ledger.summarize("acme")
    assert (s.requests, s.prompt_tokens, s.completion_tokens) == (2, 13, 12)
    assert s.by_model[0].model == "m:1"
    later = datetime.now(UTC) + timedelta(days=1)
    assert ledger.summarize("acme", since=later).requests == 0
