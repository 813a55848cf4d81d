"""Crash recovery: reservations of an instance that stopped heart-beating are settled to
their usage event if one exists, else released; sweeping is idempotent and safe from every
replica at once. The Redis backend's sweep is tested in test_admission_redis.py."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import func, select

from modelmint.commerce import PLATFORM
from modelmint.commerce.admission import ActualUsage, Budgets, NoRateLimits, SqlAdmission
from modelmint.commerce.admission.sql import usage_record
from modelmint.commerce.ledger import UsageLedger
from modelmint.store import GatewayInstance, Reservation, Store
from support.admission import FakeClock, World, max_cost


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return World(store, tmp_path / "artifacts", FakeClock())


def open_reservations(store: Store) -> dict[str, str]:
    with store.session() as s:
        return dict(s.execute(select(Reservation.request_id, Reservation.instance_id)).all())


def test_sweep_releases_a_dead_instances_reservations(world: World) -> None:
    clock = world.clock
    p = world.principal("acme")
    Budgets(world.store, clock).set(PLATFORM, "acme", 4 * max_cost(), "day")

    def replica(name: str) -> SqlAdmission:
        return SqlAdmission(
            world.store, world.prices, clock, name, NoRateLimits(), instance_timeout_s=15
        )

    dead, alive = replica("dead"), replica("alive")
    dead.heartbeat()
    alive.heartbeat()
    t1, t2 = dead.admit(world.request(p, rid="d1")), dead.admit(world.request(p, rid="d2"))
    # d1's response went out and its usage was written, but the process died before the
    # reservation was dropped (e.g. the ledger was written by another path)
    UsageLedger(world.store, clock).record(usage_record(t1, ActualUsage(10, 3, 1, "completed")))
    mine = alive.admit(world.request(p, rid="a1"))
    assert alive.sweep() == 0  # "dead" is not late yet
    clock.advance(seconds=20)
    alive.heartbeat()
    with ThreadPoolExecutor(4) as pool:  # every replica sweeps at once: each row once
        assert sum(pool.map(lambda _: alive.sweep(), range(4))) == 2
    assert open_reservations(world.store) == {"a1": "alive"}
    assert alive.sweep() == 0
    # the budget is free again: the released one bills nothing, the settled one its usage
    assert alive.settle(t2, ActualUsage(10, 0, 1, "completed"))  # a late settle still bills
    alive.settle(mine, ActualUsage(10, 20, 1, "completed"))
    with world.store.session() as s:
        assert s.scalar(select(func.count(Reservation.id))) == 0


def test_an_unknown_instance_is_swept_once_its_reservation_is_old(world: World) -> None:
    clock = world.clock
    p = world.principal("acme")
    Budgets(world.store, clock).set(PLATFORM, "acme", 10**6, "day")
    ghost = SqlAdmission(world.store, world.prices, clock, "ghost", NoRateLimits())
    ghost.admit(world.request(p))  # never heart-beat
    sweeper = SqlAdmission(world.store, world.prices, clock, "sweeper", NoRateLimits())
    assert sweeper.sweep() == 0
    clock.advance(seconds=16)
    assert sweeper.sweep() == 1


def test_a_clean_shutdown_removes_only_its_own_heartbeat(world: World) -> None:
    def replica(name: str) -> SqlAdmission:
        return SqlAdmission(world.store, world.prices, world.clock, name, NoRateLimits())

    leaving, staying = replica("leaving"), replica("staying")
    leaving.heartbeat()
    staying.heartbeat()
    leaving.forget()
    leaving.forget()  # a second shutdown hook changes nothing
    with world.store.session() as s:
        assert list(s.scalars(select(GatewayInstance.id))) == ["staying"]
