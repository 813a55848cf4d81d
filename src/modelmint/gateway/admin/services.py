"""The commerce services the admin routes call, built once per app by
``gateway.wiring.build_gateway`` from the gateway's own store, key pepper and clock (so an
admin change and an API request see the same data)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from fastapi import Request

from modelmint.catalog import Catalog
from modelmint.commerce import AuditLog
from modelmint.commerce.accounts import AdminKeys, ApiKeys, Channels, Tenants
from modelmint.commerce.admission import Budgets
from modelmint.commerce.ledger import CreditNotes, Invoices, UsageLedger, Wallets
from modelmint.commerce.pricing import PriceBooks
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Store


@dataclass
class AdminServices:
    store: Store
    pepper: bytes
    artifacts_dir: Path  # invoices are written under artifacts/invoices/YYYY-MM/
    clock: Clock = utc_now
    # USD per hour of the serving hardware as MINT_HARDWARE_COST_PER_HOUR gives it (text,
    # parsed exactly when a report needs it); None: not configured
    hardware_cost_per_hour: str | None = None

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
    """The app's admin services (``app.state.admin_services``, set by ``create_app``)."""
    services: AdminServices = request.app.state.admin_services
    return services
