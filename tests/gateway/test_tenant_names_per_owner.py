"""Tenant names are unique per owner (the platform, or one channel). Creating a tenant
answers only whether the caller's own namespace has the name: a channel cannot learn that
another channel (or the platform) has a tenant of some name. Everything a channel then
does with its tenant (keys, wallet, usage, credit notes, invoices) is its own tenant's,
never the other one of the same name; the platform tells them apart as CHANNEL/NAME."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from modelmint.commerce import PLATFORM, CommerceError
from modelmint.commerce.accounts import Tenants
from modelmint.store import Invoice, Store, Tenant
from modelmint.store.catalog_tables import ModelVersion
from support.admin import PERIOD, AdminWorld, _billed_request, build_world

SOUTHS = "south-acme"  # south's tenant (see support/admin.py); north makes one of that name


@pytest.fixture
def world(store: Store, tmp_path: Path) -> AdminWorld:
    return build_world(store, tmp_path / "artifacts")


def _create(world: AdminWorld, headers: dict[str, str], name: str, **more: object) -> Any:
    return world.client.post("/admin/v1/tenants", headers=headers, json={"name": name, **more})


def test_a_channel_learns_nothing_from_creating_a_name(world: AdminWorld) -> None:
    north = world.north.headers
    # a name another channel has, one the platform has, and one nobody has: all the same
    world.ok("POST", "/admin/v1/tenants", world.platform, json={"name": "direct-co"})
    answers = [_create(world, north, n) for n in (SOUTHS, "direct-co", "nobody-has-it")]
    assert [r.status_code for r in answers] == [201, 201, 201], [r.text for r in answers]
    assert {r.json()["channel"] for r in answers} == {"north"}

    # only its own namespace can say "already exists", and it names no one else
    again = _create(world, north, SOUTHS)
    assert again.status_code == 400, again.text
    message = again.json()["error"]["message"]
    assert message == (f"tenant {SOUTHS!r} already exists in this channel; choose another name")


def test_each_channel_sees_and_changes_only_its_own(world: AdminWorld) -> None:
    north, south = world.north.headers, world.south.headers
    assert _create(world, north, SOUTHS, billing="postpaid").status_code == 201
    assert world.ok("GET", f"/admin/v1/tenants/{SOUTHS}", north)["channel"] == "north"
    assert world.ok("GET", f"/admin/v1/tenants/{SOUTHS}", south)["billing"] == "prepaid"
    world.ok("POST", f"/admin/v1/tenants/{SOUTHS}/suspend", north)
    assert world.ok("GET", f"/admin/v1/tenants/{SOUTHS}", south)["suspended"] is False
    # naming the other channel as the owner does not reach it
    r = world.client.get(f"/admin/v1/tenants/{SOUTHS}?channel=south", headers=north)
    assert r.status_code == 404
    # usage: north's new tenant has none; south's keeps its own
    mine = world.ok("GET", f"/admin/v1/usage?tenant={SOUTHS}", north)["data"][0]
    theirs = world.ok("GET", f"/admin/v1/usage?tenant={SOUTHS}", south)["data"][0]
    assert (mine["requests"], theirs["requests"]) == (0, 1)
    keys = world.ok("GET", f"/admin/v1/keys?tenant={SOUTHS}", north)["data"]
    assert keys == []  # south's tenant's key is not north's


def test_the_platform_names_a_shared_name_by_its_channel(world: AdminWorld) -> None:
    p = world.platform
    assert _create(world, world.north.headers, SOUTHS).status_code == 201
    r = world.client.get(f"/admin/v1/tenants/{SOUTHS}", headers=p)
    assert r.status_code == 400, r.text
    message = r.json()["error"]["message"]
    assert f"north/{SOUTHS}" in message and f"south/{SOUTHS}" in message  # the choices
    north = world.ok("GET", f"/admin/v1/tenants/{SOUTHS}?channel=north", p)
    south = world.ok("GET", f"/admin/v1/tenants/{SOUTHS}?channel=south", p)
    assert (north["channel"], south["channel"]) == ("north", "south")
    assert north["id"] != south["id"]
    # the platform's own tenant of that name is what the bare name means to the platform
    made = world.ok("POST", "/admin/v1/tenants", p, json={"name": SOUTHS})
    assert world.ok("GET", f"/admin/v1/tenants/{SOUTHS}", p)["id"] == made["id"]
    # and the platform's own namespace is checked for it, not the channels'
    assert _create(world, p, SOUTHS).status_code == 400
    assert _create(world, p, SOUTHS, channel="north").status_code == 400
    tenants = Tenants(world.store)
    assert tenants.get(PLATFORM, f"north/{SOUTHS}").channel == "north"
    with pytest.raises(CommerceError, match="already exists in channel 'north'"):
        tenants.create(SOUTHS, channel="north")


def test_invoices_bill_each_tenant_of_a_shared_name_its_own_usage(world: AdminWorld) -> None:
    made = world.ok("POST", "/admin/v1/tenants", world.north.headers, json={"name": SOUTHS})
    key = world.ok("POST", "/admin/v1/keys", world.north.headers, json={"tenant": SOUTHS})
    with world.store.session() as s:
        mv = s.scalars(select(ModelVersion.id)).first()
    assert mv is not None
    _billed_request(world.store, key["prefix"], mv)
    _billed_request(world.store, key["prefix"], mv)
    world.ok("POST", "/admin/v1/invoices/generate", world.platform, json={"period": PERIOD})
    with world.store.session() as s:
        south_id = s.scalar(select(Tenant.id).where(Tenant.name == SOUTHS, Tenant.id != made["id"]))
        rows = {
            i.tenant_id: i.subtotal_micros
            for i in s.scalars(select(Invoice).where(Invoice.tenant_id.is_not(None)))
        }
    assert rows[made["id"]] == 400 and rows[south_id] == 200  # each its own requests
