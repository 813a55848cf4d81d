"""A prepaid wallet's running balance: the balance rule (``wallet_rule``) kept up to date
as usage and entries arrive, so admission does not replay the ledger.

``wallet_rule.derive_balance`` replays the rule from the append-only ``wallet_entries``
and the usage ledger, the source of truth; its cost grows with the number of credits
(one SUM each), too much for every request. So the balance is also kept running:
``wallet_running_balances`` (paid money, usage applied, the latest instant applied) and
``wallet_credit_lots`` (what is left of each live credit), updated in the transaction
that appends each usage event (``apply_usage``) or wallet entry (``apply_entry``).
Admission then reads one row and one SUM over live credits.

Why the two agree: usage between two credit boundaries (a credit granted or expiring)
draws from the same credits in the same order, so its order there does not matter; only
order across a boundary does. A credit entry is therefore timed after everything applied,
and a usage event arriving late across a boundary (settled by a replica whose clock is
behind) is timed at the latest instant applied (``as_of``) before it is drawn; either
move is at most the clock skew between replicas. A tenant's running balance is created
the first time one is needed (its first wallet entry or prepaid admission), from
``derive_balance``, and from then on every usage event of that tenant keeps it, whatever
its billing. ``verify_balance`` re-derives it and reports any difference
(``mint wallets verify``), ``rebuild_balance`` replaces it with the re-derived one.

Locking (PostgreSQL; SQLite has one writer at a time): creating a running balance or
adding an entry locks the tenant row FOR UPDATE; appending usage holds FOR KEY SHARE on it
through the usage row's foreign key, then locks the balance row FOR UPDATE. So a tenant
lock comes before a balance lock everywhere, and a running balance created while usage is
being appended either sees that usage in the ledger or is seen by its ``apply_usage``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session

from modelmint.commerce.errors import CommerceError
from modelmint.commerce.ledger.wallet_rule import CreditLot, WalletBalance, derive_balance
from modelmint.config.clock import utc as aware
from modelmint.store import (
    Tenant,
    UsageEvent,
    WalletCreditLot,
    WalletEntry,
    WalletRunningBalance,
)

TICK = timedelta(microseconds=1)  # the finest time both databases keep


@dataclass(frozen=True)
class WalletFunds:
    """What admission needs of a balance, read in one statement."""

    total_micros: int
    usage_micros: int


@dataclass(frozen=True)
class BalanceMismatch:
    tenant_id: int
    at: datetime
    running: WalletBalance
    derived: WalletBalance

    def describe(self, tenant: str) -> str:
        """One line; amounts in micro-units, credits as {entry id: what is left}."""
        r, d = self.running, self.derived
        return (
            f"tenant {tenant!r} at {self.at.isoformat()}: the running balance has paid "
            f"{r.paid_micros}, usage {r.usage_micros}, credits {_lots(r)}; the ledger gives "
            f"paid {d.paid_micros}, usage {d.usage_micros}, credits {_lots(d)}"
        )


def _lots(b: WalletBalance) -> dict[int, int]:
    return {c.entry_id: c.remaining_micros for c in b.credits if c.remaining_micros > 0}


def _same(a: WalletBalance, b: WalletBalance) -> bool:
    return (a.paid_micros, a.usage_micros, _lots(a)) == (b.paid_micros, b.usage_micros, _lots(b))


# -- the running balance ---------------------------------------------------------------------
def _is_postgres(s: Session) -> bool:
    return s.get_bind().dialect.name == "postgresql"


def _lock_tenant(s: Session, tenant_id: int) -> None:
    """FOR UPDATE on PostgreSQL: waits for every transaction appending usage or entries for
    this tenant (they hold FOR KEY SHARE through their foreign key) and holds off new ones.
    SQLite: the caller's transaction already holds the write lock."""
    q = select(Tenant.id).where(Tenant.id == tenant_id)
    if _is_postgres(s):
        q = q.with_for_update()
    if s.scalar(q) is None:
        raise CommerceError(f"no tenant with id {tenant_id}")


def _running_row(s: Session, tenant_id: int, *, lock: bool) -> WalletRunningBalance | None:
    q = select(WalletRunningBalance).where(WalletRunningBalance.tenant_id == tenant_id)
    if lock and _is_postgres(s):
        q = q.with_for_update()
    return s.scalars(q.execution_options(populate_existing=True)).one_or_none()


