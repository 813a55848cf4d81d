"""Budgets: periods, set/list/delete (audited, soft delete), scope isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope
from modelmint.commerce.admission import Budgets
from modelmint.commerce.ledger.spend_totals import EPOCH, period_end, period_start
from modelmint.store import AuditEntry, Budget, Store
from support.admission import FakeClock, World


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return World(store, tmp_path / "artifacts", FakeClock())


def test_periods_are_utc_days_calendar_months_or_all_time() -> None:
    at = datetime(2025, 12, 31, 23, 59, tzinfo=UTC)
    assert period_start("day", at) == datetime(2025, 12, 31, tzinfo=UTC)
    assert period_start("month", at) == datetime(2025, 12, 1, tzinfo=UTC)
    assert period_end("month", at) == datetime(2026, 1, 1, tzinfo=UTC)
    assert period_end("day", at) == datetime(2026, 1, 1, tzinfo=UTC)
    assert period_start("total", at) == EPOCH and period_end("total", at) is None
    with pytest.raises(CommerceError, match="use one of day, month, total"):
        period_start("week", at)


def test_set_changes_the_live_budget_and_delete_is_soft_and_audited(world: World) -> None:
    p = world.principal("acme")
    budgets = Budgets(world.store, world.clock)
    a = budgets.set(Scope(actor="cli:ann"), "acme", 100, "day")
    b = budgets.set(Scope(actor="cli:ann"), "acme", 200, "day", hard=False, alert_percent=90)
    k = budgets.set(PLATFORM, "acme", 50, "month", key_prefix=p.prefix)
    assert a.id == b.id and (b.amount_micros, b.hard, b.alert_percent) == (200, False, 90)
    assert [(x.id, x.key_prefix) for x in budgets.list(PLATFORM, "acme")] == [
        (a.id, None),
        (k.id, p.prefix),
    ]
    budgets.delete(PLATFORM, a.id)
    assert [x.id for x in budgets.list(PLATFORM)] == [k.id]
    with pytest.raises(NotFound, match="budgets list"):
        budgets.delete(PLATFORM, a.id)
    with world.store.session() as s:
        assert s.get(Budget, a.id) is not None  # still there for its alerts and the audit
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
    assert actions.count("budget.set") == 3 and actions.count("budget.delete") == 1


def test_bad_input_says_what_is_wrong(world: World) -> None:
    world.principal("acme")
    budgets = Budgets(world.store, world.clock)
    with pytest.raises(CommerceError, match="negative"):
        budgets.set(PLATFORM, "acme", -1)
    with pytest.raises(CommerceError, match="between 1 and 100"):
        budgets.set(PLATFORM, "acme", 1, alert_percent=0)
    with pytest.raises(NotFound, match="no key 'nope'"):
        budgets.set(PLATFORM, "acme", 1, key_prefix="nope")


def test_a_channel_sees_only_its_own_tenants_budgets(world: World) -> None:
    world.principal("acme")
    budgets = Budgets(world.store, world.clock)
    b = budgets.set(PLATFORM, "acme", 100)
    other = Scope(channel_id=12345, actor="channel:x")
    assert budgets.list(other) == [] and budgets.alerts(other) == []
    with pytest.raises(NotFound):
        budgets.set(other, "acme", 1)
    with pytest.raises(NotFound):
        budgets.delete(other, b.id)


def test_spend_totals_are_the_ledger_summed_per_tenant_key_and_period(world: World) -> None:
    """Budgets read running totals, not the ledger: after settlements by two keys across a
    midnight and a month end, every total equals the ledger's own sum, and deriving them
    from the ledger again gives the same rows."""
    from sqlalchemy import func

    from modelmint.commerce.admission.sql import SqlAdmission
    from modelmint.commerce.ledger import rebuild_spend_totals
    from modelmint.store import SpendTotal, UsageEvent
    from support.admission import done

    world.clock.at = datetime(2025, 1, 31, 23, 0, tzinfo=UTC)
    a, b = world.principal("acme"), world.principal("acme")
    adm = SqlAdmission(world.store, world.prices, world.clock)
    for i in range(6):
        p = (a, b)[i % 2]
        adm.settle(adm.admit(world.request(p)), done(10, 5 + i))
        world.clock.advance(minutes=25)  # from 23:00 on 31 January into 1 February
    with world.store.session() as s:
        kept = {
            (t.tenant_id, t.api_key_id, t.period, period_start(t.period, t.period_start)):
            t.retail_micros
            for t in s.scalars(select(SpendTotal))
        }  # fmt: skip
        for (tenant_id, key_id, period, start), total in kept.items():
            q = select(func.sum(UsageEvent.retail_micros)).where(
                UsageEvent.tenant_id == tenant_id, UsageEvent.created_at >= start
            )
            if (end := period_end(period, start)) is not None:
                q = q.where(UsageEvent.created_at < end)
            if key_id:
                q = q.where(UsageEvent.api_key_id == key_id)
            assert s.scalar(q) == total, (key_id, period, start)
        # two days and two months, for the tenant and each key; one total each
        assert sum(1 for k in kept if k[2] == "day") == 6
        assert sum(1 for k in kept if k[2] == "total") == 3
        assert rebuild_spend_totals(s) == len(kept)
        rebuilt = {
            (t.tenant_id, t.api_key_id, t.period, period_start(t.period, t.period_start)):
            t.retail_micros
            for t in s.scalars(select(SpendTotal))
        }  # fmt: skip
    assert rebuilt == kept
