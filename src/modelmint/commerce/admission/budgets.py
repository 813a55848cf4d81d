"""Budgets: spending caps on a tenant or on one of its API keys, per UTC day, calendar
month or in total. A hard budget refuses requests whose maximum cost could pass it (at
admission); a soft one only alerts. Alerts are raised at settlement, once per budget,
period and threshold (``alert_percent`` and 100)."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from modelmint.commerce.accounts.tenants import find_tenant
from modelmint.commerce.audit import snapshot
from modelmint.commerce.choices import PERIODS
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.ledger.spend_totals import period_start, spent_select
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.config.clock import utc as aware
from modelmint.store import (
    ApiKey,
    Budget,
    BudgetAlert,
    Reservation,
    Store,
    Tenant,
    write_audit,
)

log = logging.getLogger("modelmint.budgets")


@dataclass(frozen=True)
class BudgetInfo:
    id: int
    tenant: str
    key_prefix: str | None  # None: the whole tenant
    amount_micros: int
    period: str
    hard: bool
    alert_percent: int
    created_at: datetime
    spent_micros: int = 0  # in the current period, settled
    held_micros: int = 0  # reserved by requests in flight

    @property
    def label(self) -> str:
        on = f"key {self.key_prefix}" if self.key_prefix else f"tenant {self.tenant!r}"
        return f"{'hard' if self.hard else 'soft'} {self.period} budget {self.id} of {on}"


@dataclass(frozen=True)
class AlertInfo:
    id: int
    budget_id: int
    tenant: str
    key_prefix: str | None
    period_start: datetime
    percent: int
    spent_micros: int
    amount_micros: int
    created_at: datetime


def budgets_for(
    s: Session, tenant_id: int, api_key_id: int, *, hard_only: bool = False
) -> list[Budget]:
    """The live budgets that cover a request of this key: the tenant's and the key's."""
    q = select(Budget).where(
        Budget.tenant_id == tenant_id,
        Budget.deleted_at.is_(None),
        (Budget.api_key_id.is_(None)) | (Budget.api_key_id == api_key_id),
    )
    if hard_only:
        q = q.where(Budget.hard.is_(True))
    return list(s.scalars(q.order_by(Budget.id)))


def spent_and_held(s: Session, budget: Budget, at: datetime) -> tuple[int, int]:
    """Settled spend in the budget's current period (its running total) and the amount
    held by open reservations, read in ONE statement so both come from the same snapshot
    (on PostgreSQL, READ COMMITTED gives each statement its own: read separately, a
    settlement committing in between would be counted in neither)."""
    spent = spent_select(budget.tenant_id, budget.api_key_id, budget.period, at)
    held = select(func.coalesce(func.sum(Reservation.amount_micros), 0)).where(
        Reservation.tenant_id == budget.tenant_id
    )
    if budget.api_key_id is not None:
        held = held.where(Reservation.api_key_id == budget.api_key_id)
    row = s.execute(select(spent, held.scalar_subquery())).one()
    return int(row[0] or 0), int(row[1])


def spent_in_period(s: Session, budget: Budget, at: datetime) -> int:
    spent = spent_select(budget.tenant_id, budget.api_key_id, budget.period, at)
    return int(s.scalar(select(spent)) or 0)


def alerts_due(
    s: Session,
    tenant_id: int,
    api_key_id: int,
    at: datetime,
    budgets: Sequence[Budget] | None = None,
) -> list[tuple[Budget, int, int]]:
    """The (budget, percent, spent) thresholds that settled spending has reached this
    period (alert_percent and 100), whether or not their alert is written yet: reads only.
    ``budgets``: the live budgets covering the key, when the caller has them."""
    due = []
    for b in budgets if budgets is not None else budgets_for(s, tenant_id, api_key_id):
        if b.amount_micros <= 0:
            continue
        spent = spent_in_period(s, b, at)
        due += [
            (b, percent, spent)
            for percent in sorted({b.alert_percent, 100})
            if spent * 100 >= b.amount_micros * percent
        ]
    return due


def write_due_alerts(
    s: Session, due: list[tuple[Budget, int, int]], tenant_id: int, at: datetime
) -> list[int]:
    """Writes each due alert once per budget and period however many replicas try; returns
    the new ones' percents."""
    raised = []
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    for b, percent, spent in due:
        stmt = (
            insert(BudgetAlert)
            .values(
                budget_id=b.id,
                period_start=period_start(b.period, at),
                percent=percent,
                spent_micros=spent,
                created_at=at,
            )
            .on_conflict_do_nothing(index_elements=["budget_id", "period_start", "percent"])
            .returning(BudgetAlert.id)
        )
        if s.execute(stmt).scalar() is not None:
            raised.append(percent)
            log.warning(
                "budget %s of tenant %s reached %s%% (%s of %s micro-units)",
                b.id,
                tenant_id,
                percent,
                spent,
                b.amount_micros,
            )
    return raised


def raise_alerts(s: Session, tenant_id: int, api_key_id: int, at: datetime) -> list[int]:
    """Writes the alerts that settled spending has crossed; returns the new ones' percents."""
    return write_due_alerts(s, alerts_due(s, tenant_id, api_key_id, at), tenant_id, at)


