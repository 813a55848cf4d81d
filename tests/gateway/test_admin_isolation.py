"""Every admin endpoint that reads or changes one channel's records: another channel's key
gets 404 and changes nothing; the owning channel's key (unless the operation is the
platform's) and the platform key succeed, and the audit log names who did it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from modelmint.store import Store
from support.admin import PERIOD, AdminWorld, ChannelSide, build_world


@dataclass(frozen=True)
class Op:
    method: str
    path: Callable[[ChannelSide], str]
    body: Callable[[ChannelSide], Any] | None = None
    platform_only: bool = False  # the owning channel is told "not found" as well
    audited: str | None = None  # the audit action a successful call writes


T = "/admin/v1/tenants"
K = "/admin/v1/keys"
OPS: dict[str, Op] = {
    "get channel": Op("GET", lambda c: f"/admin/v1/channels/{c.name}"),
    "set wholesale book": Op(
        "PUT",
        lambda c: f"/admin/v1/channels/{c.name}/wholesale-book",
        lambda c: {"book": None},
        platform_only=True,
        audited="channel.set_wholesale_book",
    ),
    "create tenant in channel": Op(
        "POST",
        lambda c: T,
        lambda c: {"name": "new-one", "channel": c.name},
        audited="tenant.create",
    ),
    "get tenant": Op("GET", lambda c: f"{T}/{c.tenant}"),
    "list tenants of channel": Op("GET", lambda c: f"{T}?channel={c.name}"),
    "update tenant": Op(
        "PATCH", lambda c: f"{T}/{c.tenant}", lambda c: {"rpm_limit": 7}, audited="tenant.update"
    ),
    "suspend tenant": Op("POST", lambda c: f"{T}/{c.tenant}/suspend", audited="tenant.suspend"),
    "resume tenant": Op("POST", lambda c: f"{T}/{c.tenant}/resume"),
    "get wallet": Op("GET", lambda c: f"{T}/{c.tenant}/wallet"),
    "top up": Op(
        "POST",
        lambda c: f"{T}/{c.tenant}/wallet/topups",
        lambda c: {"amount_micros": 5},
        audited="wallet.topup",
    ),
    "credit": Op(
        "POST",
        lambda c: f"{T}/{c.tenant}/wallet/credits",
        lambda c: {"amount_micros": 5},
        audited="wallet.credit",
    ),
    "adjust": Op(
        "POST",
        lambda c: f"{T}/{c.tenant}/wallet/adjustments",
        lambda c: {"amount_micros": -5, "note": "refund"},
        audited="wallet.adjustment",
    ),
    "create key": Op("POST", lambda c: K, lambda c: {"tenant": c.tenant}, audited="api_key.create"),
    "list keys of tenant": Op("GET", lambda c: f"{K}?tenant={c.tenant}"),
    "get key": Op("GET", lambda c: f"{K}/{c.key_prefix}"),
    "update key": Op(
        "PATCH",
        lambda c: f"{K}/{c.key_prefix}",
        lambda c: {"tpm_limit": 9},
        audited="api_key.update",
    ),
    "rotate key": Op(
        "POST", lambda c: f"{K}/{c.key_prefix}/rotate", lambda c: {}, audited="api_key.rotate"
    ),
    "revoke key": Op("POST", lambda c: f"{K}/{c.key_prefix}/revoke", audited="api_key.revoke"),
    "list prices": Op("GET", lambda c: f"/admin/v1/price-books/{c.book}/prices?channel={c.name}"),
    "list books of channel": Op("GET", lambda c: f"/admin/v1/price-books?channel={c.name}"),
    "create book in channel": Op(
        "POST",
        lambda c: f"/admin/v1/price-books?channel={c.name}",
        lambda c: {"name": "gold"},
        audited="price_book.create",
    ),
    "set price": Op(
        "PUT",
        lambda c: f"/admin/v1/price-books/{c.book}/prices?channel={c.name}",
        lambda c: {"model": "m:1", "input_micros_per_mtok": 1, "output_micros_per_mtok": 1},
        audited="price.set",
    ),
    "set budget": Op(
        "PUT",
        lambda c: "/admin/v1/budgets",
        lambda c: {"tenant": c.tenant, "amount_micros": 1, "period": "day"},
        audited="budget.set",
    ),
    "set key budget": Op(
        "PUT",
        lambda c: "/admin/v1/budgets",
        lambda c: {"tenant": c.tenant, "key_prefix": c.key_prefix, "amount_micros": 1},
        audited="budget.set",
    ),
    "list budgets of tenant": Op("GET", lambda c: f"/admin/v1/budgets?tenant={c.tenant}"),
    "delete budget": Op(
        "DELETE", lambda c: f"/admin/v1/budgets/{c.budget_id}", audited="budget.delete"
    ),
    "alerts of tenant": Op("GET", lambda c: f"/admin/v1/budget-alerts?tenant={c.tenant}"),
    "usage of tenant": Op("GET", lambda c: f"/admin/v1/usage?tenant={c.tenant}&period={PERIOD}"),
    "get invoice": Op("GET", lambda c: f"/admin/v1/invoices/{c.invoice}"),
    "invoice csv": Op("GET", lambda c: f"/admin/v1/invoices/{c.invoice}/csv"),
    "invoice html": Op("GET", lambda c: f"/admin/v1/invoices/{c.invoice}/html"),
    "get wholesale invoice": Op("GET", lambda c: f"/admin/v1/invoices/{c.wholesale_invoice}"),
    "credit note for tenant": Op(
        "POST",
        lambda c: "/admin/v1/credit-notes",
        lambda c: {"period": PERIOD, "amount_micros": 3, "reason": "x", "tenant": c.tenant},
        audited="credit_note.issue",
    ),
    "credit note for channel": Op(
        "POST",
        lambda c: "/admin/v1/credit-notes",
        lambda c: {"period": PERIOD, "amount_micros": 3, "reason": "x", "channel": c.name},
        platform_only=True,
        audited="credit_note.issue",
    ),
    "admin key for channel": Op(
        "POST",
        lambda c: "/admin/v1/admin-keys",
        lambda c: {"channel": c.name},
        platform_only=True,
        audited="admin_key.create",
    ),
    "revoke channel admin key": Op(
        "POST",
        lambda c: f"/admin/v1/admin-keys/{c.admin_prefix}/revoke",
        platform_only=True,
        audited="admin_key.revoke",
    ),
}


@pytest.fixture
def world(store: Store, tmp_path: Path) -> AdminWorld:
    return build_world(store, tmp_path / "artifacts")


@pytest.fixture(scope="module")
def shared_world(module_store: Store, tmp_path_factory: pytest.TempPathFactory) -> AdminWorld:
    """One world per backend for the tests that only read: none of them changes it."""
    return build_world(module_store, tmp_path_factory.mktemp("admin") / "artifacts")


READS = [name for name, op in OPS.items() if op.method == "GET"]
CHANGES = [name for name in OPS if name not in READS]


def _call(world: AdminWorld, op: Op, headers: dict[str, str]) -> Any:
    north = world.north
    body = op.body(north) if op.body else None
    return world.client.request(op.method, op.path(north), headers=headers, json=body)


def _refused_to_another_channel(world: AdminWorld, op: Op) -> None:
    before = world.audit_count()
    r = _call(world, op, world.south.headers)
    assert r.status_code == 404, r.text
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    assert world.audit_count() == before
    # what north's records looked like is unchanged for north
    tenant = world.ok("GET", f"/admin/v1/tenants/{world.north.tenant}", world.north.headers)
    assert tenant["rpm_limit"] is None and not tenant["suspended"]
    key = world.ok("GET", f"/admin/v1/keys/{world.north.key_prefix}", world.north.headers)
    assert key["status"] == "active" and key["tpm_limit"] is None


@pytest.mark.parametrize("who", ["owner", "platform"])
@pytest.mark.parametrize("name", READS)
def test_only_the_owner_and_the_platform_may_read(
    shared_world: AdminWorld, name: str, who: str
) -> None:
    _only_the_owner_and_the_platform_may(shared_world, name, who)


@pytest.mark.parametrize("who", ["owner", "platform"])
@pytest.mark.parametrize("name", CHANGES)
def test_only_the_owner_and_the_platform_may_change(world: AdminWorld, name: str, who: str) -> None:
    _only_the_owner_and_the_platform_may(world, name, who)


def _only_the_owner_and_the_platform_may(world: AdminWorld, name: str, who: str) -> None:
    """South's key is told "not found" and changes nothing; then north's key (unless the
    operation is the platform's) and the platform key succeed, and are audited."""
    op = OPS[name]
    if who == "owner":
        _refused_to_another_channel(world, op)
    headers = world.north.headers if who == "owner" else world.platform
    r = _call(world, op, headers)
    if who == "owner" and op.platform_only:
        assert r.status_code == 404, r.text
        return
    assert r.status_code < 300, r.text
    if op.audited:
        newest = world.ok("GET", "/admin/v1/audit?limit=1", world.platform)["data"][0]
        assert newest["action"] == op.audited
        expected = world.north.actor if who == "owner" else f"admin:{world.platform_prefix}"
        assert newest["actor"] == expected
        if name == "revoke channel admin key":  # from the next request on
            assert (
                world.client.get("/admin/v1/audit", headers=world.north.headers).status_code == 401
            )
            return
        # the channel sees the change in its own audit log (its records changed)
        mine = world.ok("GET", "/admin/v1/audit?limit=1", world.north.headers)["data"]
        assert mine and mine[0]["id"] == newest["id"]


LISTS = [
    "/admin/v1/channels",
    "/admin/v1/tenants",
    "/admin/v1/keys",
    "/admin/v1/price-books",
    "/admin/v1/budgets",
    "/admin/v1/budget-alerts",
    f"/admin/v1/usage?period={PERIOD}",
    "/admin/v1/invoices",
    "/admin/v1/credit-notes",
    "/admin/v1/audit",
]


@pytest.mark.parametrize("path", LISTS)
def test_lists_show_a_channel_only_its_own(shared_world: AdminWorld, path: str) -> None:
    world = shared_world
    north, south = world.north, world.south
    theirs = {north.name, north.tenant, north.key_prefix, north.book, north.invoice}
    theirs |= {north.wholesale_invoice, north.actor, f"tenant:{north.tenant}"}
    mine = world.ok("GET", path, south.headers)["data"]
    assert mine, f"{path}: south sees nothing of its own"
    text = str(mine)
    assert not [t for t in theirs if t in text], f"{path} leaks north's records to south"
    everything = str(world.ok("GET", path, world.platform)["data"])
    assert south.tenant in everything or south.name in everything or south.book in everything
    if path not in {"/admin/v1/price-books"}:  # platform books list only its own books
        assert north.tenant in everything or north.name in everything


def test_platform_only_lists_are_hidden_from_channels(shared_world: AdminWorld) -> None:
    world = shared_world
    for path in ("/admin/v1/admin-keys", "/admin/v1/economics?hardware_cost_per_hour_micros=1"):
        assert world.client.get(path, headers=world.south.headers).status_code == 404
        assert world.client.get(path, headers=world.platform).status_code == 200
    assert (
        world.client.post(
            "/admin/v1/channels", headers=world.south.headers, json={"name": "east"}
        ).status_code
        == 404
    )


def test_generating_invoices_as_a_channel_covers_only_its_own(world: AdminWorld) -> None:
    south = world.south
    made = world.ok("POST", "/admin/v1/invoices/generate", south.headers, json={"period": PERIOD})
    assert {i["number"] for i in made["data"]} == {south.invoice, south.wholesale_invoice}
