"""The objects a command needs, built explicitly from settings (no hidden globals)."""

from __future__ import annotations

import getpass
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # imported where a command opens the runtime, not with every command
    from modelmint.catalog import Catalog
    from modelmint.commerce import AuditLog, Scope
    from modelmint.commerce.accounts import AdminKeys, ApiKeys, Channels, Tenants
    from modelmint.commerce.ledger import UsageLedger
    from modelmint.commerce.pricing import PriceBooks
    from modelmint.config import Settings
    from modelmint.store import Store


def cli_actor() -> str:
    """Who the audit log says made a change from the command line: ``cli:<os user>``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no user name (e.g. a container without passwd entry)
        user = "unknown"
    return f"cli:{user}"


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalog: Catalog
    tenants: Tenants
    keys: ApiKeys
    ledger: UsageLedger
    channels: Channels
    admin_keys: AdminKeys
    prices: PriceBooks
    audit: AuditLog

    @classmethod
    def open(cls, settings: Settings | None = None) -> Runtime:
        from modelmint.catalog import Catalog
        from modelmint.commerce import AuditLog
        from modelmint.commerce.accounts import AdminKeys, ApiKeys, Channels, Tenants
        from modelmint.commerce.ledger import UsageLedger
        from modelmint.commerce.pricing import PriceBooks
        from modelmint.config import Settings
        from modelmint.store import Store

        settings = settings or Settings()
        settings.ensure_dirs()
        store = Store.open(settings.resolved_database_url())
        pepper = settings.resolved_key_pepper()
        return cls(
            settings=settings,
            store=store,
            catalog=Catalog(store, settings.artifacts_dir),
            tenants=Tenants(store),
            keys=ApiKeys(store, pepper),
            ledger=UsageLedger(store),
            channels=Channels(store),
            admin_keys=AdminKeys(store, pepper),
            prices=PriceBooks(store),
            audit=AuditLog(store),
        )

    def scope(self, channel: str | None = None) -> Scope:
        """The CLI acts as the platform; ``channel`` acts in that channel's scope (its
        books, tenants and admin keys). Raises NotFound for an unknown channel."""
        from modelmint.commerce import Scope

        actor = cli_actor()
        return Scope(actor=actor) if channel is None else self.channels.scope_for(channel, actor)
