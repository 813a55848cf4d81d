"""The commerce revision: database triggers bump it on every change to the tables a key
check and a quote read, and the gateways' caches of those answers follow it, including
changes made by another process (here: another Store on the same database)."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from modelmint.commerce import PLATFORM
from modelmint.commerce.accounts import ApiKeys, Channels, Tenants
from modelmint.commerce.admission import Budgets, NoRateLimits, SqlAdmission
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Store, commerce_revision
from support.admission import PRICE_IN, FakeClock, World, done


@pytest.fixture
def world(store: Store, tmp_path: Path) -> World:
    return World(store, tmp_path / "artifacts", FakeClock())


def test_every_watched_table_bumps_the_revision(world: World) -> None:
    """One change to each watched table (a tenant, a key, a channel, a price book, a price,
    a budget) moves the revision on; a settlement, the hot path, does not."""
    store, clock = world.store, world.clock
    changes = [
        lambda: Tenants(store, clock).create("acme"),
        lambda: ApiKeys(store, b"pepper", clock).create("acme"),
        lambda: Channels(store, clock).create(PLATFORM, "north"),
        lambda: PriceBooks(store, clock).ensure_book(PLATFORM, "vip"),
        lambda: PriceBooks(store, clock).set_price(PLATFORM, "vip", "m", 5, 6),
        lambda: Budgets(store, clock).set(PLATFORM, "acme", 10**9, "month"),
    ]
    seen = [commerce_revision(store)]
    for change in changes:
        change()
        seen.append(commerce_revision(store))
    assert all(b is not None and a is not None and b > a for a, b in itertools.pairwise(seen))
    p = world.principal("acme")
    adm = SqlAdmission(store, world.prices, clock, limiter=NoRateLimits())
    before = commerce_revision(store)
    adm.settle(adm.admit(world.request(p)), done())
    assert commerce_revision(store) == before


def test_a_change_from_another_process_reaches_the_next_request(
    world: World, store_url: str
) -> None:
    """This gateway keeps a key's principal and a tenant's quote in memory; a revocation
    and a price change made through another connection to the database (as the CLI does)
    apply to the very next request here."""
    p = world.principal("acme")
    created = world.keys.create("acme")
    key = created.key
    adm = SqlAdmission(world.store, world.prices, world.clock, limiter=NoRateLimits())
    assert world.keys.authenticate(key) is not None
    ticket = adm.admit(world.request(p))
    assert ticket.quote.retail_input == PRICE_IN
    adm.release(ticket)

    other = Store.open(store_url)
    try:
        PriceBooks(other, world.clock).set_price(PLATFORM, "standard", "m", 7 * PRICE_IN, 1)
        ApiKeys(other, b"pepper", world.clock).revoke(PLATFORM, created.prefix)
    finally:
        other.close()
    assert world.keys.authenticate(key) is None
    ticket = adm.admit(world.request(p))
    assert ticket.quote.retail_input == 7 * PRICE_IN
    adm.release(ticket)
