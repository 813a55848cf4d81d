"""API keys: options, expiry, rotation with a grace period, revoke, update, and scope
isolation of every method."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, AuditLog, CommerceError, NotFound, Scope
from modelmint.commerce.accounts import ApiKeys, Channels, Tenants
from modelmint.store import ApiKey, Store


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def keys(store: Store, clock: FakeClock) -> ApiKeys:
    Tenants(store, clock).create("acme")
    return ApiKeys(store, pepper=b"pepper", clock=clock)


def test_create_with_options_lists_them_and_authenticates_with_them(keys: ApiKeys) -> None:
    created = keys.create(
        "acme",
        "ci",
        allowed_models=["demo", "demo:2", " demo@production ", "demo"],
        rpm_limit=30,
        tpm_limit=5000,
        expires_at=keys.clock() + timedelta(days=30),
    )
    p = keys.authenticate(created.key)
    assert p is not None
    assert p.allowed_models == ("demo", "demo:2", "demo@production")
    assert (p.key_rpm, p.key_tpm, p.tenant_rpm) == (30, 5000, None)
    assert p.may_use(("other:1", "demo")) and not p.may_use(("other", "other:1"))
    [info] = keys.list()
    assert (info.prefix, info.tenant, info.name, info.status) == (
        created.prefix,
        "acme",
        "ci",
        "active",
    )
    assert info.expires_at == keys.clock() + timedelta(days=30) == created.expires_at
    assert (info.rpm_limit, info.tpm_limit, info.rotated_from) == (30, 5000, None)
    assert keys.get(PLATFORM, created.prefix) == info


def test_bad_options_are_refused(keys: ApiKeys, clock: FakeClock) -> None:
    with pytest.raises(CommerceError, match="not in the future"):
        keys.create("acme", expires_at=clock.now)
    with pytest.raises(CommerceError, match="needs a time zone"):
        keys.create("acme", expires_at=datetime(2030, 1, 1))
    with pytest.raises(CommerceError, match="invalid model 'a b'"):
        keys.create("acme", allowed_models=["a b"])
    with pytest.raises(CommerceError, match="invalid model ''"):
        keys.create("acme", allowed_models=[""])
    with pytest.raises(CommerceError, match="rpm_limit must be"):
        keys.create("acme", rpm_limit=0)
    assert keys.list() == []


def test_a_key_expires(keys: ApiKeys, clock: FakeClock) -> None:
    created = keys.create("acme", expires_at=clock.now + timedelta(hours=1))
    clock.now += timedelta(minutes=59)
    assert keys.authenticate(created.key) is not None
    clock.now += timedelta(minutes=1)
    assert keys.authenticate(created.key) is None
    assert keys.list()[0].status == "expired"


def test_rotation_copies_the_key_and_both_work_during_the_grace(
    keys: ApiKeys, clock: FakeClock, store: Store
) -> None:
    old = keys.create("acme", "prod", allowed_models=["demo"], rpm_limit=7, tpm_limit=70)
    new = keys.rotate(PLATFORM, old.prefix, timedelta(hours=24))
    assert new.key != old.key and new.prefix != old.prefix and new.tenant == "acme"
    p_old, p_new = keys.authenticate(old.key), keys.authenticate(new.key)
    assert p_old is not None and p_new is not None and p_new.tenant == "acme"
    assert (p_new.allowed_models, p_new.key_rpm, p_new.key_tpm) == (("demo",), 7, 70)
    info = keys.get(PLATFORM, new.prefix)
    assert (info.name, info.rotated_from, info.expires_at) == ("prod", old.prefix, None)
    with store.session() as s:
        new_row = s.scalar(select(ApiKey).where(ApiKey.prefix == new.prefix))
        old_id = s.scalar(select(ApiKey.id).where(ApiKey.prefix == old.prefix))
        assert new_row is not None and new_row.rotated_from_id == old_id
    assert keys.get(PLATFORM, old.prefix).expires_at == clock.now + timedelta(hours=24)
    clock.now += timedelta(hours=23, minutes=59)
    assert keys.authenticate(old.key) is not None
    clock.now += timedelta(minutes=1)
    assert keys.authenticate(old.key) is None
    assert keys.authenticate(new.key) is not None
    # only an active key can be rotated
    with pytest.raises(CommerceError, match="is expired; only an active key"):
        keys.rotate(PLATFORM, old.prefix)


def test_rotation_never_extends_the_old_keys_life(keys: ApiKeys, clock: FakeClock) -> None:
    old = keys.create("acme", expires_at=clock.now + timedelta(hours=1))
    keys.rotate(PLATFORM, old.prefix, timedelta(days=7))
    assert keys.get(PLATFORM, old.prefix).expires_at == clock.now + timedelta(hours=1)
    with pytest.raises(CommerceError, match="cannot be negative"):
        keys.rotate(PLATFORM, old.prefix, timedelta(hours=-1))
    keys.revoke(PLATFORM, old.prefix)
    with pytest.raises(CommerceError, match="is revoked"):
        keys.rotate(PLATFORM, old.prefix)


def test_zero_grace_cuts_the_old_key_at_once(keys: ApiKeys) -> None:
    old = keys.create("acme")
    new = keys.rotate(PLATFORM, old.prefix, timedelta(0))
    assert keys.authenticate(old.key) is None
    assert keys.authenticate(new.key) is not None


def test_revoke_takes_effect_on_the_next_request_of_every_instance(
    keys: ApiKeys, store: Store
) -> None:
    created = keys.create("acme")
    replica = ApiKeys(store, pepper=b"pepper")  # another gateway process, same database
    assert replica.authenticate(created.key) is not None
    info = keys.revoke(PLATFORM, created.prefix)
    assert info.status == "revoked" and info.revoked_at is not None
    assert replica.authenticate(created.key) is None
    assert keys.revoke(PLATFORM, created.prefix).revoked_at == info.revoked_at  # no-op
    with pytest.raises(NotFound, match="no key with prefix 'nope'"):
        keys.revoke(PLATFORM, "nope")


def test_update_changes_limits_models_and_expiry(keys: ApiKeys, clock: FakeClock) -> None:
    created = keys.create("acme", allowed_models=["a"], rpm_limit=5)
    info = keys.update(PLATFORM, created.prefix, allowed_models=["b", "c:1"], tpm_limit=9)
    assert (info.allowed_models, info.rpm_limit, info.tpm_limit) == (("b", "c:1"), 5, 9)
    info = keys.update(PLATFORM, created.prefix, allowed_models=[], rpm_limit=None)
    assert (info.allowed_models, info.rpm_limit) == ((), None)
    p = keys.authenticate(created.key)
    assert p is not None and p.may_use(("anything",)) and p.key_tpm == 9
    info = keys.update(PLATFORM, created.prefix, expires_at=clock.now + timedelta(hours=2))
    assert info.expires_at == clock.now + timedelta(hours=2)
    assert keys.update(PLATFORM, created.prefix, expires_at=None).expires_at is None
    with pytest.raises(CommerceError, match="nothing to change"):
        keys.update(PLATFORM, created.prefix)
    keys.revoke(PLATFORM, created.prefix)
    with pytest.raises(CommerceError, match="is revoked"):
        keys.update(PLATFORM, created.prefix, rpm_limit=1)


def test_a_channel_cannot_see_or_touch_other_keys(keys: ApiKeys, store: Store) -> None:
    channels, tenants = Channels(store), Tenants(store)
    north = Scope(channel_id=channels.create(PLATFORM, "north").id, actor="channel:north")
    south = Scope(channel_id=channels.create(PLATFORM, "south").id, actor="channel:south")
    tenants.create("n1", scope=north)
    tenants.create("s1", scope=south)
    mine = keys.create("n1", scope=north)
    theirs = keys.create("s1", scope=south)
    direct = keys.create("acme")
    with pytest.raises(NotFound, match="no tenant 'acme'"):
        keys.create("acme", scope=north)
    assert [k.prefix for k in keys.list(north)] == [mine.prefix]
    assert keys.list(north, "n1")[0].prefix == mine.prefix
    with pytest.raises(NotFound):
        keys.list(north, "s1")
    for other in (theirs, direct):
        with pytest.raises(NotFound, match="no key with prefix"):
            keys.get(north, other.prefix)
        with pytest.raises(NotFound):
            keys.revoke(north, other.prefix)
        with pytest.raises(NotFound):
            keys.rotate(north, other.prefix)
        with pytest.raises(NotFound):
            keys.update(north, other.prefix, rpm_limit=1)
        assert keys.authenticate(other.key) is not None
    assert len(keys.list(PLATFORM)) == 3
    rotated = keys.rotate(north, mine.prefix)
    assert keys.authenticate(rotated.key) is not None


def test_audit_never_holds_a_key_or_its_hash(keys: ApiKeys, store: Store) -> None:
    created = keys.create("acme")
    rotated = keys.rotate(PLATFORM, created.prefix)
    keys.update(PLATFORM, rotated.prefix, rpm_limit=3)
    keys.revoke(PLATFORM, rotated.prefix)
    with store.session() as s:
        hashes = list(s.scalars(select(ApiKey.secret_hash)))
    text = repr(AuditLog(store).list(PLATFORM))
    assert "api_key.rotate" in text
    for secret in (created.key, rotated.key, *hashes):
        assert secret not in text
    assert created.key.split("-", 2)[2] not in text
    assert "secret_hash" not in text
