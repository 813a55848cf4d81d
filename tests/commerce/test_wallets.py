"""Wallet balance rule, by worked examples: spending draws first on live credits in order
of expiry, then on paid money; the unused part of an expired credit disappears."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope
from modelmint.commerce.ledger import UsageLedger, UsageRecord, Wallets
from modelmint.store import AuditEntry, Store
from support.admission import START, FakeClock, World

DAY = timedelta(days=1)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def world(store: Store, tmp_path: Path, clock: FakeClock) -> World:
    return World(store, tmp_path / "artifacts", clock)


class Spender:
    """Writes billed usage of a prepaid tenant at the clock's time."""

    def __init__(self, world: World, tenant: str) -> None:
        self.p = world.principal(tenant, billing="prepaid")
        self.ledger = UsageLedger(world.store, world.clock)
        self.model_id = world.model.id
        self.ids = itertools.count()

    def spend(self, micros: int) -> None:
        self.ledger.record(
            UsageRecord(
                f"{self.p.tenant}-{next(self.ids)}",
                self.p.tenant_id,
                self.p.key_id,
                self.model_id,
                "chat.completions",
                1,
                1,
                1,
                "completed",
                retail_micros=micros,
            )
        )


def test_credit_partly_used_then_expired(world: World, clock: FakeClock) -> None:
    wallets = Wallets(world.store, clock)
    t = Spender(world, "acme")
    wallets.credit(PLATFORM, "acme", 100, expires_at=START + 10 * DAY)
    clock.advance(days=1)
    t.spend(30)
    assert wallets.balance(t.p.tenant_id, START + 5 * DAY).total_micros == 70
    # at its expiry the 70 left of the credit disappear; nothing was paid
    assert wallets.balance(t.p.tenant_id, START + 10 * DAY).total_micros == 0
    clock.advance(days=11)
    wallets.topup(PLATFORM, "acme", 50)
    clock.advance(days=1)
    t.spend(20)
    b = wallets.balance(t.p.tenant_id)
    assert (b.paid_micros, b.credit_micros) == (30, 0)


def test_two_credits_the_one_expiring_first_is_spent_first(world: World, clock: FakeClock) -> None:
    wallets = Wallets(world.store, clock)
    t = Spender(world, "acme")
    wallets.topup(PLATFORM, "acme", 40)
    late = wallets.credit(PLATFORM, "acme", 100, expires_at=START + 10 * DAY)
    clock.advance(hours=1)
    wallets.credit(PLATFORM, "acme", 100, expires_at=START + 5 * DAY)
    clock.advance(hours=1)
    t.spend(150)  # the early credit's 100, then 50 of the late one; paid money untouched
    now = wallets.balance(t.p.tenant_id)
    assert (now.paid_micros, now.total_micros) == (40, 90)
    after_first = wallets.balance(t.p.tenant_id, START + 6 * DAY)
    assert [(c.entry_id, c.remaining_micros) for c in after_first.credits] == [(late.id, 50)]
    assert wallets.balance(t.p.tenant_id, START + 11 * DAY).total_micros == 40


def test_spending_past_the_credits_draws_paid_money_and_can_overdraw(
    world: World, clock: FakeClock
) -> None:
    wallets = Wallets(world.store, clock)
    t = Spender(world, "acme")
    wallets.topup(PLATFORM, "acme", 10)
    clock.advance(minutes=1)
    t.spend(25)
    assert wallets.balance(t.p.tenant_id).total_micros == -15
    clock.advance(minutes=1)
    wallets.topup(PLATFORM, "acme", 20)
    assert wallets.balance(t.p.tenant_id).total_micros == 5
    clock.advance(minutes=1)
    wallets.credit(PLATFORM, "acme", 10, expires_at=START + DAY)
    clock.advance(minutes=1)
    t.spend(12)  # 10 from the credit, 2 from paid
    b = wallets.balance(t.p.tenant_id)
    assert (b.paid_micros, b.credit_micros) == (3, 0)


def test_adjustments_and_usage_before_the_first_entry(world: World, clock: FakeClock) -> None:
    wallets = Wallets(world.store, clock)
    t = Spender(world, "acme")
    t.spend(7)
    clock.advance(seconds=1)
    wallets.topup(PLATFORM, "acme", 100)
    wallets.adjust(PLATFORM, "acme", -20, note="chargeback")
    assert wallets.balance(t.p.tenant_id).total_micros == 73
    assert [e.kind for e in wallets.entries(PLATFORM, "acme")] == ["topup", "adjustment"]


def test_wallet_changes_are_audited_and_checked(world: World, clock: FakeClock) -> None:
    wallets = Wallets(world.store, clock)
    world.principal("post")
    with pytest.raises(CommerceError, match=r"postpaid .* make it prepaid"):
        wallets.topup(PLATFORM, "post", 10)
    Spender(world, "acme")
    with pytest.raises(CommerceError, match="positive"):
        wallets.topup(PLATFORM, "acme", 0)
    with pytest.raises(CommerceError, match="not in the future"):
        wallets.credit(PLATFORM, "acme", 5, expires_at=START - DAY)
    with pytest.raises(CommerceError, match="note"):
        wallets.adjust(PLATFORM, "acme", 5, note=" ")
    wallets.topup(Scope(actor="cli:alice"), "acme", 10)
    with world.store.session() as s:
        entry = s.scalars(select(AuditEntry).where(AuditEntry.action == "wallet.topup")).one()
    assert entry.actor == "cli:alice" and entry.after and entry.after["amount_micros"] == 10


def test_a_channel_cannot_see_another_owners_wallet(world: World) -> None:
    Spender(world, "acme")
    with pytest.raises(NotFound):
        Wallets(world.store, world.clock).topup(Scope(channel_id=999), "acme", 10)
