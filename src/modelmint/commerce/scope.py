"""What an admin caller may see: the platform sees everything, a channel only its own
tenants. Outside its scope a record is reported as not found, never as forbidden, so a
channel cannot learn which names or ids other channels have."""

from __future__ import annotations

from dataclasses import dataclass

from modelmint.commerce.errors import NotFound


@dataclass(frozen=True)
class Scope:
    channel_id: int | None = None  # None: the platform
    actor: str = "cli"

    @property
    def is_platform(self) -> bool:
        return self.channel_id is None

    def check_tenant(self, tenant_channel_id: int | None, name: str) -> None:
        """Raises NotFound unless this scope may see a tenant owned by that channel."""
        if self.channel_id is not None and tenant_channel_id != self.channel_id:
            raise NotFound(f"no tenant {name!r}")

    def require_platform(self, what: str) -> None:
        if self.channel_id is not None:
            raise NotFound(f"no {what}")


PLATFORM = Scope()
