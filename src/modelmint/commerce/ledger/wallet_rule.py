"""A prepaid wallet's balance rule, replayed from the ledger.

The rule: spending draws first on live credits, the one expiring first first (a credit
without expiry after those that have one), then on paid money (top-ups and signed
adjustments), which may go below zero (a request reserved while funds lasted can still
finish). When a credit expires its unused part disappears.

``derive_balance`` replays it from the append-only ``wallet_entries`` and the usage
ledger, the source of truth: one indexed SUM of usage per credit granted or expired, so
its cost grows with the number of credits. Admission reads the running balance of
``wallet_balances`` instead, which this replay checks."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.config.clock import utc as aware
from modelmint.store import UsageEvent, WalletEntry


@dataclass
class CreditLot:
    entry_id: int
    remaining_micros: int
    expires_at: datetime | None


@dataclass(frozen=True)
class WalletBalance:
    paid_micros: int  # top-ups and adjustments less what credits did not cover; may be < 0
    credits: list[CreditLot] = field(default_factory=list)  # live at the time asked
    # all usage up to then: total + usage = the funds less the expired part of credits,
    # which usage settling now does not change (Redis admission counts against it)
    usage_micros: int = 0

    @property
    def credit_micros(self) -> int:
        return sum(c.remaining_micros for c in self.credits)

    @property
    def total_micros(self) -> int:
        return self.paid_micros + self.credit_micros


def _usage_between(
    s: Session, tenant_id: int, since: datetime | None, until: datetime, *, through: bool = False
) -> int:
    """Retail usage in [since, until) (or [since, until] with ``through``)."""
    end = UsageEvent.created_at <= until if through else UsageEvent.created_at < until
    q = select(func.coalesce(func.sum(UsageEvent.retail_micros), 0)).where(
        UsageEvent.tenant_id == tenant_id, end
    )
    if since is not None:
        q = q.where(UsageEvent.created_at >= since)
    return int(s.scalar(q) or 0)


def _expiry_order(lot: CreditLot) -> tuple[bool, datetime | None, int]:
    return (lot.expires_at is None, lot.expires_at, lot.entry_id)


def _draw(amount: int, lots: list[CreditLot]) -> int:
    """Takes ``amount`` from the credits in order of expiry (changing them in place);
    returns what they did not cover, for paid money."""
    for lot in sorted(lots, key=_expiry_order):
        if amount <= 0:
            break
        take = min(lot.remaining_micros, amount)
        lot.remaining_micros -= take
        amount -= take
    return amount


def derive_balance(s: Session, tenant_id: int, at: datetime) -> WalletBalance:
    """The balance at ``at`` replayed from the entries and the usage ledger. Top-ups and
    adjustments only add to paid money, so only credits granted or expiring split the
    usage into intervals (one SUM each)."""
    at = aware(at)
    entries = list(
        s.scalars(
            select(WalletEntry)
            .where(WalletEntry.tenant_id == tenant_id, WalletEntry.created_at <= at)
            .order_by(WalletEntry.created_at, WalletEntry.id)
        )
    )
    paid = sum(e.amount_micros for e in entries if e.kind != "credit")
    # (time, 0 = an expiry / 1 = a grant, the entry): an expiry and a grant at the same
    # instant meet the same usage before them, so their order there does not matter
    events: list[tuple[datetime, int, WalletEntry]] = []
    for e in entries:
        if e.kind != "credit":
            continue
        events.append((aware(e.created_at), 1, e))
        if e.expires_at is not None and aware(e.expires_at) <= at:
            events.append((aware(e.expires_at), 0, e))
    events.sort(key=lambda ev: (ev[0], ev[1], ev[2].id))
    since, used = None, 0
    lots: dict[int, CreditLot] = {}
    for when, is_grant, e in events:
        spent = _usage_between(s, tenant_id, since, when)
        paid, used, since = paid - _draw(spent, list(lots.values())), used + spent, when
        if not is_grant:
            lots.pop(e.id, None)  # the unused part of an expired credit disappears
        else:
            lots[e.id] = CreditLot(
                e.id, e.amount_micros, aware(e.expires_at) if e.expires_at else None
            )
    spent = _usage_between(s, tenant_id, since, at, through=True)
    paid, used = paid - _draw(spent, list(lots.values())), used + spent
    return WalletBalance(paid, [c for c in lots.values() if c.remaining_micros > 0], used)
