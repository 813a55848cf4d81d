"""Prepaid wallets: top-ups (paid money), credits (given, may expire) and signed
adjustments, all append-only ``wallet_entries``; spending is the usage ledger.

The balance rule: spending draws first on live credits, the one expiring first first (a
credit without expiry after those that have one), then on paid money, which may go below
zero (a request reserved while funds lasted can still finish). When a credit expires its
unused part disappears. ``wallet_balance`` replays this: it walks the entries and the
expiries in time order and draws the usage between each two (one indexed SUM per
interval) from the credits live at that time."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.commerce.audit import snapshot, write_audit
from modelmint.commerce.errors import CommerceError
from modelmint.commerce.scope import Scope
from modelmint.commerce.tenants import find_tenant
from modelmint.config.clock import Clock, utc_now
from modelmint.config.clock import utc as aware
from modelmint.store import Store, Tenant, UsageEvent, WalletEntry

KINDS = ("topup", "credit", "adjustment")


@dataclass
class CreditLot:
    entry_id: int
    remaining_micros: int
    expires_at: datetime | None


@dataclass(frozen=True)
class WalletBalance:
    paid_micros: int  # top-ups and adjustments less what credits did not cover; may be < 0
    credits: list[CreditLot] = field(default_factory=list)  # live at the time asked
    # all usage up to then, as read by the same walk: total + usage = the funds less the
    # expired part of credits, which usage settling now does not change (Redis uses it)
    usage_micros: int = 0

    @property
    def credit_micros(self) -> int:
        return sum(c.remaining_micros for c in self.credits)

    @property
    def total_micros(self) -> int:
        return self.paid_micros + self.credit_micros


@dataclass(frozen=True)
class WalletEntryInfo:
    id: int
    kind: str
    amount_micros: int
    expires_at: datetime | None
    note: str
    actor: str
    created_at: datetime


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


def _draw(amount: int, paid: int, lots: list[CreditLot]) -> int:
    """Takes ``amount`` from the live credits in order of expiry, the rest from paid money;
    returns the new paid amount (the lots are changed in place)."""
    for lot in sorted(lots, key=lambda c: (c.expires_at is None, c.expires_at, c.entry_id)):
        if amount <= 0:
            break
        take = min(lot.remaining_micros, amount)
        lot.remaining_micros -= take
        amount -= take
    return paid - amount


def wallet_balance(s: Session, tenant_id: int, at: datetime) -> WalletBalance:
    """The balance at ``at`` per the rule above, in the caller's transaction."""
    at = aware(at)
    entries = list(
        s.scalars(
            select(WalletEntry)
            .where(WalletEntry.tenant_id == tenant_id, WalletEntry.created_at <= at)
            .order_by(WalletEntry.created_at, WalletEntry.id)
        )
    )
    # (time, 0 = an expiry / 1 = an entry, the entry): an expiry and an entry at the same
    # instant meet the same usage before them, so their order there does not matter
    events: list[tuple[datetime, int, WalletEntry]] = []
    for e in entries:
        events.append((aware(e.created_at), 1, e))
        if e.kind == "credit" and e.expires_at is not None and aware(e.expires_at) <= at:
            events.append((aware(e.expires_at), 0, e))
    events.sort(key=lambda ev: (ev[0], ev[1], ev[2].id))
    paid, since, used = 0, None, 0
    lots: dict[int, CreditLot] = {}
    for when, is_entry, e in events:
        spent = _usage_between(s, tenant_id, since, when)
        paid, used, since = _draw(spent, paid, list(lots.values())), used + spent, when
        if not is_entry:
            lots.pop(e.id, None)  # the unused part of an expired credit disappears
        elif e.kind == "credit":
            lots[e.id] = CreditLot(
                e.id, e.amount_micros, aware(e.expires_at) if e.expires_at else None
            )
        else:
            paid += e.amount_micros
    spent = _usage_between(s, tenant_id, since, at, through=True)
    paid, used = _draw(spent, paid, list(lots.values())), used + spent
    return WalletBalance(paid, [c for c in lots.values() if c.remaining_micros > 0], used)


class Wallets:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def topup(
        self, scope: Scope, tenant: str, amount_micros: int, note: str = ""
    ) -> WalletEntryInfo:
        """Paid money in."""
        if amount_micros <= 0:
            raise CommerceError("a top-up must be a positive amount")
        return self._add(scope, tenant, "topup", amount_micros, None, note)

    def credit(
        self,
        scope: Scope,
        tenant: str,
        amount_micros: int,
        expires_at: datetime | None = None,
        note: str = "",
    ) -> WalletEntryInfo:
        """Money given (a promotion, a goodwill credit); spent before paid money; what is
        left of it at ``expires_at`` disappears."""
        if amount_micros <= 0:
            raise CommerceError("a credit must be a positive amount")
        if expires_at is not None and aware(expires_at) <= self.clock():
            raise CommerceError(
                f"the credit's expiry {expires_at.isoformat()} is not in the future"
            )
        return self._add(scope, tenant, "credit", amount_micros, expires_at, note)

    def adjust(self, scope: Scope, tenant: str, amount_micros: int, note: str) -> WalletEntryInfo:
        """A signed correction of paid money (a refund, a chargeback); needs a reason."""
        if amount_micros == 0:
            raise CommerceError("an adjustment of zero changes nothing")
        if not note.strip():
            raise CommerceError("an adjustment needs a note saying why")
        return self._add(scope, tenant, "adjustment", amount_micros, None, note)

    def entries(self, scope: Scope, tenant: str) -> list[WalletEntryInfo]:
        with self.store.session() as s:
            t = find_tenant(s, scope, tenant)
            rows = s.scalars(
                select(WalletEntry)
                .where(WalletEntry.tenant_id == t.id)
                .order_by(WalletEntry.created_at, WalletEntry.id)
            )
            return [_info(e) for e in rows]

    def balance(self, tenant_id: int, at: datetime | None = None) -> WalletBalance:
        with self.store.session() as s:
            return wallet_balance(s, tenant_id, at or self.clock())

    def show(self, scope: Scope, tenant: str, at: datetime | None = None) -> WalletBalance:
        with self.store.session() as s:
            return wallet_balance(s, find_tenant(s, scope, tenant).id, at or self.clock())

    def _add(
        self,
        scope: Scope,
        tenant: str,
        kind: str,
        amount: int,
        expires_at: datetime | None,
        note: str,
    ) -> WalletEntryInfo:
        now = self.clock()
        with self.store.session() as s:
            t = find_tenant(s, scope, tenant)
            _require_prepaid(t)
            row = WalletEntry(
                tenant_id=t.id,
                kind=kind,
                amount_micros=amount,
                expires_at=expires_at,
                note=note,
                actor=scope.actor,
                created_at=now,
            )
            s.add(row)
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action=f"wallet.{kind}",
                target=f"tenant:{t.name}/wallet",
                before=None,
                after=snapshot(row),
                at=now,
                channel_id=t.channel_id,
            )
            return _info(row)


def _require_prepaid(t: Tenant) -> None:
    if t.billing != "prepaid":
        raise CommerceError(
            f"tenant {t.name!r} is postpaid (billed by invoice) and has no wallet; make it "
            f"prepaid first (`mint tenants update {t.name} --billing prepaid`)"
        )


def _info(e: WalletEntry) -> WalletEntryInfo:
    return WalletEntryInfo(
        e.id,
        e.kind,
        e.amount_micros,
        aware(e.expires_at) if e.expires_at else None,
        e.note,
        e.actor,
        aware(e.created_at),
    )
