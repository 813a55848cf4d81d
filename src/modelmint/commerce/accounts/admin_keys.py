"""Admin keys: ``mma-<prefix>-<secret>`` for ``/admin/v1`` and the console. A platform key
(no channel) manages everything; a channel's key manages only that channel's tenants, keys
and prices. Made, stored and checked as API keys are (``credentials``, under the same
pepper) and shown once; the distinct ``mma-`` start keeps an admin key from being mistaken
for an API key (an API key's ``mm-`` check fails on it, and the reverse)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from modelmint.commerce.accounts.credentials import (
    check_expiry,
    hash_secret,
    new_key,
    same_secret,
    split_key,
)
from modelmint.commerce.audit import change_audited, snapshot, utc
from modelmint.commerce.errors import NotFound
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.store import AdminKey, Channel, Store, write_audit

ADMIN_KEY_PREFIX = "mma-"


@dataclass(frozen=True)
class CreatedAdminKey:
    key: str  # shown once, never stored
    prefix: str
    channel: str | None  # None: a platform key


@dataclass(frozen=True)
class AdminPrincipal:
    """Who is calling the admin API, and the scope everything it does runs in."""

    key_id: int
    prefix: str
    channel_id: int | None
    channel: str | None
    scope: Scope


@dataclass(frozen=True)
class AdminKeyInfo:
    prefix: str
    name: str
    channel: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


def actor_for(prefix: str, channel: str | None) -> str:
    return f"admin:{prefix}" if channel is None else f"channel:{channel}:{prefix}"


class AdminKeys:
    def __init__(self, store: Store, pepper: bytes, clock: Clock = utc_now) -> None:
        self.store = store
        self.pepper = pepper
        self.clock = clock

    def _hash(self, secret: str) -> str:
        return hash_secret(self.pepper, secret)

    def create(
        self, scope: Scope, name: str = "", *, expires_at: datetime | None = None
    ) -> CreatedAdminKey:
        """A key with the scope's powers: the platform's, or (for a channel scope) that
        channel's. The returned ``key`` is the only time it is shown."""
        now = self.clock()
        check_expiry(expires_at, now)
        key, prefix, secret = new_key(ADMIN_KEY_PREFIX)
        with self.store.session() as s:
            channel = s.get(Channel, scope.channel_id) if scope.channel_id is not None else None
            if scope.channel_id is not None and channel is None:
                raise NotFound(f"no channel with id {scope.channel_id}")
            row = AdminKey(
                prefix=prefix,
                secret_hash=self._hash(secret),
                channel_id=scope.channel_id,
                name=name,
                created_at=now,
                expires_at=expires_at,
            )
            s.add(row)
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="admin_key.create",
                target=f"admin_key:{prefix}",
                before=None,
                after=snapshot(row),
                at=now,
                channel_id=scope.channel_id,
            )
            return CreatedAdminKey(key, prefix, channel.name if channel is not None else None)

    def authenticate(self, key: str) -> AdminPrincipal | None:
        """The caller of an admin request, or None for a wrong, revoked or expired key.
        One query, constant-time comparison, no cache (a revoke holds on the next request)."""
        parts = split_key(key, ADMIN_KEY_PREFIX)
        if parts is None:
            return None
        prefix, secret = parts
        found = self._by_prefix(prefix)
        if found is None:
            self._hash(secret)  # same work whether or not the prefix exists
            return None
        if not same_secret(self._hash(secret), found[0].secret_hash):
            return None
        return self._principal(*found)

    def principal_for(self, prefix: str) -> AdminPrincipal | None:
        """The caller of a signed console session, which names its admin key by prefix
        (the key itself is never stored): None if the key is unknown, revoked or expired.
        Looked up on every request, so a revoke ends the session at the next one."""
        found = self._by_prefix(prefix)
        return None if found is None else self._principal(*found)

    def _by_prefix(self, prefix: str) -> tuple[AdminKey, str | None] | None:
        with self.store.session() as s:
            found = s.execute(
                select(AdminKey, Channel.name)
                .outerjoin(Channel, Channel.id == AdminKey.channel_id)
                .where(AdminKey.prefix == prefix)
            ).first()
        return None if found is None else (found[0], found[1])

    def _principal(self, row: AdminKey, channel: str | None) -> AdminPrincipal | None:
        if row.revoked_at is not None:
            return None
        if row.expires_at is not None and utc(row.expires_at) <= self.clock():
            return None
        scope = Scope(channel_id=row.channel_id, actor=actor_for(row.prefix, channel))
        return AdminPrincipal(row.id, row.prefix, row.channel_id, channel, scope)

    def revoke(self, scope: Scope, prefix: str) -> AdminKeyInfo:
        """The platform revokes any admin key, a channel only its own. Twice is a no-op."""
        with self.store.session() as s:
            row = s.scalar(select(AdminKey).where(AdminKey.prefix == prefix))
            if row is None or (scope.channel_id is not None and row.channel_id != scope.channel_id):
                raise NotFound(f"no admin key with prefix {prefix!r}; see `mint admin-keys list`")
            if row.revoked_at is None:
                change_audited(
                    s,
                    row,
                    {"revoked_at": self.clock()},
                    actor=scope.actor,
                    action="admin_key.revoke",
                    target=f"admin_key:{prefix}",
                    at=self.clock(),
                    channel_id=row.channel_id,
                )
            channel = s.get(Channel, row.channel_id) if row.channel_id is not None else None
            return self._info(row, channel.name if channel is not None else None)

    def list(self, scope: Scope) -> list[AdminKeyInfo]:
        with self.store.session() as s:
            q = (
                select(AdminKey, Channel.name)
                .outerjoin(Channel, Channel.id == AdminKey.channel_id)
                .order_by(AdminKey.id)
            )
            if scope.channel_id is not None:
                q = q.where(AdminKey.channel_id == scope.channel_id)
            return [self._info(row, channel) for row, channel in s.execute(q)]

    @staticmethod
    def _info(row: AdminKey, channel: str | None) -> AdminKeyInfo:
        return AdminKeyInfo(
            row.prefix,
            row.name,
            channel,
            utc(row.created_at),
            utc(row.expires_at),
            utc(row.revoked_at),
        )
