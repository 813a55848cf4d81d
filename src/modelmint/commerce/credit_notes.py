"""Credit notes: money taken off a tenant's (retail) or a channel's (wholesale) bill for a
period, with a reason. They are append-only and audited, and appear as negative lines on
that period's invoice the next time it is generated.

Who may issue: the platform, to any tenant or channel; a channel, to its own tenants only
(its own wholesale bill is the platform's to adjust). Anything outside a scope is not
found."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from modelmint.commerce.audit import snapshot, write_audit
from modelmint.commerce.billing_periods import parse_period
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.config.clock import utc as aware
from modelmint.store import Channel, CreditNote, Store, Tenant

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
                return self._issue(scope, p.text, p.compact, amount_micros, reason, tenant, channel)
            except IntegrityError:
                if attempt == _NUMBER_ATTEMPTS - 1:
                    raise
        raise AssertionError("unreachable")

    def _issue(
        self,
        scope: Scope,
        period: str,
        compact: str,
        amount: int,
        reason: str,
        tenant: str | None,
        channel: str | None,
    ) -> CreditNoteRef:
        now = self.clock()
        with self.store.session() as s:
            if tenant is not None:
                t = s.scalar(select(Tenant).where(Tenant.name == tenant))
                if t is None:
                    raise NotFound(f"no tenant {tenant!r}")
                scope.check_tenant(t.channel_id, tenant)
                tenant_id, channel_id, owner = t.id, None, t.channel_id
            else:
                scope.require_platform(f"channel {channel!r}")
                c = s.scalar(select(Channel).where(Channel.name == channel))
                if c is None:
                    raise NotFound(f"no channel {channel!r}")
                tenant_id, channel_id, owner = None, c.id, c.id
            # Numbers count per period; the unique constraint settles a race (we retry).
            n = s.scalar(select(func.count()).where(CreditNote.period == period)) or 0
            note = CreditNote(
                number=f"CN-{compact}-{n + 1}",
                period=period,
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
