"""The SQL admission backend (SQLite on one machine, PostgreSQL for several replicas).

A request that some limit applies to (a prepaid wallet, a hard budget) is admitted in one
serialized transaction: PostgreSQL locks the tenant row (``SELECT ... FOR UPDATE``),
SQLite takes the write lock up front (``BEGIN IMMEDIATE``). Inside it, the request's
maximum cost must fit in every limit counting what is settled and what is held by open
reservations; then its own reservation is inserted. Settlement appends the usage event
and deletes the reservation in one transaction that takes the same lock, so an admission
never sees a request's cost both settled and held, or neither.

A postpaid tenant with no hard budget has nothing to check: no reservation is written and
admission is a price quote plus the rate limiter (no write at all on the hot path); a
request at a price of zero is likewise never held."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import delete, func, insert, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelmint.commerce.admission import instances
from modelmint.commerce.admission.budgets import (
    alerts_due,
    budgets_for,
    spent_and_held,
    write_due_alerts,
)
from modelmint.commerce.admission.protocol import (
    ActualUsage,
    AdmissionRequest,
    QuotaExceeded,
    Ticket,
)
from modelmint.commerce.admission.rate_limits import (
    MemoryRateLimiter,
    RateLimiter,
    admit_counted,
    refund_unused,
)
from modelmint.commerce.errors import CommerceError
from modelmint.commerce.ledger.spend_totals import period_end
from modelmint.commerce.ledger.usage import UsageRecord, append_usage
from modelmint.commerce.ledger.wallet_balances import admission_funds
from modelmint.commerce.money import format_money
from modelmint.commerce.pricing.prices import PriceBooks, Quote
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Budget, Reservation, RevisionCache, Store, Tenant, core_table

log = logging.getLogger("modelmint.admission")


def usage_record(ticket: Ticket, usage: ActualUsage) -> UsageRecord:
    """The ledger row of a settled request, priced by the quote it was admitted at."""
    r, q = ticket.request, ticket.quote
    return UsageRecord(
        request_id=r.request_id,
        tenant_id=r.principal.tenant_id,
        api_key_id=r.principal.key_id,
        model_version_id=r.model_version_id,
        endpoint=r.endpoint,
        prompt_tokens=usage.prompt_tokens,
        completion_tokens=usage.completion_tokens,
        latency_ms=usage.latency_ms,
        status=usage.status,
        channel_id=q.channel_id,
        input_price_micros=q.retail_input,
        output_price_micros=q.retail_output,
        retail_micros=q.retail(usage.prompt_tokens, usage.completion_tokens),
        wholesale_micros=q.wholesale(usage.prompt_tokens, usage.completion_tokens),
    )


def price_request(s: Session, prices: PriceBooks, request: AdmissionRequest) -> tuple[Quote, int]:
    """The request's quote, and its maximum cost at it (the prompt and every token it may
    generate): what admission holds against the limits."""
    p = request.principal
    quote = prices.quote_in(s, p.tenant_id, request.model_name, request.model_version)
    return quote, quote.retail(request.prompt_tokens, request.max_completion_tokens)


def in_flight(request: AdmissionRequest) -> CommerceError:
    return CommerceError(f"request id {request.request_id!r} is already in flight; use a new id")


def write_alerts(
    s: Session,
    tenant_id: int,
    api_key_id: int,
    now: datetime,
    budgets: Sequence[Budget] | None = None,
) -> None:
    """The budget alerts a settlement crossed, in the settlement's transaction after its
    usage event. Their writes (rare: once per budget, period and threshold) go in a
    savepoint, so a failure here rolls back only the alerts and never un-bills a request."""
    try:
        due = alerts_due(s, tenant_id, api_key_id, now, budgets)
        if due:
            with s.begin_nested():
                write_due_alerts(s, due, tenant_id, now)
    except Exception:  # an alert is advice; billing goes on
        log.exception("could not write budget alerts for tenant %s", tenant_id)


def lock_tenant(s: Session, tenant_id: int) -> Tenant:
    """The tenant row, locked until commit on PostgreSQL (SQLite: the transaction already
    holds the database's write lock)."""
    q = select(Tenant).where(Tenant.id == tenant_id)
    if s.get_bind().dialect.name == "postgresql":
        q = q.with_for_update()
    tenant = s.scalar(q)
    if tenant is None:
        raise CommerceError(f"no tenant with id {tenant_id}")
    return tenant


def wallet_refusal(tenant: Tenant, available: int, held: int, cost: int) -> QuotaExceeded:
    return QuotaExceeded(
        f"insufficient balance: the prepaid wallet of tenant {tenant.name!r} has "
        f"{format_money(available)} available ({format_money(held)} held by requests in "
        f"flight) and this request may cost up to {format_money(cost)}; top up the wallet "
        f"(`mint wallets topup {tenant.name} AMOUNT`) or lower max_tokens"
    )


def budget_refusal(tenant: Tenant, b: Budget, left: int, cost: int, at: datetime) -> QuotaExceeded:
    on = f"key {b.api_key_id}" if b.api_key_id is not None else f"tenant {tenant.name!r}"
    end = period_end(b.period, at)
    resets = f"; it resets at {end.isoformat()}" if end else ""
    return QuotaExceeded(
        f"budget exceeded: the {b.period} budget {b.id} of {on} has {format_money(max(0, left))} "
        f"left of {format_money(b.amount_micros)} and this request may cost up to "
        f"{format_money(cost)}{resets}; raise the budget (`mint budgets set {tenant.name} "
        f"AMOUNT --period {b.period}`) or lower max_tokens"
    )


def check_limits(
    s: Session, tenant: Tenant, hard_budgets: Sequence[Budget], cost: int, at: datetime
) -> tuple[str, ...]:
    """Raises QuotaExceeded unless ``cost`` fits the wallet (if prepaid) and every hard
    budget; returns their names. In a write transaction holding the tenant lock
    (``lock_tenant``)."""
    held_names: list[str] = []
    if tenant.billing == "prepaid":
        balance = admission_funds(s, tenant.id, at).total_micros
        held = int(
            s.scalar(
                select(func.coalesce(func.sum(Reservation.amount_micros), 0)).where(
                    Reservation.tenant_id == tenant.id
                )
            )
            or 0
        )
        if balance - held < cost:
            raise wallet_refusal(tenant, balance - held, held, cost)
        held_names.append("wallet")
    for b in hard_budgets:
        spent, held = spent_and_held(s, b, at)
        if spent + held + cost > b.amount_micros:
            raise budget_refusal(tenant, b, b.amount_micros - spent - held, cost, at)
        held_names.append(f"budget:{b.id}")
    return tuple(held_names)


@dataclass(frozen=True)
class Terms:
    """What admission reads before it writes, for one key and model version: the quote,
    whether the tenant is prepaid, and the live budgets covering the key (the tenant's and
    its own). Kept while the commerce tables stand (`RevisionCache`); the spend they are
    checked against is always read in the write transaction."""

    quote: Quote
    prepaid: bool
    budgets: tuple[Budget, ...]

    @property
    def hard_budgets(self) -> tuple[Budget, ...]:
        return tuple(b for b in self.budgets if b.hard)

    @property
    def limited(self) -> bool:
        """Whether a hard limit applies: if not, nothing is reserved."""
        return self.prepaid or bool(self.hard_budgets)


def read_terms(s: Session, prices: PriceBooks, request: AdmissionRequest) -> Terms:
    p = request.principal
    quote = prices.quote_in(s, p.tenant_id, request.model_name, request.model_version)
    billing = s.scalar(select(Tenant.billing).where(Tenant.id == p.tenant_id))
    return Terms(quote, billing == "prepaid", tuple(budgets_for(s, p.tenant_id, p.key_id)))


class SqlAdmission:
    """``Admission`` over the database only (see the module docstring)."""

    def __init__(
        self,
        store: Store,
        prices: PriceBooks,
        clock: Clock = utc_now,
        instance_id: str | None = None,
        limiter: RateLimiter | None = None,
        instance_timeout_s: float = 15.0,
    ) -> None:
        self.store = store
        self.prices = prices
        self.clock = clock
        self.instance_id = instance_id or instances.new_instance_id()
        self.limiter: RateLimiter = limiter if limiter is not None else MemoryRateLimiter()
        self.instance_timeout_s = instance_timeout_s
        self._terms: RevisionCache[tuple[int, int, str, int], Terms] = RevisionCache(store)

    # -- admission ---------------------------------------------------------------------
    def admit(self, request: AdmissionRequest) -> Ticket:
        return admit_counted(self.limiter, self.instance_id, request, self.clock(), self._reserve)

    def _reserve(
        self, request: AdmissionRequest, now: datetime
    ) -> tuple[Quote, int, tuple[str, ...]]:
        p = request.principal
        terms = self.terms(request)
        quote = terms.quote
        cost = quote.retail(request.prompt_tokens, request.max_completion_tokens)
        if cost == 0 or not terms.limited:
            return quote, cost, ()
        try:
            with self.store.write_session() as s:
                tenant = lock_tenant(s, p.tenant_id)
                held = check_limits(s, tenant, terms.hard_budgets, cost, now)
                if held:
                    s.execute(
                        insert(core_table(Reservation)).values(
                            request_id=request.request_id,
                            tenant_id=p.tenant_id,
                            api_key_id=p.key_id,
                            amount_micros=cost,
                            instance_id=self.instance_id,
                            created_at=now,
                        )
                    )
        except IntegrityError:
            raise in_flight(request) from None
        return quote, cost, held

    def terms(self, request: AdmissionRequest) -> Terms:
        p = request.principal

        def read() -> Terms:
            with self.store.session() as s:
                return read_terms(s, self.prices, request)

        return self._terms.get(
            (p.tenant_id, p.key_id, request.model_name, request.model_version), read
        )

    # -- settlement --------------------------------------------------------------------
    def settle(self, ticket: Ticket, usage: ActualUsage) -> bool:
        now = self.clock()
        record = usage_record(ticket, usage)
        # read before the transaction: a cache miss takes a connection of its own
        budgets = self.terms(ticket.request).budgets
        with self.store.write_session() if ticket.held else self.store.session() as s:
            if ticket.held and not self.store.is_sqlite:  # SQLite: the write lock is held
                lock_tenant(s, record.tenant_id)
            billed = append_usage(s, record, now)
            if ticket.held:
                open_ = core_table(Reservation)
                s.execute(delete(open_).where(open_.c.request_id == record.request_id))
            if billed:
                write_alerts(s, record.tenant_id, record.api_key_id, now, budgets)
        refund_unused(self.limiter, ticket, usage.prompt_tokens + usage.completion_tokens)
        return billed

    def release(self, ticket: Ticket) -> None:
        if ticket.held:
            with self.store.session() as s:
                s.execute(
                    delete(Reservation).where(Reservation.request_id == ticket.request.request_id)
                )
        refund_unused(self.limiter, ticket, 0)

    # -- instances ---------------------------------------------------------------------
    def heartbeat(self) -> None:
        instances.heartbeat(self.store, self.instance_id, self.clock())

    def sweep(self) -> int:
        return sum(instances.sweep(self.store, self.clock(), self.instance_timeout_s))

    def forget(self) -> None:
        instances.forget_instance(self.store, self.instance_id)
