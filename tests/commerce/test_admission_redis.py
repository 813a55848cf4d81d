"""RedisAdmission: the same exactness as the SQL backend with the counters in Redis
(atomic Lua), the ledger in the database; two "replicas" (separate Store, Redis client and
admission objects) share one database and one key prefix. Needs MINT_TEST_REDIS_URL; on
PostgreSQL too when MINT_TEST_DATABASE_URL is set."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from modelmint.commerce import PLATFORM
from modelmint.commerce.admission import (
    ActualUsage,
    Budgets,
    NoRateLimits,
    QuotaExceeded,
    RedisAdmission,
)
from modelmint.commerce.admission.sql import usage_record
from modelmint.commerce.ledger import UsageLedger, Wallets
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Store, UsageEvent
from support.admission import FakeClock, World, billed, done, max_cost, run_concurrently

REDIS_URL = os.environ.get("MINT_TEST_REDIS_URL")


@pytest.fixture
def prefix(redis_prefix: str) -> str:
    return redis_prefix


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return World(store, tmp_path / "artifacts", FakeClock())


def replica(world: World, prefix: str, name: str, store: Store | None = None) -> RedisAdmission:
    import redis

    st = store or world.store
    return RedisAdmission(
        redis.Redis.from_url(REDIS_URL or ""),
        st,
        PriceBooks(st, world.clock),
        world.clock,
        name,
        NoRateLimits(),
        prefix=prefix,
    )


def open_reservations(adm: RedisAdmission) -> int:
    r: Any = adm.redis
    return sum(r.hlen(k) for k in r.scan_iter(f"{adm.prefix}res:*"))


def test_settle_bills_once_and_release_bills_nothing(world: World, prefix: str) -> None:
    adm = replica(world, prefix, "a")
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", 2 * max_cost(), "day")
    t1, t2 = adm.admit(world.request(p)), adm.admit(world.request(p))
    with pytest.raises(QuotaExceeded, match=r"day budget .* has 0\.00 left"):
        adm.admit(world.request(p))
    assert adm.settle(t1, done(10, 5)) and not adm.settle(t1, done(10, 5))
    adm.release(t2)
    assert billed(world.store) == (1, 20) and open_reservations(adm) == 0
    # what the two freed: 2 * 50 - 20 left, so one more full request fits, not two
    adm.admit(world.request(p))
    with pytest.raises(QuotaExceeded):
        adm.admit(world.request(p))


def test_counters_are_seeded_from_the_ledger(world: World, prefix: str) -> None:
    p = world.principal("pre", billing="prepaid")
    Wallets(world.store, world.clock).topup(PLATFORM, "pre", 100)
    first = replica(world, prefix, "a")
    first.settle(first.admit(world.request(p)), done())  # 50 spent
    # Redis lost its counters (a restart): the next admission seeds them from the ledger
    r: Any = first.redis
    for k in r.scan_iter(f"{prefix}wallet:*"):
        r.delete(k)
    second = replica(world, prefix, "b")
    second.admit(world.request(p))
    with pytest.raises(QuotaExceeded, match="prepaid wallet"):
        second.admit(world.request(p))


@pytest.mark.parametrize("limit", ["budget", "wallet"])
def test_two_replicas_200_concurrent_requests_stay_exact(
    world: World, prefix: str, store_url: str, limit: str
) -> None:
    other = Store.open(store_url) if not store_url.startswith("sqlite") else world.store
    try:
        if limit == "budget":
            p = world.principal("acme")
            Budgets(world.store, world.clock).set(PLATFORM, "acme", 50 * max_cost(), "month")
        else:
            p = world.principal("pre", billing="prepaid")
            Wallets(world.store, world.clock).topup(PLATFORM, "pre", 40 * max_cost())
            Wallets(world.store, world.clock).credit(PLATFORM, "pre", 10 * max_cost())
        adms = [replica(world, prefix, "a"), replica(world, prefix, "b", other)]
        _, refused, settled = run_concurrently(adms, world, lambda i: p)
        _, total = billed(world.store)
        assert total == settled <= 50 * max_cost()
        assert refused > 0 and open_reservations(adms[0]) == 0
        counter = next(iter(adms[0].redis.scan_iter(f"{prefix}{limit}:*")))
        # the budget's counter is its period's usage, the wallet's all usage ever; here
        # both are the ledger's total: nothing is left held, nothing was lost
        assert int(adms[0].redis.get(counter)) == total
    finally:
        if other is not world.store:
            other.close()


def test_sweep_settles_to_the_usage_event_or_releases(world: World, prefix: str) -> None:
    clock = world.clock
    p = world.principal("acme")
    Budgets(world.store, clock).set(PLATFORM, "acme", 10 * max_cost(), "day")
    dead, alive = replica(world, prefix, "dead"), replica(world, prefix, "alive")
    dead.heartbeat()
    alive.heartbeat()
    t1, _t2 = dead.admit(world.request(p, rid="d1")), dead.admit(world.request(p, rid="d2"))
    # d1 completed and its usage was written, then the process died before the Lua settle
    UsageLedger(world.store, clock).record(usage_record(t1, ActualUsage(10, 3, 1, "completed")))
    mine = alive.admit(world.request(p, rid="a1"))
    assert alive.sweep() == 0
    clock.advance(seconds=20)
    alive.heartbeat()
    assert alive.sweep() + alive.sweep() + replica(world, prefix, "x").sweep() == 2
    alive.settle(mine, done(10, 20))
    assert open_reservations(alive) == 0
    with world.store.session() as s:
        total = int(s.scalar(select(func.sum(UsageEvent.retail_micros))) or 0)
    counter = next(iter(alive.redis.scan_iter(f"{prefix}budget:*")))
    assert int(alive.redis.get(counter)) == total == 16 + 50


def test_a_clean_shutdown_removes_only_its_own_heartbeat(world: World, prefix: str) -> None:
    leaving, staying = replica(world, prefix, "leaving"), replica(world, prefix, "staying")
    leaving.heartbeat()
    staying.heartbeat()
    leaving.forget()
    assert set(staying.redis.hkeys(f"{prefix}heartbeats")) == {b"staying"}
