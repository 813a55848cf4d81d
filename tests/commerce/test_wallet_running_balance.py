"""The running wallet balance (what admission reads) always equals the balance re-derived
from the ledger, on SQLite and PostgreSQL, through the SQL and the Redis admission; and
admission no longer replays the wallet's history (its statements do not grow with the
number of credits)."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import event, select, update

from modelmint.commerce import PLATFORM
from modelmint.commerce.admission import Admission, NoRateLimits, QuotaExceeded, SqlAdmission
from modelmint.commerce.ledger import UsageLedger, UsageRecord, Wallets
from modelmint.commerce.ledger.wallet_rule import derive_balance
from modelmint.config.clock import utc
from modelmint.store import (
    AuditEntry,
    Store,
    UsageEvent,
    WalletCreditLot,
    WalletRunningBalance,
)
from support.admission import START, FakeClock, World, done, max_cost

DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(store: Store, tmp_path: Path, clock: FakeClock) -> World:
    return World(store, tmp_path / "artifacts", clock)


def sql_admission(world: World) -> Admission:
    return SqlAdmission(world.store, world.prices, world.clock, "a", NoRateLimits())


def redis_admission(world: World, prefix: str) -> Admission:
    import redis

    from modelmint.commerce.admission import RedisAdmission

    return RedisAdmission(
        redis.Redis.from_url(os.environ["MINT_TEST_REDIS_URL"]),
        world.store,
        world.prices,
        world.clock,
        "a",
        NoRateLimits(),
        prefix=prefix,
    )


@pytest.fixture(params=["sql", pytest.param("redis", marks=pytest.mark.redis)])
def admission(request: pytest.FixtureRequest, world: World) -> Admission:
    if request.param == "sql":
        return sql_admission(world)
    return redis_admission(world, request.getfixturevalue("redis_prefix"))


def assert_agrees(world: World, tenant_id: int) -> None:
    """The running balance, read straight from its rows, equals the one re-derived from
    the ledger at the same instant (now, or its latest instant if that is later)."""
    with world.store.session() as s:
        row = s.get(WalletRunningBalance, tenant_id)
        assert row is not None, "no running balance kept"
        at = max(world.clock(), utc(row.as_of)) if row.as_of else world.clock()
        lots = s.scalars(select(WalletCreditLot).where(WalletCreditLot.tenant_id == tenant_id))
        live = {
            lot.entry_id: lot.remaining_micros
            for lot in lots
            if lot.expires_at is None or utc(lot.expires_at) > at
        }
        derived = derive_balance(s, tenant_id, at)
    assert (row.paid_micros, row.used_micros, live) == (
        derived.paid_micros,
        derived.usage_micros,
        {c.entry_id: c.remaining_micros for c in derived.credits},
    )
    assert all(c.ok for c in Wallets(world.store, world.clock).verify(PLATFORM))


def test_running_balance_equals_the_ledger_after_credits_reservations_settlements_releases(
    world: World, clock: FakeClock, admission: Admission
) -> None:
    wallets = Wallets(world.store, clock)
    p = world.principal("pre", billing="prepaid")
    wallets.topup(PLATFORM, "pre", 3 * max_cost())
    wallets.credit(PLATFORM, "pre", max_cost() + 7, expires_at=START + 2 * DAY)
    wallets.credit(PLATFORM, "pre", 2 * max_cost(), expires_at=START + 5 * DAY)
    wallets.credit(PLATFORM, "pre", max_cost())  # never expires: spent after the others
    assert_agrees(world, p.tenant_id)

    held = [admission.admit(world.request(p)) for _ in range(3)]
    clock.advance(hours=1)
    admission.settle(held[0], done(10, 7))  # partly: the reservation was for 20 out
    admission.release(held[1])
    admission.settle(held[2], done())
    assert_agrees(world, p.tenant_id)

    clock.advance(days=2)  # the first credit expired with what was left of it
    assert_agrees(world, p.tenant_id)
    ticket = admission.admit(world.request(p))
    wallets.adjust(PLATFORM, "pre", -5, note="chargeback")
    clock.advance(minutes=1)
    admission.settle(ticket, done(10, 20))
    wallets.credit(PLATFORM, "pre", 11, expires_at=START + 3 * DAY)
    for _ in range(4):
        clock.advance(minutes=1)
        admission.settle(admission.admit(world.request(p)), done(10, 3))
    assert_agrees(world, p.tenant_id)

    clock.advance(days=10)  # every credit with an expiry is gone
    spent = 0
    while True:
        try:
            t = admission.admit(world.request(p))
        except QuotaExceeded:
            break
        admission.settle(t, done())
        spent += 1
    assert spent > 0
    assert_agrees(world, p.tenant_id)
    assert wallet_balance_total(world, p.tenant_id) < max_cost()


def wallet_balance_total(world: World, tenant_id: int) -> int:
    return Wallets(world.store, world.clock).balance(tenant_id).total_micros


def test_usage_settled_late_across_a_credit_is_retimed_so_the_ledger_agrees(
    world: World, clock: FakeClock
) -> None:
    """A replica whose clock is behind settles a request after a credit was granted: its
    event would have drawn on that credit had it been replayed at its own time."""
    wallets = Wallets(world.store, clock)
    p = world.principal("pre", billing="prepaid")
    wallets.topup(PLATFORM, "pre", 100)
    clock.advance(hours=1)
    granted = wallets.credit(PLATFORM, "pre", 30, expires_at=START + DAY)
    behind = UsageLedger(world.store, lambda: START + timedelta(minutes=30))
    behind.record(record(world, p, "late", 50))
    with world.store.session() as s:
        late = s.scalars(select(UsageEvent).where(UsageEvent.request_id == "late")).one()
        assert utc(late.created_at) == granted.created_at
    assert_agrees(world, p.tenant_id)
    b = wallets.balance(p.tenant_id)
    assert (b.paid_micros, b.credit_micros) == (80, 0)  # the credit's 30 went first

    # without a credit in between, a late event keeps its own time (back-dated usage)
    clock.advance(hours=1)
    wallets.topup(PLATFORM, "pre", 10)
    before = START + timedelta(minutes=90)
    UsageLedger(world.store, lambda: before).record(record(world, p, "kept", 5))
    with world.store.session() as s:
        kept = s.scalars(select(UsageEvent).where(UsageEvent.request_id == "kept")).one()
        assert utc(kept.created_at) == before
    assert_agrees(world, p.tenant_id)
    assert wallet_balance_total(world, p.tenant_id) == 85


def record(world: World, p, request_id: str, micros: int) -> UsageRecord:
    return UsageRecord(
        request_id, p.tenant_id, p.key_id, world.model.id, "chat.completions", 1, 1, 1,
        "completed", retail_micros=micros,
    )  # fmt: skip


def test_a_tenant_made_prepaid_later_starts_from_its_whole_ledger(
    world: World, clock: FakeClock
) -> None:
    p = world.principal("late")  # postpaid: usage is billed by invoice, no running balance
    UsageLedger(world.store, clock).record(record(world, p, "before", 40))
    world.tenants.update(PLATFORM, "late", billing="prepaid")
    clock.advance(minutes=1)
    Wallets(world.store, clock).topup(PLATFORM, "late", 100)
    assert wallet_balance_total(world, p.tenant_id) == 60
    assert_agrees(world, p.tenant_id)


def test_admission_reads_a_few_rows_however_many_credits(world: World, clock: FakeClock) -> None:
    """The defect: each admission replayed every wallet entry (one query each) inside the
    database's write lock, so 5,000 credits made every admission take seconds."""
    wallets = Wallets(world.store, clock)
    p = world.principal("pre", billing="prepaid")
    for i in range(150):
        wallets.credit(PLATFORM, "pre", 10, expires_at=START + (i + 1) * DAY)
        clock.advance(seconds=1)
    adm = sql_admission(world)
    adm.settle(adm.admit(world.request(p)), done())
    statements: list[str] = []

    def count(_conn, _cursor, statement, *_args) -> None:
        statements.append(statement)

    event.listen(world.store.engine, "before_cursor_execute", count)
    try:
        ticket = adm.admit(world.request(p))
    finally:
        event.remove(world.store.engine, "before_cursor_execute", count)
    adm.release(ticket)
    assert len(statements) < 20, statements


def test_verify_reports_a_running_balance_that_drifted_and_rebuild_restores_it(
    world: World, clock: FakeClock
) -> None:
    wallets = Wallets(world.store, clock)
    p = world.principal("pre", billing="prepaid")
    wallets.topup(PLATFORM, "pre", 100)
    UsageLedger(world.store, clock).record(record(world, p, "r1", 30))
    with world.store.session() as s:  # what a bug, or a hand edit, could do
        s.execute(
            update(WalletRunningBalance)
            .where(WalletRunningBalance.tenant_id == p.tenant_id)
            .values(paid_micros=1_000)
        )
    (check,) = wallets.verify(PLATFORM, "pre")
    assert not check.ok and check.mismatch is not None
    text = check.mismatch.describe("pre")
    assert "paid 1000" in text and "the ledger gives paid 70" in text
    assert wallets.rebuild(PLATFORM, "pre").total_micros == 70
    assert all(c.ok for c in wallets.verify(PLATFORM))
    with world.store.session() as s:
        audit = s.scalars(select(AuditEntry).where(AuditEntry.action == "wallet.rebuild")).one()
    assert audit.before and audit.before["paid_micros"] == 1_000
    assert audit.after and audit.after["paid_micros"] == 70
