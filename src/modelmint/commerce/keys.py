"""API keys: ``mm-<prefix>-<secret>``. The prefix finds the row; the secret is stored only
as an HMAC-SHA256 under a server pepper and checked in constant time. The full key exists
only in the return value of ``create``."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import select

from modelmint.commerce.errors import CommerceError
from modelmint.commerce.tenants import Tenants
from modelmint.config.clock import Clock, utc_now
from modelmint.store import ApiKey, Store, Tenant

KEY_PREFIX = "mm-"
PREFIX_LEN = 12


@dataclass(frozen=True)
class CreatedKey:
    key: str  # shown once, never stored
    prefix: str
    tenant: str


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


def _aware(at: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they were stored as UTC."""
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def split_key(key: str) -> tuple[str, str] | None:
    if not key.startswith(KEY_PREFIX) or len(key) < len(KEY_PREFIX) + PREFIX_LEN + 2:
        return None
    body = key[len(KEY_PREFIX) :]
    prefix, sep, secret = body[:PREFIX_LEN], body[PREFIX_LEN], body[PREFIX_LEN + 1 :]
    return (prefix, secret) if sep == "-" and secret else None


class ApiKeys:
    def __init__(self, store: Store, pepper: bytes, clock: Clock = utc_now) -> None:
        self.store = store
        self.pepper = pepper
        self.clock = clock

    def _hash(self, secret: str) -> str:
        return hmac.new(self.pepper, secret.encode(), hashlib.sha256).hexdigest()

    def create(self, tenant: str, name: str = "") -> CreatedKey:
        owner = Tenants(self.store, self.clock).get(tenant)
        prefix, secret = secrets.token_hex(PREFIX_LEN // 2), secrets.token_urlsafe(32)
        with self.store.session() as s:
            s.add(
                ApiKey(
                    tenant_id=owner.id,
                    prefix=prefix,
                    secret_hash=self._hash(secret),
                    name=name,
                    created_at=self.clock(),
                )
            )
        return CreatedKey(f"{KEY_PREFIX}{prefix}-{secret}", prefix, owner.name)

    def authenticate(self, key: str) -> KeyPrincipal | None:
        parts = split_key(key)
        if parts is None:
            return None
        prefix, secret = parts
        with self.store.session() as s:
            row = s.execute(
                select(ApiKey, Tenant)
                .join(Tenant, Tenant.id == ApiKey.tenant_id)
                .where(ApiKey.prefix == prefix)
            ).first()
        if row is None:
            self._hash(secret)  # same work whether or not the prefix exists
            return None
        api_key, tenant = row
        if not hmac.compare_digest(api_key.secret_hash, self._hash(secret)):
            return None
        if api_key.revoked_at is not None or tenant.suspended_at is not None:
            return None
        if api_key.expires_at is not None and _aware(api_key.expires_at) <= self.clock():
            return None
        return KeyPrincipal(
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
        )

    def revoke(self, prefix: str) -> None:
        with self.store.session() as s:
            row = s.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
            if row is None:
                raise CommerceError(f"no key with prefix {prefix!r}; see `mint keys list`")
            if row.revoked_at is None:
                row.revoked_at = self.clock()

    def list(self, tenant: str | None = None) -> list[KeyInfo]:
        with self.store.session() as s:
            q = select(ApiKey, Tenant.name).join(Tenant, Tenant.id == ApiKey.tenant_id)
            if tenant:
                q = q.where(Tenant.name == tenant)
            return [
                KeyInfo(k.prefix, t, k.name, k.created_at, k.revoked_at)
                for k, t in s.execute(q.order_by(ApiKey.id))
            ]
