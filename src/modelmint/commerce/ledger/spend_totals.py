"""Spend per period, kept as running totals beside the usage ledger.

A budget asks "what has this tenant (or key) spent this day, month, or ever?" on every
request it admits and every settlement that may cross an alert. Summed from the ledger, that
question costs more the more a tenant uses: a month of a busy tenant's events read on each
request. So every usage event also adds its retail cost to six rows (the tenant's and its
key's day, month and total) in the transaction that appends it, with one multi-row upsert,
and a budget reads one row. The ledger stays the record: `rebuild_spend_totals` derives the
same rows from it (the migration that introduced them does exactly that)."""

from __future__ import annotations

import functools
from collections import defaultdict
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.sql.dml import Insert
from sqlalchemy.sql.selectable import ScalarSelect

from modelmint.commerce.choices import PERIODS
from modelmint.commerce.errors import CommerceError
from modelmint.config.clock import utc as aware
from modelmint.store import SpendTotal, UsageEvent, core_table

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
WHOLE_TENANT = 0  # the api_key_id of a tenant's own totals


def period_start(period: str, at: datetime) -> datetime:
    """The start of the period containing ``at``: UTC midnight, the first of the month
    (UTC), or the epoch for ``total``."""
    at = aware(at).astimezone(UTC)
    if period == "day":
        return at.replace(hour=0, minute=0, second=0, microsecond=0)
    if period == "month":
        return at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if period == "total":
        return EPOCH
    raise CommerceError(f"unknown budget period {period!r}: use one of {', '.join(PERIODS)}")


def period_end(period: str, at: datetime) -> datetime | None:
    start = period_start(period, at)
    if period == "day":
        return start + timedelta(days=1)
    if period == "month":
        return start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return None


def _rows(tenant_id: int, api_key_id: int, at: datetime, amount: int) -> list[dict[str, object]]:
    return [
        {
            "tenant_id": tenant_id,
            "api_key_id": key,
            "period": period,
            "period_start": period_start(period, at),
            "retail_micros": amount,
        }
        for key in (WHOLE_TENANT, api_key_id)
        for period in PERIODS
    ]


def add_spend(s: Session, tenant_id: int, api_key_id: int, at: datetime, amount: int) -> None:
    """Adds one usage event's retail cost to its tenant's and key's totals, in the caller's
    transaction (the one that appends the event). The rows go in one fixed order, so two
    settlements of one tenant never wait on each other's rows in a cycle."""
    if amount == 0:
        return
    s.execute(_upsert(s.get_bind().dialect.name), _rows(tenant_id, api_key_id, at, amount))


@functools.cache
def _upsert(dialect: str) -> Insert:
    """The totals' upsert, built once per dialect and run with each event's six rows as
    parameters (building it per event, its six rows inline, cost more than running it)."""
    totals = core_table(SpendTotal)
    stmt = (pg_insert if dialect == "postgresql" else sqlite_insert)(totals)
    return stmt.on_conflict_do_update(
        index_elements=["tenant_id", "api_key_id", "period", "period_start"],
        set_={"retail_micros": totals.c.retail_micros + stmt.excluded.retail_micros},
    )


def spent_select(
    tenant_id: int, api_key_id: int | None, period: str, at: datetime
) -> ScalarSelect[int]:
    """The statement for the settled spend of a tenant (``api_key_id`` None) or one of its
    keys in the period containing ``at``: a scalar subquery, so a caller can read it in
    one statement with something else."""
    return (
        select(SpendTotal.retail_micros)
        .where(
            SpendTotal.tenant_id == tenant_id,
            SpendTotal.api_key_id == (WHOLE_TENANT if api_key_id is None else api_key_id),
            SpendTotal.period == period,
            SpendTotal.period_start == period_start(period, at),
        )
        .scalar_subquery()
    )


def rebuild_spend_totals(s: Session) -> int:
    """Derives every total from the usage ledger again, replacing what was there; returns
    how many rows it wrote. Streams the ledger, so its memory is the totals', not the
    events'."""
    totals: dict[tuple[int, int, str, datetime], int] = defaultdict(int)
    events = s.execute(
        select(
            UsageEvent.tenant_id,
            UsageEvent.api_key_id,
            UsageEvent.created_at,
            UsageEvent.retail_micros,
        ).execution_options(yield_per=10_000)
    )
    for tenant_id, api_key_id, at, amount in events:
        if amount:
            for row in _rows(tenant_id, api_key_id, at, amount):
                key = (tenant_id, row["api_key_id"], row["period"], row["period_start"])
                totals[key] += amount  # type: ignore[index]
    s.execute(delete(SpendTotal))
    rows = [
        {"tenant_id": t, "api_key_id": k, "period": p, "period_start": start, "retail_micros": v}
        for (t, k, p, start), v in totals.items()
    ]
    if rows:
        s.execute(insert(SpendTotal), rows)
    return len(rows)
