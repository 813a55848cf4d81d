from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope
from modelmint.commerce.accounts import AdminKeys, ApiKeys, Channels, Tenants
from modelmint.store import AdminKey, Store


@pytest.fixture
def admin_keys(store: Store) -> AdminKeys:
    return AdminKeys(store, pepper=b"pepper")


@pytest.fixture
def north(store: Store) -> Scope:
    return Channels(store).scope_for(Channels(store).create(PLATFORM, "north").name, "cli:root")


def test_platform_key_is_hashed_and_authenticates_as_the_platform(
    admin_keys: AdminKeys, store: Store
) -> None:
    created = admin_keys.create(PLATFORM, "ops")
    assert created.key.startswith("mma-") and created.channel is None
    with store.session() as s:
        row = s.scalars(select(AdminKey)).one()
    secret = created.key.split("-", 2)[2]
    assert created.key not in row.secret_hash and secret not in row.secret_hash
    p = admin_keys.authenticate(created.key)
    assert p is not None
    assert (p.prefix, p.channel_id, p.channel) == (created.prefix, None, None)
    assert p.scope == Scope(channel_id=None, actor=f"admin:{created.prefix}")
    assert p.scope.is_platform


def test_channel_key_authenticates_in_the_channels_scope(
    admin_keys: AdminKeys, north: Scope
) -> None:
    created = admin_keys.create(north, "north ops")
    assert created.channel == "north"
    p = admin_keys.authenticate(created.key)
    assert p is not None and p.channel == "north" and p.channel_id == north.channel_id
    assert p.scope == Scope(channel_id=north.channel_id, actor=f"channel:north:{created.prefix}")
    # the key's own scope can make more keys, for its channel only
    more = admin_keys.create(p.scope)
    assert more.channel == "north"


def test_wrong_revoked_expired_and_api_keys_are_refused(
    admin_keys: AdminKeys, store: Store
) -> None:
    created = admin_keys.create(PLATFORM)
    last = created.key[-1]
    assert admin_keys.authenticate(created.key[:-1] + ("x" if last != "x" else "y")) is None
    assert admin_keys.authenticate("mma-short") is None
    assert admin_keys.authenticate("") is None
    assert AdminKeys(store, pepper=b"other").authenticate(created.key) is None
    # an API key is not an admin key, and an admin key is not an API key
    Tenants(store).create("acme")
    api = ApiKeys(store, pepper=b"pepper")
    api_key = api.create("acme").key
    assert admin_keys.authenticate(api_key) is None
    assert api.authenticate(created.key) is None
    admin_keys.revoke(PLATFORM, created.prefix)
    assert admin_keys.authenticate(created.key) is None

    now = datetime(2026, 1, 1, tzinfo=UTC)
    clock = [now]
    timed = AdminKeys(store, pepper=b"pepper", clock=lambda: clock[0])
    short = timed.create(PLATFORM, expires_at=now + timedelta(hours=1))
    assert timed.authenticate(short.key) is not None
    clock[0] = now + timedelta(hours=1)
    assert timed.authenticate(short.key) is None
    with pytest.raises(CommerceError, match="not in the future"):
        timed.create(PLATFORM, expires_at=now)


def test_a_channel_sees_and_revokes_only_its_own_admin_keys(
    admin_keys: AdminKeys, north: Scope, store: Store
) -> None:
    south = Channels(store).scope_for(Channels(store).create(PLATFORM, "south").name, "x")
    platform_key = admin_keys.create(PLATFORM)
    north_key = admin_keys.create(north)
    south_key = admin_keys.create(south)
    assert [k.prefix for k in admin_keys.list(north)] == [north_key.prefix]
    assert [k.channel for k in admin_keys.list(PLATFORM)] == [None, "north", "south"]
    for other in (platform_key, south_key):
        with pytest.raises(NotFound, match="no admin key"):
            admin_keys.revoke(north, other.prefix)
        assert admin_keys.authenticate(other.key) is not None
    info = admin_keys.revoke(north, north_key.prefix)
    assert info.revoked_at is not None and info.channel == "north"
    assert admin_keys.authenticate(north_key.key) is None
    # the platform revokes anyone's
    admin_keys.revoke(PLATFORM, south_key.prefix)
    assert admin_keys.authenticate(south_key.key) is None
