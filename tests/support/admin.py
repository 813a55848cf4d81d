"""A small commerce world built through the admin API itself: a platform admin key, two
channels (``north`` and ``south``) with their own admin keys, and per channel a prepaid
tenant with an API key, a retail price book, a budget, a wallet top-up, a credit note, one
billed request in January 2025 and that month's invoices. Tests then check what each
admin key can see and change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import select

from modelmint.catalog import Catalog
from modelmint.commerce import Scope
from modelmint.commerce.accounts import AdminKeys
from modelmint.commerce.admission.budgets import raise_alerts
from modelmint.commerce.ledger import UsageLedger, UsageRecord
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.store import ApiKey, Store, Tenant, UsageEvent
from support.gateway import gateway_settings

PEPPER = b"admin-test-pepper"
PERIOD = "2025-01"
USED_AT = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def admin_app(
    store: Store, artifacts: Path, models: dict[str, ServedModel] | None = None
) -> FastAPI:
    """The gateway over ``store`` whose artifacts dir is ``artifacts``: a home's
    ``artifacts`` folder, as the settings place it."""
    assert artifacts.name == "artifacts", f"{artifacts}: not HOME/artifacts"
    settings = gateway_settings(artifacts.parent, PEPPER)
    return create_app(build_gateway(settings, models=models or {}, store=store))


def platform_key(store: Store) -> str:
    return AdminKeys(store, PEPPER).create(Scope(actor="test:setup"), "root").key


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class ChannelSide:
    """One channel's records, as its own admin key created them."""

    name: str
    admin_key: str
    admin_prefix: str
    tenant: str
    key_prefix: str
    api_key: str
    book: str
    budget_id: int
    invoice: str = ""  # the tenant's January invoice number
    wholesale_invoice: str = ""  # the channel's

    @property
    def headers(self) -> dict[str, str]:
        return bearer(self.admin_key)

    @property
    def actor(self) -> str:
        return f"channel:{self.name}:{self.admin_prefix}"


@dataclass
class AdminWorld:
    store: Store
    client: TestClient
    platform: dict[str, str]  # headers
    platform_prefix: str
    sides: dict[str, ChannelSide] = field(default_factory=dict)

    @property
    def north(self) -> ChannelSide:
        return self.sides["north"]

    @property
    def south(self) -> ChannelSide:
        return self.sides["south"]

    def ok(self, method: str, path: str, headers: dict[str, str], **kw: Any) -> Any:
        r = self.client.request(method, path, headers=headers, **kw)
        assert r.status_code < 300, (method, path, r.status_code, r.text)
        return r.json() if r.content and "json" in r.headers.get("content-type", "") else r

    def audit_count(self) -> int:
        return len(self.ok("GET", "/admin/v1/audit?limit=1000", self.platform)["data"])


def _side(world: AdminWorld, name: str, model_version_id: int) -> ChannelSide:
    p = world.platform
    world.ok("POST", "/admin/v1/channels", p, json={"name": name})
    made = world.ok("POST", "/admin/v1/admin-keys", p, json={"channel": name, "name": name})
    h = bearer(made["key"])
    tenant, book = f"{name}-acme", f"{name}-plan"
    world.ok("POST", "/admin/v1/price-books", h, json={"name": book})
    world.ok(
        "PUT",
        f"/admin/v1/price-books/{book}/prices",
        h,
        json={
            "model": "m",
            "input_micros_per_mtok": 1_000_000,
            "output_micros_per_mtok": 2_000_000,
        },
    )
    world.ok(
        "POST", "/admin/v1/tenants", h, json={"name": tenant, "billing": "prepaid", "plan": book}
    )
    key = world.ok("POST", "/admin/v1/keys", h, json={"tenant": tenant, "name": "main"})
    budget = world.ok(
        "PUT", "/admin/v1/budgets", h, json={"tenant": tenant, "amount_micros": 5_000_000}
    )
    world.ok(
        "POST", f"/admin/v1/tenants/{tenant}/wallet/topups", h, json={"amount_micros": 10_000_000}
    )
    _billed_request(world.store, key["prefix"], model_version_id)
    # after the request: a credit note takes off at most what the month billed (200)
    world.ok(
        "POST",
        "/admin/v1/credit-notes",
        h,
        json={"period": PERIOD, "amount_micros": 100, "reason": "late reply", "tenant": tenant},
    )
    # a soft budget the request passed, so the tenant has alerts (raised as settlement does)
    world.ok(
        "PUT",
        "/admin/v1/budgets",
        h,
        json={"tenant": tenant, "amount_micros": 100, "period": "total", "hard": False},
    )
    with world.store.session() as s:
        t = s.scalars(select(Tenant).where(Tenant.name == tenant)).one()
        raise_alerts(
            s,
            t.id,
            s.scalars(select(ApiKey.id).where(ApiKey.prefix == key["prefix"])).one(),
            USED_AT,
        )
    return ChannelSide(
        name, made["key"], made["prefix"], tenant, key["prefix"], key["key"], book, budget["id"]
    )


def _billed_request(store: Store, key_prefix: str, model_version_id: int) -> None:
    with store.session() as s:
        key, tenant = s.execute(
            select(ApiKey, Tenant)
            .join(Tenant, Tenant.id == ApiKey.tenant_id)
            .where(ApiKey.prefix == key_prefix)
        ).one()
        n = s.scalar(select(UsageEvent.id).order_by(UsageEvent.id.desc()).limit(1)) or 0
        record = UsageRecord(
            request_id=f"req-{key_prefix}-{n + 1}",
            tenant_id=tenant.id,
            api_key_id=key.id,
            model_version_id=model_version_id,
            endpoint="chat.completions",
            prompt_tokens=100,
            completion_tokens=50,
            latency_ms=10,
            status="completed",
            channel_id=tenant.channel_id,
            input_price_micros=1_000_000,
            output_price_micros=2_000_000,
            retail_micros=200,
            wholesale_micros=120 if tenant.channel_id else 0,
        )
    UsageLedger(store, clock=lambda: USED_AT).record(record)


def build_world(store: Store, artifacts: Path) -> AdminWorld:
    catalog = Catalog(store, artifacts)
    mv = catalog.add_model_version(
        "m", catalog.staging_dir("m"), run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    client = TestClient(admin_app(store, artifacts))
    key = platform_key(store)
    prefix = key.split("-")[1]
    world = AdminWorld(store, client, bearer(key), prefix)
    for name in ("north", "south"):
        world.sides[name] = _side(world, name, mv.id)
    invoices = world.ok(
        "POST", "/admin/v1/invoices/generate", world.platform, json={"period": PERIOD}
    )
    by_bill_to = {i["bill_to"]: i["number"] for i in invoices["data"]}
    for side in world.sides.values():
        side.invoice = by_bill_to[side.tenant]
        side.wholesale_invoice = by_bill_to[side.name]
    return world
