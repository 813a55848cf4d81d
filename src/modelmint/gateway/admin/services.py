"""The commerce services the admin routes call, built once per app from the gateway's own
store, key pepper and clock (so an admin change and an API request see the same data)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fastapi import Request

from modelmint.catalog import Catalog
from modelmint.commerce.admin_keys import AdminKeys
from modelmint.commerce.audit import AuditLog
from modelmint.commerce.budgets import Budgets
from modelmint.commerce.channels import Channels
from modelmint.commerce.credit_notes import CreditNotes
from modelmint.commerce.invoices import Invoices
from modelmint.commerce.keys import ApiKeys
from modelmint.commerce.prices import PriceBooks
from modelmint.commerce.tenants import Tenants
from modelmint.commerce.usage import UsageLedger
from modelmint.commerce.wallets import Wallets
from modelmint.config import get_settings
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Store


@dataclass
class AdminServices:
    store: Store
    pepper: bytes
    artifacts_dir: Path  # invoices are written under artifacts/invoices/YYYY-MM/
    clock: Clock = utc_now

    @cached_property
    def admin_keys(self) -> AdminKeys:
        return AdminKeys(self.store, self.pepper, self.clock)

    @cached_property
    def keys(self) -> ApiKeys:
        return ApiKeys(self.store, self.pepper, self.clock)

    @cached_property
    def channels(self) -> Channels:
        return Channels(self.store, self.clock)

    @cached_property
    def tenants(self) -> Tenants:
        return Tenants(self.store, self.clock)

    @cached_property
    def prices(self) -> PriceBooks:
        return PriceBooks(self.store, self.clock)

    @cached_property
    def wallets(self) -> Wallets:
        return Wallets(self.store, self.clock)

    @cached_property
    def budgets(self) -> Budgets:
        return Budgets(self.store, self.clock)

    @cached_property
    def usage(self) -> UsageLedger:
        return UsageLedger(self.store, self.clock)

    @cached_property
    def invoices(self) -> Invoices:
        return Invoices(self.store, self.artifacts_dir, self.clock)

    @cached_property
    def credit_notes(self) -> CreditNotes:
        return CreditNotes(self.store, self.clock)

    @cached_property
    def audit(self) -> AuditLog:
        return AuditLog(self.store)

    @cached_property
    def catalog(self) -> Catalog:
        # datasets, runs, model versions and evaluations (the console's models and data pages)
        return Catalog(self.store, self.artifacts_dir, self.clock)


def get_services(request: Request) -> AdminServices:
    """``app.state.admin_services`` if the app was given one (tests, ``mint serve``);
    otherwise built from the gateway context's key service and the settings."""
    state = request.app.state
    services: AdminServices | None = getattr(state, "admin_services", None)
    if services is None:
        keys: ApiKeys = state.context.keys
        services = AdminServices(keys.store, keys.pepper, get_settings().artifacts_dir, keys.clock)
        state.admin_services = services
    return services
