"""Credit notes: money taken off a tenant's (retail) or a channel's (wholesale) bill for a
period, with a reason. They are append-only and audited, and appear as negative lines on
that period's invoice the next time it is generated.

Who may issue: the platform, to any tenant or channel; a channel, to its own tenants only
(its own wholesale bill is the platform's to adjust). Anything outside a scope is not
found.

A bill is never credited beyond what it billed: the credit notes of a tenant's period add
up to at most its retail usage in that period, those of a channel to at most its
wholesale usage, so no invoice total goes below zero. The check and the insert run under
a lock on the tenant or channel row (SQLite: the write lock), so two notes issued at once
cannot both fit a remainder meant for one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelmint.commerce.accounts.tenants import find_tenant
from modelmint.commerce.audit import snapshot
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.ledger.billing_periods import BillingPeriod, parse_period
from modelmint.commerce.money import format_money
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.config.clock import utc as aware
from modelmint.store import Channel, CreditNote, Store, Tenant, UsageEvent, write_audit

_NUMBER_ATTEMPTS = 5  # two issuers racing for the same next number: the loser retries


@dataclass(frozen=True)
class CreditNoteRef:
    number: str
    period: str
    tenant: str | None
    channel: str | None  # the channel credited (a wholesale credit), not a tenant's owner
    amount_micros: int
    reason: str
    actor: str
    created_at: datetime


def _ref(note: CreditNote, tenant: str | None, channel: str | None) -> CreditNoteRef:
    return CreditNoteRef(
        note.number,
        note.period,
        tenant,
        channel,
        note.amount_micros,
        note.reason,
        note.actor,
        aware(note.created_at),
    )


class CreditNotes:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def issue(
        self,
        scope: Scope,
        *,
        period: str,
        amount_micros: int,
        reason: str,
        tenant: str | None = None,
        channel: str | None = None,
    ) -> CreditNoteRef:
        """Credits ``amount_micros`` (positive: taken off the bill) to exactly one of a
        tenant or a channel, for ``period`` (YYYY-MM). Numbered ``CN-YYYYMM-<n>``."""
        p = parse_period(period)
        if (tenant is None) == (channel is None):
            raise CommerceError("a credit note is for a tenant or for a channel: give one")
        if isinstance(amount_micros, bool) or not isinstance(amount_micros, int):
            raise CommerceError("a credit note amount is integer micro-units")
        if amount_micros <= 0:
            raise CommerceError("a credit note amount must be positive (it is taken off the bill)")
        if not reason.strip():
            raise CommerceError("a credit note needs a reason; say why the bill is adjusted")
        for attempt in range(_NUMBER_ATTEMPTS):
            try:
                return self._issue(scope, p, amount_micros, reason, tenant, channel)
            except IntegrityError:
                if attempt == _NUMBER_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _issue(
        self,
        scope: Scope,
        period: BillingPeriod,
        amount: int,
        reason: str,
        tenant: str | None,
        channel: str | None,
    ) -> CreditNoteRef:
        now = self.clock()
        with self.store.write_session() as s:
            # FOR NO KEY UPDATE: two notes for one bill wait for each other, while usage
            # (whose foreign key takes FOR KEY SHARE) is not held up
            postgres = s.get_bind().dialect.name == "postgresql"
            if tenant is not None:
                # the name as this scope sees it (names are unique per owner only)
                found = find_tenant(s, scope, tenant)
                tq = select(Tenant).where(Tenant.id == found.id)
                t = s.scalar(tq.with_for_update(key_share=True) if postgres else tq)
                assert t is not None  # found in this transaction
                tenant_id, channel_id, owner = t.id, None, t.channel_id
            else:
                scope.require_platform(f"channel {channel!r}")
                cq = select(Channel).where(Channel.name == channel)
                c = s.scalar(cq.with_for_update(key_share=True) if postgres else cq)
                if c is None:
                    raise NotFound(f"no channel {channel!r}")
                tenant_id, channel_id, owner = None, c.id, c.id
            _check_fits(s, period, amount, tenant, channel, tenant_id, channel_id)
            # Numbers count per period; the unique constraint settles a race (we retry).
            n = s.scalar(select(func.count()).where(CreditNote.period == period.text)) or 0
            note = CreditNote(
                number=f"CN-{period.compact}-{n + 1}",
                period=period.text,
                tenant_id=tenant_id,
                channel_id=channel_id,
                amount_micros=amount,
                reason=reason.strip(),
                actor=scope.actor,
                created_at=now,
            )
            s.add(note)
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="credit_note.issue",
                target=f"credit_note:{note.number}",
                before=None,
                after=snapshot(note),
                at=now,
                channel_id=owner,
            )
            return _ref(note, tenant, channel)

    def list(self, scope: Scope, period: str | None = None) -> list[CreditNoteRef]:
        """The credit notes this scope may see: a channel sees those of its own tenants
        and those credited to itself."""
        with self.store.session() as s:
            q = (
                select(CreditNote, Tenant.name, Channel.name)
                .outerjoin(Tenant, Tenant.id == CreditNote.tenant_id)
                .outerjoin(Channel, Channel.id == CreditNote.channel_id)
                .order_by(CreditNote.period, CreditNote.id)
            )
            if period is not None:
                q = q.where(CreditNote.period == parse_period(period).text)
            if scope.channel_id is not None:
                q = q.where(
                    (Tenant.channel_id == scope.channel_id)
                    | (CreditNote.channel_id == scope.channel_id)
                )
            return [_ref(note, t, c) for note, t, c in s.execute(q)]


def _billed_and_credited(
    s: Session, period: BillingPeriod, tenant_id: int | None, channel_id: int | None
) -> tuple[int, int]:
    """A bill's usage in the period (a tenant's at retail, a channel's at wholesale) and
    the credit notes already issued against it; the same sums its invoice is made of."""
    in_period = (UsageEvent.created_at >= period.start) & (UsageEvent.created_at < period.end)
    if tenant_id is not None:
        amount, whose, noted = (
            UsageEvent.retail_micros,
            UsageEvent.tenant_id == tenant_id,
            CreditNote.tenant_id == tenant_id,
        )
    else:
        amount, whose, noted = (
            UsageEvent.wholesale_micros,
            UsageEvent.channel_id == channel_id,
            CreditNote.channel_id == channel_id,
        )
    billed = s.scalar(select(func.coalesce(func.sum(amount), 0)).where(whose, in_period))
    credited = s.scalar(
        select(func.coalesce(func.sum(CreditNote.amount_micros), 0)).where(
            noted, CreditNote.period == period.text
        )
    )
    return int(billed or 0), int(credited or 0)


def _check_fits(
    s: Session,
    period: BillingPeriod,
    amount: int,
    tenant: str | None,
    channel: str | None,
    tenant_id: int | None,
    channel_id: int | None,
) -> None:
    billed, credited = _billed_and_credited(s, period, tenant_id, channel_id)
    left = billed - credited
    if amount <= left:
        return
    bill = f"tenant {tenant!r}" if tenant is not None else f"channel {channel!r}"
    beyond = (
        f"`mint wallets credit {tenant} AMOUNT` if it is prepaid, or a credit note on a "
        "later month once it has been billed"
        if tenant is not None
        else "a credit note on a later month once it has been billed"
    )
    raise CommerceError(
        f"credit note of {format_money(amount)} refused: the {period.text} bill of {bill} "
        f"billed {format_money(billed)} and has {format_money(credited)} credited already, "
        f"so {format_money(max(0, left))} is left to credit; credit at most that (money "
        f"beyond the bill: {beyond})"
    )
