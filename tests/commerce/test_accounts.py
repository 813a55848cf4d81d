"""Tenants: ownership by the platform or a channel, plans, billing, limits, suspension,
and that a channel can neither see nor change anyone else's tenants."""

import pytest

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope
from modelmint.commerce.accounts import ApiKeys, Channels, Tenants
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Store


@pytest.fixture
def tenants(store: Store) -> Tenants:
    return Tenants(store)


@pytest.fixture
def north(store: Store) -> Scope:
    return Scope(channel_id=Channels(store).create(PLATFORM, "north").id, actor="channel:north")


@pytest.fixture
def south(store: Store) -> Scope:
    return Scope(channel_id=Channels(store).create(PLATFORM, "south").id, actor="channel:south")


def test_direct_tenant_defaults(tenants: Tenants) -> None:
    t = tenants.create("acme")
    assert (t.channel_id, t.channel, t.billing, t.plan, t.effective_plan) == (
        None,
        None,
        "postpaid",
        None,
        "standard",
    )
    assert (t.rpm_limit, t.tpm_limit, t.suspended) == (None, None, False)
    # the callers written before scopes keep working
    assert tenants.get("acme") == t == tenants.get(PLATFORM, "acme")
    assert tenants.list() == [t]
    assert tenants.ensure("acme") == t


def test_platform_creates_for_a_channel_and_a_channel_for_itself(
    tenants: Tenants, north: Scope, south: Scope
) -> None:
    a = tenants.create("a", channel="north", billing="prepaid", rpm_limit=60, tpm_limit=1000)
    assert (a.channel, a.channel_id, a.billing, a.rpm_limit, a.tpm_limit) == (
        "north",
        north.channel_id,
        "prepaid",
        60,
        1000,
    )
    b = tenants.create("b", scope=north)
    assert b.channel_id == north.channel_id
    assert tenants.create("b2", scope=north, channel="north").channel == "north"
    with pytest.raises(NotFound, match="no channel 'south'"):
        tenants.create("c", scope=north, channel="south")
    with pytest.raises(NotFound, match="no channel 'ghost'"):
        tenants.create("c", channel="ghost")
    assert [t.name for t in tenants.list(north)] == ["a", "b", "b2"]
    assert tenants.list(south) == []


def test_bad_input_is_refused_with_what_to_do(tenants: Tenants) -> None:
    with pytest.raises(CommerceError, match="invalid tenant name"):
        tenants.create("has space")
    with pytest.raises(CommerceError, match="billing must be 'postpaid' or 'prepaid'"):
        tenants.create("x", billing="monthly")
    with pytest.raises(CommerceError, match="rpm_limit must be a whole number"):
        tenants.create("x", rpm_limit=0)
    with pytest.raises(CommerceError, match="tpm_limit must be a whole number"):
        tenants.create("x", tpm_limit=-5)
    with pytest.raises(NotFound, match="no price book 'gold'"):
        tenants.create("x", plan="gold")
    assert tenants.list() == []
    tenants.create("x")
    with pytest.raises(CommerceError, match="already exists"):
        tenants.create("x")


def test_plan_must_be_one_of_the_owners_books(tenants: Tenants, store: Store, north: Scope) -> None:
    books = PriceBooks(store)
    books.create_book(PLATFORM, "pro")
    books.create_book(north, "north-pro")
    assert tenants.create("direct", plan="pro").plan == "pro"
    with pytest.raises(NotFound, match="owned by the platform"):
        tenants.create("direct2", plan="north-pro")
    assert tenants.create("t", scope=north, plan="north-pro").plan == "north-pro"
    with pytest.raises(NotFound, match="owned by this channel"):
        tenants.create("t2", scope=north, plan="pro")
    with pytest.raises(NotFound, match="owned by this channel"):
        tenants.update(PLATFORM, "t", plan="pro")


def test_update_changes_only_what_is_given_and_none_clears(tenants: Tenants, store: Store) -> None:
    PriceBooks(store).create_book(PLATFORM, "pro")
    tenants.create("acme", rpm_limit=10, tpm_limit=100)
    t = tenants.update(PLATFORM, "acme", plan="pro", billing="prepaid")
    assert (t.plan, t.billing, t.rpm_limit, t.tpm_limit) == ("pro", "prepaid", 10, 100)
    t = tenants.update(PLATFORM, "acme", rpm_limit=None, tpm_limit=5)
    assert (t.plan, t.rpm_limit, t.tpm_limit) == ("pro", None, 5)
    assert tenants.update(PLATFORM, "acme", plan=None).effective_plan == "standard"
    with pytest.raises(CommerceError, match="nothing to change"):
        tenants.update(PLATFORM, "acme")
    with pytest.raises(CommerceError, match="billing must be"):
        tenants.update(PLATFORM, "acme", billing="weekly")
    assert tenants.get(PLATFORM, "acme").billing == "prepaid"


def test_suspended_tenants_keys_are_refused_until_resumed(tenants: Tenants, store: Store) -> None:
    tenants.create("acme")
    keys = ApiKeys(store, pepper=b"p")
    key = keys.create("acme").key
    assert keys.authenticate(key) is not None
    assert tenants.suspend(PLATFORM, "acme").suspended
    assert keys.authenticate(key) is None
    assert tenants.suspend(PLATFORM, "acme").suspended  # twice: still suspended
    assert not tenants.resume(PLATFORM, "acme").suspended
    assert keys.authenticate(key) is not None


def test_a_channel_cannot_see_or_change_other_tenants(
    tenants: Tenants, north: Scope, south: Scope
) -> None:
    tenants.create("direct")
    tenants.create("theirs", scope=south)
    tenants.create("mine", scope=north)
    assert [t.name for t in tenants.list(north)] == ["mine"]
    for other in ("direct", "theirs"):
        with pytest.raises(NotFound, match=f"no tenant '{other}'"):
            tenants.get(north, other)
        with pytest.raises(NotFound):
            tenants.get_by_id(north, tenants.get(PLATFORM, other).id)
        with pytest.raises(NotFound):
            tenants.update(north, other, rpm_limit=1)
        with pytest.raises(NotFound):
            tenants.suspend(north, other)
        with pytest.raises(NotFound):
            tenants.resume(north, other)
        assert tenants.get(PLATFORM, other).rpm_limit is None
        assert not tenants.get(PLATFORM, other).suspended
    with pytest.raises(NotFound):
        tenants.list(north, channel="south")
    assert [t.name for t in tenants.list(PLATFORM, channel="south")] == ["theirs"]
    assert tenants.get_by_id(north, tenants.get(PLATFORM, "mine").id).name == "mine"
