"""Budgets: periods, set/list/delete (audited, soft delete), scope isolation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, CommerceError, NotFound, Scope
from modelmint.commerce.admission import Budgets
from modelmint.commerce.admission.budgets import EPOCH, period_end, period_start
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
