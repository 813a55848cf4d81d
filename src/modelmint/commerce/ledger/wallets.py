"""Prepaid wallets: top-ups (paid money), credits (given, may expire) and signed
adjustments, all append-only ``wallet_entries``; spending is the usage ledger. The balance
rule is in ``wallet_rule``, the running balance that admission reads in ``wallet_balances``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.commerce.accounts.tenants import find_tenant
from modelmint.commerce.audit import snapshot
from modelmint.commerce.errors import CommerceError
from modelmint.commerce.ledger.wallet_balances import (
    BalanceMismatch,
    apply_entry,
    ensure_running_balance,
    entry_time,
    rebuild_balance,
    verify_balance,
    wallet_balance,
)
from modelmint.commerce.ledger.wallet_rule import CreditLot, WalletBalance
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.config.clock import utc as aware
from modelmint.store import Store, Tenant, WalletEntry, WalletRunningBalance, write_audit

KINDS = ("topup", "credit", "adjustment")
__all__ = ["KINDS", "CreditLot", "WalletBalance", "WalletEntryInfo", "Wallets", "wallet_balance"]


@dataclass(frozen=True)
class WalletEntryInfo:
    id: int
    kind: str
    amount_micros: int
    expires_at: datetime | None
    note: str
    actor: str
    created_at: datetime


@dataclass(frozen=True)
class BalanceCheck:
    """``Wallets.verify`` for one tenant: ``mismatch`` None when the running balance equals
    the one re-derived from the ledger."""

    tenant: str
    mismatch: BalanceMismatch | None

    @property
    def ok(self) -> bool:
        return self.mismatch is None


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

    def verify(self, scope: Scope, tenant: str | None = None) -> list[BalanceCheck]:
        """Re-derives each running balance (one tenant's, or every one this scope sees)
        from the ledger and compares, in one snapshot of the database. Slow with many
        credits (one SUM per credit): an operator's check, not a request's."""
        now = self.clock()
        with self._snapshot() as s:
            q = select(Tenant).join(
                WalletRunningBalance, WalletRunningBalance.tenant_id == Tenant.id
            )
            if tenant is not None:
                q = q.where(Tenant.id == find_tenant(s, scope, tenant).id)
            elif scope.channel_id is not None:
                q = q.where(Tenant.channel_id == scope.channel_id)
            rows = list(s.scalars(q.order_by(Tenant.name)))
            return [BalanceCheck(t.name, verify_balance(s, t.id, now)) for t in rows]

    def rebuild(self, scope: Scope, tenant: str) -> WalletBalance:
        """Replaces a tenant's running balance with the one re-derived from the ledger
        (after ``verify`` reported a difference); audited as ``wallet.rebuild``."""
        now = self.clock()
        with self.store.write_session() as s:
            t = find_tenant(s, scope, tenant)
            ensure_running_balance(s, t.id)  # takes the tenant lock before reading
            before = wallet_balance(s, t.id, now)
            rebuild_balance(s, t.id)
            after = wallet_balance(s, t.id, now)
            write_audit(
                s,
                actor=scope.actor,
                action="wallet.rebuild",
                target=f"tenant:{t.name}/wallet",
                before=_balance_snapshot(before),
                after=_balance_snapshot(after),
                at=now,
                channel_id=t.channel_id,
            )
            return after

    @contextmanager
    def _snapshot(self) -> Iterator[Session]:
        """A read-only transaction that sees one state of the database throughout: SQLite
        (WAL) reads from one snapshot anyway; PostgreSQL needs REPEATABLE READ for that."""
        with self.store.session() as s:
            if not self.store.is_sqlite:
                s.connection(execution_options={"isolation_level": "REPEATABLE READ"})
            yield s

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
        with self.store.write_session() as s:
            t = find_tenant(s, scope, tenant)
            _require_prepaid(t)
            running = ensure_running_balance(s, t.id)
            row = WalletEntry(
                tenant_id=t.id,
                kind=kind,
                amount_micros=amount,
                expires_at=expires_at,
                note=note,
                actor=scope.actor,
                created_at=entry_time(running, now) if kind == "credit" else now,
            )
            s.add(row)
            s.flush()
            apply_entry(s, running, row)
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


def _balance_snapshot(b: WalletBalance) -> dict[str, object]:
    return {
        "paid_micros": b.paid_micros,
        "usage_micros": b.usage_micros,
        "credits": {str(c.entry_id): c.remaining_micros for c in b.credits},
    }


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
