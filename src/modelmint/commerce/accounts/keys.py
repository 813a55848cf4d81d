"""API keys: ``mm-<prefix>-<secret>``, made and checked as every key is (``credentials``).
The full key exists only in the return value of ``create`` and ``rotate``.

Keys are read from the database on every request (no cache), so a revoke, an expiry or a
suspension is seen on the next request by every gateway replica."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog import MODEL_SPEC_RE
from modelmint.commerce.accounts.credentials import (
    check_expiry,
    hash_secret,
    new_key,
    same_secret,
    split_key,
)
from modelmint.commerce.accounts.tenants import UNSET, Unset, check_limit, find_tenant
from modelmint.commerce.audit import change_audited, snapshot, utc
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.scope import PLATFORM, Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.store import ApiKey, RevisionCache, Store, Tenant, write_audit

KEY_PREFIX = "mm-"


@dataclass(frozen=True)
class CreatedKey:
    key: str  # shown once, never stored
    prefix: str
    tenant: str
    expires_at: datetime | None = None


@dataclass(frozen=True)
class KeyPrincipal:
    """Who is calling: what a request is authorized and billed as, and its limits."""

    key_id: int
    prefix: str
    tenant_id: int
    tenant: str
    channel_id: int | None = None
    billing: str = "postpaid"
    allowed_models: tuple[str, ...] = ()  # empty: every model
    key_rpm: int | None = None
    key_tpm: int | None = None
    tenant_rpm: int | None = None
    tenant_tpm: int | None = None
    keep_transcripts: bool = False  # the tenant keeps every request's transcript

    def may_use(self, names: tuple[str, ...]) -> bool:
        """Whether the key may call a model known by any of ``names`` (id, label, aliases)."""
        return not self.allowed_models or any(n in self.allowed_models for n in names)


@dataclass(frozen=True)
class KeyInfo:
    prefix: str
    tenant: str
    name: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None
    allowed_models: tuple[str, ...] = ()
    rpm_limit: int | None = None
    tpm_limit: int | None = None
    rotated_from: str | None = None  # the prefix of the key this one replaced
    channel_id: int | None = None
    status: str = "active"  # "active", "revoked" or "expired" when listed
    id: int = 0


def check_models(models: Iterable[str]) -> list[str]:
    """Model names, labels (``name:3``) or aliases (``name@production``), deduplicated in
    order; empty means every model."""
    out: list[str] = []
    for m in models:
        m = m.strip()
        if not m or any(c.isspace() or c == "," for c in m) or not MODEL_SPEC_RE.match(m):
            raise CommerceError(
                f"invalid model {m!r} in allowed models: use NAME, NAME:VERSION or NAME@ALIAS"
            )
        if m not in out:
            out.append(m)
    return out


def _status(row: ApiKey, now: datetime) -> str:
    if row.revoked_at is not None:
        return "revoked"
    if row.expires_at is not None and utc(row.expires_at) <= now:
        return "expired"
    return "active"


def _is_found(found: object) -> bool:
    return found is not None  # a refusal is not kept: a key fixed a moment later works


class ApiKeys:
    def __init__(self, store: Store, pepper: bytes, clock: Clock = utc_now) -> None:
        self.store = store
        self.pepper = pepper
        self.clock = clock
        self._principals: RevisionCache[
            tuple[str, str], tuple[KeyPrincipal, datetime | None] | None
        ] = RevisionCache(store)

    def _hash(self, secret: str) -> str:
        return hash_secret(self.pepper, secret)

    # -- every request ---------------------------------------------------------------------
    def authenticate(self, key: str) -> KeyPrincipal | None:
        """The key's principal, or None for a key that is unknown, revoked, expired or of a
        suspended tenant. Kept in memory while no key, tenant or price changes anywhere
        (`RevisionCache`); expiry is checked on every call."""
        parts = split_key(key, KEY_PREFIX)
        if parts is None:
            return None
        prefix, secret = parts
        digest = self._hash(secret)
        found = self._principals.get(
            (prefix, digest), lambda: self._principal_of(prefix, digest), keep=_is_found
        )
        if found is None:
            return None
        principal, expires_at = found
        if expires_at is not None and utc(expires_at) <= self.clock():
            return None
        return principal

    def _principal_of(
        self, prefix: str, digest: str
    ) -> tuple[KeyPrincipal, datetime | None] | None:
        with self.store.session() as s:
            row = s.execute(
                select(ApiKey, Tenant)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.prefix == prefix)
            ).first()
        if row is None:
            same_secret(digest, digest)  # same work whether or not the prefix exists
            return None
        api_key, tenant = row
        if not same_secret(digest, api_key.secret_hash):
            return None
        if api_key.revoked_at is not None or tenant.suspended_at is not None:
            return None
        principal = KeyPrincipal(
            api_key.id,
            api_key.prefix,
            api_key.tenant_id,
            tenant.name,
            channel_id=tenant.channel_id,
            billing=tenant.billing,
            allowed_models=tuple(api_key.allowed_models or ()),
            key_rpm=api_key.rpm_limit,
            key_tpm=api_key.tpm_limit,
            tenant_rpm=tenant.rpm_limit,
            tenant_tpm=tenant.tpm_limit,
            keep_transcripts=bool(tenant.keep_transcripts),
        )
        return principal, api_key.expires_at

    # -- administration --------------------------------------------------------------------
    def create(
        self,
        tenant: str,
        name: str = "",
        *,
        scope: Scope = PLATFORM,
        expires_at: datetime | None = None,
        allowed_models: Iterable[str] = (),
        rpm_limit: int | None = None,
        tpm_limit: int | None = None,
    ) -> CreatedKey:
        """A new key for the tenant; the returned ``key`` is the only time it is shown."""
        now = self.clock()
        models = check_models(allowed_models)
        check_limit(rpm_limit, "rpm_limit")
        check_limit(tpm_limit, "tpm_limit")
        check_expiry(expires_at, now)
        with self.store.session() as s:
            owner = find_tenant(s, scope, tenant)
            key, row = self._new_key(
                s, owner, name, expires_at, models, rpm_limit, tpm_limit, rotated_from_id=None
            )
            write_audit(
                s,
                actor=scope.actor,
                action="api_key.create",
                target=f"api_key:{row.prefix}",
                before=None,
                after=snapshot(row),
                at=now,
                channel_id=owner.channel_id,
            )
            return CreatedKey(key, row.prefix, owner.name, expires_at)

    def rotate(
        self,
        scope: Scope,
        prefix: str,
        grace: timedelta = timedelta(hours=24),
        *,
        expires_at: datetime | None = None,
    ) -> CreatedKey:
        """A new key with the old one's name, allowed models and limits; the old key keeps
        working until now + ``grace`` (never longer than it would have anyway), so clients
        can switch over without downtime. The new key expires at ``expires_at`` (default
        never): an old expiry belongs to the old secret."""
        if grace < timedelta(0):
            raise CommerceError("the grace period cannot be negative")
        now = self.clock()
        check_expiry(expires_at, now)
        with self.store.session() as s:
            old, owner = self._find(s, scope, prefix)
            if _status(old, now) != "active":
                raise CommerceError(
                    f"key {prefix} is {_status(old, now)}; only an active key can be rotated "
                    "(create a new one with `mint keys create`)"
                )
            before = snapshot(old)
            grace_end = now + grace
            if old.expires_at is None or utc(old.expires_at) > grace_end:
                old.expires_at = grace_end
            key, new = self._new_key(
                s,
                owner,
                old.name,
                expires_at,
                list(old.allowed_models or ()),
                old.rpm_limit,
                old.tpm_limit,
                rotated_from_id=old.id,
            )
            write_audit(
                s,
                actor=scope.actor,
                action="api_key.rotate",
                target=f"api_key:{prefix}",
                before=before,
                after={**snapshot(old), "rotated_to": snapshot(new)},
                at=now,
                channel_id=owner.channel_id,
            )
            return CreatedKey(key, new.prefix, owner.name, expires_at)

    def revoke(self, scope: Scope, prefix: str) -> KeyInfo:
        """Refused from the next request on, by every replica. Revoking twice is a no-op."""
        with self.store.session() as s:
            row, owner = self._find(s, scope, prefix)
            if row.revoked_at is None:
                self._change(s, scope, row, owner, "api_key.revoke", {"revoked_at": self.clock()})
            return self._info(s, row, owner)

    def update(
        self,
        scope: Scope,
        prefix: str,
        *,
        allowed_models: Iterable[str] | Unset = UNSET,
        rpm_limit: int | Unset | None = UNSET,
        tpm_limit: int | Unset | None = UNSET,
        expires_at: datetime | Unset | None = UNSET,
    ) -> KeyInfo:
        """Changes what is given; ``None`` clears a limit or the expiry, an empty list of
        models allows every model."""
        changes: dict[str, Any] = {}
        if not isinstance(allowed_models, Unset):
            changes["allowed_models"] = check_models(allowed_models)
        if not isinstance(rpm_limit, Unset):
            changes["rpm_limit"] = check_limit(rpm_limit, "rpm_limit")
        if not isinstance(tpm_limit, Unset):
            changes["tpm_limit"] = check_limit(tpm_limit, "tpm_limit")
        if not isinstance(expires_at, Unset):
            changes["expires_at"] = check_expiry(expires_at, self.clock())
        if not changes:
            raise CommerceError(
                "nothing to change: give allowed_models, rpm_limit, tpm_limit or expires_at"
            )
        with self.store.session() as s:
            row, owner = self._find(s, scope, prefix)
            if row.revoked_at is not None:
                raise CommerceError(f"key {prefix} is revoked; create a new one")
            self._change(s, scope, row, owner, "api_key.update", changes)
            return self._info(s, row, owner)

    def get(self, scope: Scope, prefix: str) -> KeyInfo:
        with self.store.session() as s:
            row, owner = self._find(s, scope, prefix)
            return self._info(s, row, owner)

    def list(self, scope: Scope = PLATFORM, tenant: str | None = None) -> list[KeyInfo]:
        """The keys this scope sees (a channel: its tenants' keys), oldest first."""
        with self.store.session() as s:
            q = select(ApiKey, Tenant).join(Tenant, Tenant.id == ApiKey.tenant_id)
            if scope.channel_id is not None:
                q = q.where(Tenant.channel_id == scope.channel_id)
            if tenant is not None:
                q = q.where(Tenant.id == find_tenant(s, scope, tenant).id)
            return [self._info(s, k, t) for k, t in s.execute(q.order_by(ApiKey.id))]

    # -- helpers ---------------------------------------------------------------------------
    def _new_key(
        self,
        s: Session,
        owner: Tenant,
        name: str,
        expires_at: datetime | None,
        models: Sequence[str],
        rpm_limit: int | None,
        tpm_limit: int | None,
        *,
        rotated_from_id: int | None,
    ) -> tuple[str, ApiKey]:
        key, prefix, secret = new_key(KEY_PREFIX)
        row = ApiKey(
            tenant_id=owner.id,
            prefix=prefix,
            secret_hash=self._hash(secret),
            name=name,
            created_at=self.clock(),
            expires_at=expires_at,
            allowed_models=list(models),
            rpm_limit=rpm_limit,
            tpm_limit=tpm_limit,
            rotated_from_id=rotated_from_id,
        )
        s.add(row)
        s.flush()
        return key, row

    def _find(self, s: Session, scope: Scope, prefix: str) -> tuple[ApiKey, Tenant]:
        """The key and its tenant, if this scope may see them; a key of another channel's
        tenant is "not found", like a prefix that does not exist."""
        found = s.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.prefix == prefix)
        ).first()
        if found is None or (
            scope.channel_id is not None and found[1].channel_id != scope.channel_id
        ):
            raise NotFound(f"no key with prefix {prefix!r}; see `mint keys list`")
        return found[0], found[1]

    def _change(
        self,
        s: Session,
        scope: Scope,
        row: ApiKey,
        owner: Tenant,
        action: str,
        changes: dict[str, Any],
    ) -> None:
        change_audited(
            s,
            row,
            changes,
            actor=scope.actor,
            action=action,
            target=f"api_key:{row.prefix}",
            at=self.clock(),
            channel_id=owner.channel_id,
        )

    def _info(self, s: Session, row: ApiKey, owner: Tenant) -> KeyInfo:
        rotated_from = (
            s.scalar(select(ApiKey.prefix).where(ApiKey.id == row.rotated_from_id))
            if row.rotated_from_id is not None
            else None
        )
        return KeyInfo(
            row.prefix,
            owner.name,
            row.name,
            utc(row.created_at),
            utc(row.revoked_at),
            expires_at=utc(row.expires_at),
            allowed_models=tuple(row.allowed_models or ()),
            rpm_limit=row.rpm_limit,
            tpm_limit=row.tpm_limit,
            rotated_from=rotated_from,
            channel_id=owner.channel_id,
            status=_status(row, self.clock()),
            id=row.id,
        )