def _latest_activity(s: Session, tenant_id: int) -> datetime | None:
    usage = s.scalar(
        select(func.max(UsageEvent.created_at)).where(UsageEvent.tenant_id == tenant_id)
    )
    entry = s.scalar(
        select(func.max(WalletEntry.created_at)).where(WalletEntry.tenant_id == tenant_id)
    )
    times = [aware(t) for t in (usage, entry) if t is not None]
    return max(times) if times else None


def _create_running(s: Session, tenant_id: int) -> WalletRunningBalance:
    """The running balance re-derived as of the tenant's latest usage or entry (the caller
    holds the tenant lock and no running balance exists)."""
    as_of = _latest_activity(s, tenant_id)
    derived = derive_balance(s, tenant_id, as_of) if as_of is not None else WalletBalance(0)
    row = WalletRunningBalance(
        tenant_id=tenant_id,
        paid_micros=derived.paid_micros,
        used_micros=derived.usage_micros,
        as_of=as_of,
    )
    s.add(row)
    s.add_all(
        WalletCreditLot(
            entry_id=c.entry_id,
            tenant_id=tenant_id,
            expires_at=c.expires_at,
            remaining_micros=c.remaining_micros,
        )
        for c in derived.credits
    )
    s.flush()
    return row


def ensure_running_balance(s: Session, tenant_id: int) -> WalletRunningBalance:
    """The tenant's running balance, created from the ledger if it has none yet. Needs a
    write transaction (SQLite: ``Store.write_session``); locks the tenant row."""
    _lock_tenant(s, tenant_id)
    row = _running_row(s, tenant_id, lock=False)
    return row if row is not None else _create_running(s, tenant_id)


def rebuild_balance(s: Session, tenant_id: int) -> WalletRunningBalance:
    """Replaces the running balance with one re-derived from the ledger (a write
    transaction; locks the tenant row)."""
    _lock_tenant(s, tenant_id)
    s.execute(delete(WalletCreditLot).where(WalletCreditLot.tenant_id == tenant_id))
    s.execute(delete(WalletRunningBalance).where(WalletRunningBalance.tenant_id == tenant_id))
    return _create_running(s, tenant_id)


def entry_time(row: WalletRunningBalance, now: datetime) -> datetime:
    """When a new credit counts: ``now``, or just after the latest instant applied if that
    is not earlier (a clock behind another replica's, or the same instant as a usage event
    already drawn), so no usage applied before it could have drawn on it."""
    as_of = aware(row.as_of) if row.as_of is not None else None
    return now if as_of is None or now > as_of else as_of + TICK


def _expire(s: Session, row: WalletRunningBalance) -> None:
    if row.as_of is not None:
        s.execute(
            delete(WalletCreditLot).where(
                WalletCreditLot.tenant_id == row.tenant_id, WalletCreditLot.expires_at <= row.as_of
            )
        )


def _advance(row: WalletRunningBalance, at: datetime) -> None:
    if row.as_of is None or at > aware(row.as_of):
        row.as_of = at


def apply_entry(s: Session, row: WalletRunningBalance, entry: WalletEntry) -> None:
    """Adds a just-inserted entry (timed by ``entry_time`` if a credit) to the running
    balance, in the entry's transaction."""
    if entry.kind == "credit":
        s.add(
            WalletCreditLot(
                entry_id=entry.id,
                tenant_id=row.tenant_id,
                expires_at=entry.expires_at,
                remaining_micros=entry.amount_micros,
            )
        )
    else:
        row.paid_micros += entry.amount_micros
    _advance(row, aware(entry.created_at))
    s.flush()
    _expire(s, row)


def _credit_boundary_between(s: Session, tenant_id: int, after: datetime, until: datetime) -> bool:
    """Whether a credit was granted or expired in (after, until]."""
    credits = select(WalletEntry.id).where(
        WalletEntry.tenant_id == tenant_id, WalletEntry.kind == "credit"
    )
    granted = credits.where(WalletEntry.created_at > after, WalletEntry.created_at <= until)
    expired = credits.where(WalletEntry.expires_at > after, WalletEntry.expires_at <= until)
    return s.scalar(granted.limit(1)) is not None or s.scalar(expired.limit(1)) is not None


def _draw_lots(s: Session, tenant_id: int, at: datetime, amount: int) -> int:
    """Takes ``amount`` from the credits live at ``at`` in order of expiry; a spent lot is
    deleted. Returns what they did not cover."""
    live = (
        select(WalletCreditLot)
        .where(
            WalletCreditLot.tenant_id == tenant_id,
            or_(WalletCreditLot.expires_at.is_(None), WalletCreditLot.expires_at > at),
        )
        .order_by(
            WalletCreditLot.expires_at.is_(None),
            WalletCreditLot.expires_at,
            WalletCreditLot.entry_id,
        )
    )
    while amount > 0:
        lots = list(s.scalars(live.limit(8)))
        if not lots:
            break
        for lot in lots:
            take = min(lot.remaining_micros, amount)
            lot.remaining_micros -= take
            amount -= take
            if lot.remaining_micros == 0:
                s.delete(lot)
            if amount == 0:
                break
        s.flush()
    return amount