class Budgets:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def set(
        self,
        scope: Scope,
        tenant: str,
        amount_micros: int,
        period: str = "month",
        *,
        hard: bool = True,
        alert_percent: int = 80,
        key_prefix: str | None = None,
    ) -> BudgetInfo:
        """Creates the budget, or changes the live one on the same tenant/key and period."""
        if amount_micros < 0:
            raise CommerceError("a budget amount cannot be negative")
        if period not in PERIODS:
            raise CommerceError(
                f"unknown budget period {period!r}: use one of {', '.join(PERIODS)}"
            )
        if not 1 <= alert_percent <= 100:
            raise CommerceError(f"alert percent {alert_percent} must be between 1 and 100")
        now = self.clock()
        with self.store.session() as s:
            t = find_tenant(s, scope, tenant)
            key_id = self._key_id(s, t, key_prefix)
            row = s.scalar(
                select(Budget).where(
                    Budget.tenant_id == t.id,
                    Budget.deleted_at.is_(None),
                    Budget.period == period,
                    Budget.api_key_id.is_(None) if key_id is None else Budget.api_key_id == key_id,
                )
            )
            before = snapshot(row) if row is not None else None
            if row is None:
                row = Budget(tenant_id=t.id, api_key_id=key_id, period=period, created_at=now)
                s.add(row)
            row.amount_micros, row.hard, row.alert_percent = amount_micros, hard, alert_percent
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="budget.set",
                target=f"tenant:{t.name}/budget:{row.id}",
                before=before,
                after=snapshot(row),
                at=now,
                channel_id=t.channel_id,
            )
            return self._info(s, row, t.name, key_prefix, now)

    def list(self, scope: Scope, tenant: str | None = None) -> list[BudgetInfo]:
        now = self.clock()
        with self.store.session() as s:
            q = (
                select(Budget, Tenant, ApiKey.prefix)
                .join(Tenant, Tenant.id == Budget.tenant_id)
                .outerjoin(ApiKey, ApiKey.id == Budget.api_key_id)
                .where(Budget.deleted_at.is_(None))
                .order_by(Budget.id)
            )
            if tenant is not None:
                q = q.where(Budget.tenant_id == find_tenant(s, scope, tenant).id)
            if scope.channel_id is not None:
                q = q.where(Tenant.channel_id == scope.channel_id)
            return [self._info(s, b, t.name, p, now) for b, t, p in s.execute(q).all()]

    def delete(self, scope: Scope, budget_id: int) -> None:
        """Soft delete: the row stays (its alerts and the audit log refer to it)."""
        now = self.clock()
        with self.store.session() as s:
            row = s.get(Budget, budget_id)
            t = s.get(Tenant, row.tenant_id) if row is not None else None
            if row is None or t is None or row.deleted_at is not None:
                raise NotFound(f"no budget {budget_id}; see `mint budgets list`")
            scope.check_tenant(t.channel_id, f"budget {budget_id}")
            before = snapshot(row)
            row.deleted_at = now
            write_audit(
                s,
                actor=scope.actor,
                action="budget.delete",
                target=f"tenant:{t.name}/budget:{row.id}",
                before=before,
                after=snapshot(row),
                at=now,
                channel_id=t.channel_id,
            )

    def alerts(
        self, scope: Scope, tenant: str | None = None, limit: int = 100
    ) -> builtins.list[AlertInfo]:
        with self.store.session() as s:
            q = (
                select(BudgetAlert, Budget, Tenant, ApiKey.prefix)
                .join(Budget, Budget.id == BudgetAlert.budget_id)
                .join(Tenant, Tenant.id == Budget.tenant_id)
                .outerjoin(ApiKey, ApiKey.id == Budget.api_key_id)
                .order_by(BudgetAlert.id.desc())
                .limit(limit)
            )
            if tenant is not None:
                q = q.where(Budget.tenant_id == find_tenant(s, scope, tenant).id)
            if scope.channel_id is not None:
                q = q.where(Tenant.channel_id == scope.channel_id)
            return [
                AlertInfo(
                    a.id,
                    b.id,
                    t.name,
                    p,
                    aware(a.period_start),
                    a.percent,
                    a.spent_micros,
                    b.amount_micros,
                    aware(a.created_at),
                )
                for a, b, t, p in s.execute(q).all()
            ]

    @staticmethod
    def _key_id(s: Session, t: Tenant, key_prefix: str | None) -> int | None:
        if key_prefix is None:
            return None
        key = s.scalar(select(ApiKey).where(ApiKey.prefix == key_prefix, ApiKey.tenant_id == t.id))
        if key is None:
            raise NotFound(f"tenant {t.name!r} has no key {key_prefix!r}; see `mint keys list`")
        return key.id

    @staticmethod
    def _info(s: Session, b: Budget, tenant: str, prefix: str | None, now: datetime) -> BudgetInfo:
        spent, held = spent_and_held(s, b, now)
        return BudgetInfo(
            b.id,
            tenant,
            prefix,
            b.amount_micros,
            b.period,
            b.hard,
            b.alert_percent,
            aware(b.created_at),
            spent,
            held,
        )
