"""The objects a command needs, built explicitly from settings (no hidden globals)."""

from __future__ import annotations

from dataclasses import dataclass

from modelmint.catalog import Catalog
from modelmint.commerce import ApiKeys, Tenants, UsageLedger
from modelmint.config import Settings
from modelmint.store import Store


@dataclass
class Runtime:
    settings: Settings
    store: Store
    catalog: Catalog
    tenants: Tenants
    keys: ApiKeys
    ledger: UsageLedger

    @classmethod
    def open(cls, settings: Settings | None = None) -> Runtime:
        settings = settings or Settings()
        settings.ensure_dirs()
        store = Store.open(settings.resolved_database_url())
        return cls(
            settings=settings,
            store=store,
            catalog=Catalog(store, settings.artifacts_dir),
            tenants=Tenants(store),
            keys=ApiKeys(store, settings.resolved_key_pepper()),
            ledger=UsageLedger(store),
        )
