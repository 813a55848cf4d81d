"""SqlAdmission: reserve the maximum cost against every hard limit, settle to the actual
cost once, release on our failure; exact under 200 concurrent requests (SQLite and
PostgreSQL, and two "replicas" sharing one PostgreSQL schema)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, CommerceError, request_cost
from modelmint.commerce.admission import Budgets, NoRateLimits, QuotaExceeded, SqlAdmission
from modelmint.commerce.ledger import Wallets
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Store, UsageEvent
from support.admission import (
    PRICE_IN,
    PRICE_OUT,
    FakeClock,
    World,
    billed,
    done,
    max_cost,
    reservations,
    run_concurrently,
)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(store: Store, tmp_path: Path, clock: FakeClock) -> World:
    return World(store, tmp_path / "artifacts", clock)


def admission(world: World, **kw) -> SqlAdmission:
    return SqlAdmission(world.store, world.prices, world.clock, limiter=NoRateLimits(), **kw)


def test_settle_prices_by_quote_and_bills_once(world: World) -> None:
    adm = admission(world)
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", 1_000_000, "day")
    ticket = adm.admit(world.request(p, 10, 20))
    assert ticket.reserved_micros == max_cost(10, 20) and ticket.held == (f"budget:{1}",)
    assert reservations(world.store) == 1
    assert adm.settle(ticket, done(10, 7)) is True
    assert adm.settle(ticket, done(10, 7)) is False  # a replay changes nothing
    assert reservations(world.store) == 0
    with world.store.session() as s:
        e = s.scalars(select(UsageEvent)).one()
    assert (e.retail_micros, e.input_price_micros, e.output_price_micros) == (
        request_cost(10, 7, PRICE_IN, PRICE_OUT),
        PRICE_IN,
        PRICE_OUT,
    )
    assert e.retail_micros == 24 and e.status == "completed"


def test_release_bills_nothing(world: World) -> None:
    adm = admission(world)
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", 1_000_000, "day")
    ticket = adm.admit(world.request(p))
    adm.release(ticket)
    assert reservations(world.store) == 0 and billed(world.store) == (0, 0)


def test_postpaid_without_budget_holds_nothing(world: World) -> None:
    adm = admission(world)
    ticket = adm.admit(world.request(world.principal("free-spender")))
    assert ticket.held == () and ticket.reserved_micros == 0
    assert reservations(world.store) == 0
    assert adm.settle(ticket, done()) is True
    assert billed(world.store) == (1, max_cost())


def test_hard_budget_refuses_with_what_is_left(world: World) -> None:
    adm = admission(world)
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", 2 * max_cost() + 10, "day")
    t1, t2 = adm.admit(world.request(p)), adm.admit(world.request(p))
    with pytest.raises(QuotaExceeded, match=r"day budget .* has 0\.00001 left .* raise the budget"):
        adm.admit(world.request(p))
    adm.settle(t1, done(10, 0))  # cost 10 of 50: 40 come back
    adm.admit(world.request(p))
    adm.release(t2)
    assert reservations(world.store) == 1


def test_soft_budget_never_refuses_but_alerts_once(world: World) -> None:
    adm = admission(world)
    p = world.principal("acme")
    budgets = Budgets(world.store, world.clock)
    budgets.set(PLATFORM, "acme", 100, "month", hard=False, alert_percent=50)
    for _ in range(5):  # 5 x 50 = 250% of the budget
        adm.settle(adm.admit(world.request(p)), done())
    alerts = budgets.alerts(PLATFORM)
    assert sorted(a.percent for a in alerts) == [50, 100]
    assert billed(world.store) == (5, 5 * max_cost())


def test_key_budget_limits_only_that_key(world: World) -> None:
    adm = admission(world)
    p1, p2 = world.principal("acme"), world.principal("acme")
    Budgets(world.store, world.clock).set(
        PLATFORM, "acme", max_cost(), "total", key_prefix=p1.prefix
    )
    adm.admit(world.request(p1))
    with pytest.raises(QuotaExceeded, match=f"key {p1.key_id}"):
        adm.admit(world.request(p1))
    adm.admit(world.request(p2))


def test_day_budget_resets_at_utc_midnight(world: World, clock: FakeClock) -> None:
    adm = admission(world)
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", max_cost(), "day")
    adm.settle(adm.admit(world.request(p)), done())
    with pytest.raises(QuotaExceeded, match="resets at 2025-03-11T00:00:00"):
        adm.admit(world.request(p))
    clock.advance(hours=12)
    adm.settle(adm.admit(world.request(p)), done())


def test_prepaid_wallet_refuses_then_top_up_admits(world: World) -> None:
    adm = admission(world)
    p = world.principal("pre", billing="prepaid")
    with pytest.raises(
        QuotaExceeded, match=r"wallet of tenant 'pre' has 0\.00 available .* top up"
    ):
        adm.admit(world.request(p))
    Wallets(world.store, world.clock).topup(PLATFORM, "pre", max_cost())
    t = adm.admit(world.request(p))
    with pytest.raises(QuotaExceeded, match="held by requests in flight"):
        adm.admit(world.request(p))
    adm.settle(t, done(10, 5))
    assert Wallets(world.store, world.clock).balance(p.tenant_id).total_micros == max_cost() - 20


def test_a_free_model_is_never_refused(world: World) -> None:
    adm = admission(world)
    p = world.principal("pre", billing="prepaid")
    world.prices.set_price(PLATFORM, "standard", "m", 0, 0)
    t = adm.admit(world.request(p))
    assert t.held == () and adm.settle(t, done())


def test_a_request_id_in_flight_cannot_be_admitted_again(world: World) -> None:
    adm = admission(world)
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", 10**9, "day")
    adm.admit(world.request(p, rid="same"))
    with pytest.raises(CommerceError, match="already in flight"):
        adm.admit(world.request(p, rid="same"))


def test_200_concurrent_requests_never_pass_a_hard_budget(world: World) -> None:
    budget = 50 * max_cost()
    p = world.principal("acme")
    Budgets(world.store, world.clock).set(PLATFORM, "acme", budget, "month")
    adm = admission(world)
    admitted, refused, settled = run_concurrently([adm], world, lambda i: p)
    _n, total = billed(world.store)
    assert total <= budget
    assert total == settled  # the ledger is what the clients were told
    assert reservations(world.store) == 0
    assert admitted >= 50 and refused > 0


def test_200_concurrent_requests_never_overdraw_a_wallet(world: World) -> None:
    p = world.principal("pre", billing="prepaid")
    Wallets(world.store, world.clock).topup(PLATFORM, "pre", 30 * max_cost())
    Wallets(world.store, world.clock).credit(PLATFORM, "pre", 20 * max_cost())
    adm = admission(world)
    _admitted, refused, settled = run_concurrently([adm], world, lambda i: p)
    _, total = billed(world.store)
    assert total == settled <= 50 * max_cost()
    assert Wallets(world.store, world.clock).balance(p.tenant_id).total_micros >= 0
    assert reservations(world.store) == 0 and refused > 0


def test_two_replicas_sharing_postgres_stay_exact(pg_schema_url: str, tmp_path: Path) -> None:
    clock = FakeClock()
    a, b = Store.open(pg_schema_url), Store.open(pg_schema_url)
    try:
        world = World(a, tmp_path / "artifacts", clock)
        p = world.principal("acme")
        Budgets(a, clock).set(PLATFORM, "acme", 50 * max_cost(), "month")
        adms = [
            SqlAdmission(a, world.prices, clock, limiter=NoRateLimits()),
            SqlAdmission(b, PriceBooks(b, clock), clock, limiter=NoRateLimits()),
        ]
        _, refused, settled = run_concurrently(adms, world, lambda i: p)
        _, total = billed(a)
        assert total == settled <= 50 * max_cost()
        assert reservations(b) == 0 and refused > 0
    finally:
        a.close()
        b.close()
