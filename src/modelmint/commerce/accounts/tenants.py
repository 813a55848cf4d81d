"""Tenants: the customers whose keys call the API and whose usage is billed. A tenant is
owned by the platform directly or by a channel; a channel scope sees only its own tenants,
and anyone else's is reported as not found.

Names are unique per owner, not platform-wide: two channels may each have an ``acme``, so
creating one tells a channel nothing about any other channel's tenants (a platform-wide
name would: "already exists" would answer whether anyone has it). The platform, which sees
every owner, names a channel's tenant ``CHANNEL/NAME``; a bare name is its own (direct)
tenant, or the one channel tenant of that name."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog import NAME_RE
from modelmint.commerce.accounts.channels import find_channel
from modelmint.commerce.audit import change_audited, snapshot, utc
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.pricing.prices import RETAIL_DEFAULT
from modelmint.commerce.scope import PLATFORM, Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Channel, PriceBook, Store, Tenant, write_audit

BILLING_MODES = ("postpaid", "prepaid")


class Unset(Enum):
    """Marks an argument of an update that was not given (None means "clear it")."""

    UNSET = "unset"


UNSET = Unset.UNSET


@dataclass(frozen=True)
class TenantRef:
    id: int
    name: str
    created_at: datetime
    channel_id: int | None = None
    channel: str | None = None  # None: owned by the platform
    billing: str = "postpaid"
    plan: str | None = None  # retail price book; None: the owner's ``standard``
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    suspended_at: datetime | None = None
    keep_transcripts: bool = False  # keep every request's transcript, not only store: true

    @property
    def suspended(self) -> bool:
        return self.suspended_at is not None

    @property
    def effective_plan(self) -> str:
        return self.plan or RETAIL_DEFAULT


def tenant_ref(s: Session, row: Tenant) -> TenantRef:
    channel = s.get(Channel, row.channel_id) if row.channel_id is not None else None
    book = s.get(PriceBook, row.price_book_id) if row.price_book_id is not None else None
    return TenantRef(
        row.id,
        row.name,
        utc(row.created_at),
        channel_id=row.channel_id,
        channel=channel.name if channel is not None else None,
        billing=row.billing,
        plan=book.name if book is not None else None,
        rpm_limit=row.rpm_limit,
        tpm_limit=row.tpm_limit,
        suspended_at=utc(row.suspended_at),
        keep_transcripts=bool(row.keep_transcripts),
    )


QUALIFIER = "/"  # the platform names a channel's tenant CHANNEL/NAME (names have no "/")


def find_tenant(s: Session, scope: Scope, name: str) -> Tenant:
    """The tenant row ``name`` stands for in this scope; else NotFound (a name several
    channels use, given bare by the platform: a CommerceError listing the choices)."""
    missing = NotFound(f"no tenant {name!r}; create it with `mint tenants create {name}`")
    channel, qualified, local = name.rpartition(QUALIFIER)
    if scope.channel_id is not None:
        q = select(Tenant).where(Tenant.channel_id == scope.channel_id)
        if qualified:  # its own channel's name may be given too, as the platform gives it
            q = q.join(Channel, Channel.id == Tenant.channel_id).where(Channel.name == channel)
        row = s.scalar(q.where(Tenant.name == local))
        if row is None:
            raise missing
        return row
    if qualified:
        row = s.scalar(
            select(Tenant)
            .join(Channel, Channel.id == Tenant.channel_id)
            .where(Channel.name == channel, Tenant.name == local)
        )
        if row is None:
            raise missing
        return row
    rows = list(s.scalars(select(Tenant).where(Tenant.name == name).order_by(Tenant.id)))
    direct = [r for r in rows if r.channel_id is None]
    if direct:
        return direct[0]
    if len(rows) == 1:
        return rows[0]
    if not rows:
        raise missing
    owners = s.scalars(
        select(Channel.name).where(Channel.id.in_([r.channel_id for r in rows]))
    ).all()
    choices = ", ".join(f"{c}{QUALIFIER}{name}" for c in sorted(owners))
    raise CommerceError(
        f"several channels have a tenant {name!r}; name the one you mean: {choices}"
    )


def check_limit(value: int | None, what: str) -> int | None:
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise CommerceError(f"{what} must be a whole number of at least 1, or empty for none")
    return value


def _check_billing(billing: str) -> str:
    if billing not in BILLING_MODES:
        raise CommerceError(f"billing must be 'postpaid' or 'prepaid', not {billing!r}")
    return billing


def _plan_book_id(s: Session, channel_id: int | None, plan: str | None) -> int | None:
    """The id of the retail book ``plan`` among the owner's books (the channel's for a
    channel's tenant, the platform's for a direct one); None keeps the default."""
    if plan is None:
        return None
    q = select(PriceBook.id).where(PriceBook.name == plan)
    q = q.where(
        PriceBook.channel_id.is_(None) if channel_id is None else PriceBook.channel_id == channel_id
    )
    book_id = s.scalar(q)
    if book_id is None:
        owner = "the platform" if channel_id is None else "this channel"
        raise NotFound(
            f"no price book {plan!r} owned by {owner}; create it first with "
            f"`mint prices create-book {plan}`"
        )
    return book_id


class Tenants:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def create(
        self,
        name: str,
        *,
        scope: Scope = PLATFORM,
        channel: str | None = None,
        billing: str = "postpaid",
        plan: str | None = None,
        rpm_limit: int | None = None,
        tpm_limit: int | None = None,
        keep_transcripts: bool = False,
    ) -> TenantRef:
        """A new tenant. The platform may give ``channel`` to create it for a channel; a
        channel scope always creates in its own channel."""
        if not NAME_RE.match(name):
            raise CommerceError(
                f"invalid tenant name {name!r}: use letters, digits, '.', '_' or '-'"
            )
        _check_billing(billing)
        check_limit(rpm_limit, "rpm_limit")
        check_limit(tpm_limit, "tpm_limit")
        now = self.clock()
        with self.store.session() as s:
            channel_id = scope.channel_id
            if channel is not None:
                owner = find_channel(s, scope, channel)
                channel_id = owner.id
            # only the owner's own names are looked at: another channel's tenants, which
            # this scope may not know of, never make a name unavailable
            same_owner = (
                Tenant.channel_id.is_(None)
                if channel_id is None
                else Tenant.channel_id == channel_id
            )
            if s.scalar(select(Tenant.id).where(Tenant.name == name, same_owner)) is not None:
                namespace = (
                    "the platform's own tenants"
                    if channel_id is None
                    else ("this channel" if channel is None else f"channel {channel!r}")
                )
                raise CommerceError(
                    f"tenant {name!r} already exists in {namespace}; choose another name"
                )
            row = Tenant(
                name=name,
                created_at=now,
                channel_id=channel_id,
                price_book_id=_plan_book_id(s, channel_id, plan),
                billing=billing,
                rpm_limit=rpm_limit,
                tpm_limit=tpm_limit,
                keep_transcripts=keep_transcripts,
            )
            s.add(row)
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="tenant.create",
                target=f"tenant:{name}",
                before=None,
                after=snapshot(row),
                at=now,
                channel_id=channel_id,
            )
            return tenant_ref(s, row)

    def ensure(self, name: str, *, scope: Scope = PLATFORM) -> TenantRef:
        """The tenant of that name, created if it does not exist yet."""
        try:
            return self.get(scope, name)
        except NotFound:
            return self.create(name, scope=scope)

    def get(self, scope: Scope | str, name: str | None = None) -> TenantRef:
        """``get(scope, name)``; ``get(name)`` (the platform's view) is kept for callers
        written before scopes existed."""
        if isinstance(scope, str):
            return self.get(PLATFORM, scope)
        if name is None:
            raise TypeError("get(scope, name): the tenant name is missing")
        with self.store.session() as s:
            return tenant_ref(s, find_tenant(s, scope, name))

    def get_by_id(self, scope: Scope, tenant_id: int) -> TenantRef:
        with self.store.session() as s:
            row = s.get(Tenant, tenant_id)
            if row is None or (scope.channel_id is not None and row.channel_id != scope.channel_id):
                raise NotFound(f"no tenant with id {tenant_id}")
            return tenant_ref(s, row)

    def list(self, scope: Scope = PLATFORM, *, channel: str | None = None) -> list[TenantRef]:
        """The tenants this scope sees; ``channel`` narrows the platform's view to one
        channel's tenants."""
        with self.store.session() as s:
            q = select(Tenant).order_by(Tenant.name)
            if scope.channel_id is not None:
                q = q.where(Tenant.channel_id == scope.channel_id)
            if channel is not None:
                q = q.where(Tenant.channel_id == find_channel(s, scope, channel).id)
            return [tenant_ref(s, row) for row in s.scalars(q)]

    def update(
        self,
        scope: Scope,
        name: str,
        *,
        plan: str | Unset | None = UNSET,
        billing: str | Unset = UNSET,
        rpm_limit: int | Unset | None = UNSET,
        tpm_limit: int | Unset | None = UNSET,
        keep_transcripts: bool | Unset = UNSET,
    ) -> TenantRef:
        """Changes what is given; ``None`` clears a limit or puts the tenant back on the
        owner's default plan. Requests already settled keep the price they were billed at."""
        changes: dict[str, Any] = {}
        if not isinstance(billing, Unset):
            changes["billing"] = _check_billing(billing)
        if not isinstance(rpm_limit, Unset):
            changes["rpm_limit"] = check_limit(rpm_limit, "rpm_limit")
        if not isinstance(tpm_limit, Unset):
            changes["tpm_limit"] = check_limit(tpm_limit, "tpm_limit")
        if not isinstance(keep_transcripts, Unset):
            changes["keep_transcripts"] = bool(keep_transcripts)
        with self.store.session() as s:
            row = find_tenant(s, scope, name)
            if not isinstance(plan, Unset):
                changes["price_book_id"] = _plan_book_id(s, row.channel_id, plan)
            if not changes:
                raise CommerceError(
                    "nothing to change: give a plan, billing, rpm_limit, tpm_limit or "
                    "keep_transcripts"
                )
            return self._change(s, scope, row, "tenant.update", changes)

    def suspend(self, scope: Scope, name: str) -> TenantRef:
        """From now on every key of the tenant is refused (checked on every request)."""
        with self.store.session() as s:
            row = find_tenant(s, scope, name)
            if row.suspended_at is not None:
                return tenant_ref(s, row)  # already suspended: nothing changes
            return self._change(s, scope, row, "tenant.suspend", {"suspended_at": self.clock()})

    def resume(self, scope: Scope, name: str) -> TenantRef:
        with self.store.session() as s:
            row = find_tenant(s, scope, name)
            if row.suspended_at is None:
                return tenant_ref(s, row)
            return self._change(s, scope, row, "tenant.resume", {"suspended_at": None})

    def _change(
        self, s: Session, scope: Scope, row: Tenant, action: str, changes: dict[str, Any]
    ) -> TenantRef:
        change_audited(
            s,
            row,
            changes,
            actor=scope.actor,
            action=action,
            target=f"tenant:{row.name}",
            at=self.clock(),
            channel_id=row.channel_id,
        )
        return tenant_ref(s, row)
