"""Tenants: the customers whose keys call the API and whose usage is billed."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from modelmint.catalog.catalog import NAME_RE
from modelmint.commerce.errors import CommerceError
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Store, Tenant


@dataclass(frozen=True)
class TenantRef:
    id: int
    name: str
    created_at: datetime


class Tenants:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def create(self, name: str) -> TenantRef:
        if not NAME_RE.match(name):
            raise CommerceError(
                f"invalid tenant name {name!r}: use letters, digits, '.', '_' or '-'"
            )
        with self.store.session() as s:
            if s.scalar(select(Tenant).where(Tenant.name == name)) is not None:
                raise CommerceError(f"tenant {name!r} already exists")
            row = Tenant(name=name, created_at=self.clock())
            s.add(row)
            s.flush()
            return TenantRef(row.id, row.name, row.created_at)

    def ensure(self, name: str) -> TenantRef:
        """The tenant of that name, created if it does not exist yet."""
        try:
            return self.get(name)
        except CommerceError:
            return self.create(name)

    def get(self, name: str) -> TenantRef:
        with self.store.session() as s:
            row = s.scalar(select(Tenant).where(Tenant.name == name))
            if row is None:
                raise CommerceError(
                    f"no tenant {name!r}; create it with `mint tenants create {name}`"
                )
            return TenantRef(row.id, row.name, row.created_at)

    def list(self) -> list[TenantRef]:
        with self.store.session() as s:
            return [
                TenantRef(r.id, r.name, r.created_at)
                for r in s.scalars(select(Tenant).order_by(Tenant.name))
            ]