def apply_usage(s: Session, tenant_id: int, usage_id: int, at: datetime, amount: int) -> datetime:
    """Draws a just-inserted usage event on the tenant's running balance, if it has one,
    in the event's transaction. An event older than the latest instant applied with a
    credit granted or expired in between is re-timed to that instant first (see the
    module docstring), so re-deriving the ledger gives the same balance. Returns the
    event's time as it now stands."""
    row = _running_row(s, tenant_id, lock=True)
    if row is None:
        return at
    at = aware(at)
    as_of = aware(row.as_of) if row.as_of is not None else None
    if as_of is not None and at < as_of and _credit_boundary_between(s, tenant_id, at, as_of):
        at = as_of
        s.execute(update(UsageEvent).where(UsageEvent.id == usage_id).values(created_at=at))
    row.paid_micros -= _draw_lots(s, tenant_id, at, amount)
    row.used_micros += amount
    _advance(row, at)
    s.flush()
    _expire(s, row)
    return at


def running_funds(s: Session, tenant_id: int, at: datetime) -> WalletFunds | None:
    """Total and usage from the running balance at ``at`` (or at its latest instant, if
    later: a clock behind another replica's), in one statement, so it is consistent even
    without a lock; None if the tenant has no running balance yet."""
    at = aware(at)
    bal = WalletRunningBalance
    # credits that expired by the latest instant applied are already deleted
    live = (
        select(func.coalesce(func.sum(WalletCreditLot.remaining_micros), 0))
        .where(
            WalletCreditLot.tenant_id == bal.tenant_id,
            or_(WalletCreditLot.expires_at.is_(None), WalletCreditLot.expires_at > at),
        )
        .scalar_subquery()
    )
    found = s.execute(
        select(bal.paid_micros, bal.used_micros, live).where(bal.tenant_id == tenant_id)
    ).first()
    if found is None:
        return None
    paid, used, credits = (int(v) for v in found)
    return WalletFunds(paid + credits, used)


def admission_funds(s: Session, tenant_id: int, at: datetime) -> WalletFunds:
    """``running_funds``, creating the running balance first if the tenant has none (in
    the caller's write transaction, which holds the tenant lock or gets it here)."""
    funds = running_funds(s, tenant_id, at)
    if funds is None:
        ensure_running_balance(s, tenant_id)
        funds = running_funds(s, tenant_id, at)
        assert funds is not None  # just created, in this transaction
    return funds


def wallet_balance(s: Session, tenant_id: int, at: datetime) -> WalletBalance:
    """The balance at ``at``: from the running balance when ``at`` is not before its latest
    instant, else (a past balance, or no running balance yet) re-derived."""
    at = aware(at)
    row = _running_row(s, tenant_id, lock=False)
    if row is None or (row.as_of is not None and at < aware(row.as_of)):
        return derive_balance(s, tenant_id, at)
    lots = s.scalars(
        select(WalletCreditLot)
        .where(
            WalletCreditLot.tenant_id == tenant_id,
            or_(WalletCreditLot.expires_at.is_(None), WalletCreditLot.expires_at > at),
        )
        .order_by(WalletCreditLot.entry_id)
    )
    credits = [
        CreditLot(
            lot.entry_id, lot.remaining_micros, aware(lot.expires_at) if lot.expires_at else None
        )
        for lot in lots
    ]
    return WalletBalance(row.paid_micros, credits, row.used_micros)


def verify_balance(s: Session, tenant_id: int, now: datetime) -> BalanceMismatch | None:
    """Re-derives the tenant's running balance from the ledger and compares; None when
    they agree or there is no running balance. Run it in one snapshot (``Wallets.verify``)
    so usage appended meanwhile is in both or in neither."""
    row = _running_row(s, tenant_id, lock=False)
    if row is None:
        return None
    latest = _latest_activity(s, tenant_id)
    at = max(t for t in (aware(now), latest, aware(row.as_of) if row.as_of else None) if t)
    running, derived = wallet_balance(s, tenant_id, at), derive_balance(s, tenant_id, at)
    return None if _same(running, derived) else BalanceMismatch(tenant_id, at, running, derived)
