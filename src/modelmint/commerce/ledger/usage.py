"""The usage ledger: one append-only event per billed request, keyed by request id."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from modelmint.commerce.accounts.tenants import TenantRef, find_tenant
from modelmint.commerce.ledger.spend_totals import add_spend
from modelmint.commerce.ledger.wallet_balances import apply_usage
from modelmint.commerce.scope import PLATFORM, Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Store, UsageEvent, core_table
from modelmint.store.catalog_tables import ModelVersion


@dataclass(frozen=True)
class UsageRecord:
    request_id: str
    tenant_id: int
    api_key_id: int
    model_version_id: int
    endpoint: str
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    status: str
    # fixed at settlement from the request's quote (defaults: unpriced, direct tenant)
    channel_id: int | None = None
    input_price_micros: int = 0
    output_price_micros: int = 0
    retail_micros: int = 0
    wholesale_micros: int = 0


@dataclass(frozen=True)
class ModelUsage:
    model: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    retail_micros: int = 0
    wholesale_micros: int = 0


@dataclass(frozen=True)
class UsageSummary:
    tenant: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    by_model: list[ModelUsage] = field(default_factory=list)
    retail_micros: int = 0
    wholesale_micros: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


def append_usage(s: Session, event: UsageRecord, at: datetime) -> bool:
    """Appends one event in the caller's transaction (``ON CONFLICT (request_id) DO
    NOTHING``), draws it on the tenant's running wallet balance, if it has one, and adds
    it to the spend totals; False if that request id was already billed.

    The insert comes first: on SQLite it takes the write lock before anything is read (a
    transaction that read first could not write after another's commit), and on
    PostgreSQL its foreign key holds the tenant row (FOR KEY SHARE) before the balance row
    is locked, the order ``wallet_balances`` needs."""
    values = {**event.__dict__, "created_at": at}
    insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
    events = core_table(UsageEvent)
    stmt = (
        insert(events)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["request_id"])
        .returning(events.c.id)
    )
    usage_id = s.execute(stmt).scalar()
    if usage_id is None:
        return False
    at = apply_usage(s, event.tenant_id, usage_id, at, event.retail_micros)
    add_spend(s, event.tenant_id, event.api_key_id, at, event.retail_micros)
    return True


class UsageLedger:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def record(self, event: UsageRecord) -> bool:
        """Appends the event; returns False, changing nothing, if its request id is already
        billed (a replay)."""
        with self.store.session() as s:
            return append_usage(s, event, self.clock())

    def summarize(
        self,
        tenant: str | TenantRef,
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        scope: Scope = PLATFORM,
    ) -> UsageSummary:
        """One tenant's usage: a tenant already found (its id is what counts), or a name
        as ``scope`` sees it (names are unique per owner only)."""
        with self.store.session() as s:
            if isinstance(tenant, TenantRef):
                tenant_id, tenant = tenant.id, tenant.name
            else:
                tenant_id = find_tenant(s, scope, tenant).id
            q = (
                select(
                    ModelVersion.name,
                    ModelVersion.version,
                    func.count(UsageEvent.id),
                    func.coalesce(func.sum(UsageEvent.prompt_tokens), 0),
                    func.coalesce(func.sum(UsageEvent.completion_tokens), 0),
                    func.coalesce(func.sum(UsageEvent.retail_micros), 0),
                    func.coalesce(func.sum(UsageEvent.wholesale_micros), 0),
                )
                .join(ModelVersion, ModelVersion.id == UsageEvent.model_version_id)
                .where(UsageEvent.tenant_id == tenant_id)
                .group_by(ModelVersion.name, ModelVersion.version)
                .order_by(ModelVersion.name, ModelVersion.version)
            )
            if since:
                q = q.where(UsageEvent.created_at >= since)
            if until:
                q = q.where(UsageEvent.created_at < until)
            rows = [
                ModelUsage(f"{n}:{v}", int(c), int(p), int(o), int(r), int(w))
                for n, v, c, p, o, r, w in s.execute(q)
            ]
        return UsageSummary(
            tenant,
            sum(r.requests for r in rows),
            sum(r.prompt_tokens for r in rows),
            sum(r.completion_tokens for r in rows),
            rows,
            sum(r.retail_micros for r in rows),
            sum(r.wholesale_micros for r in rows),
        )
