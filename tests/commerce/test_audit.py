"""Every admin change leaves exactly one audit entry (who, what, before, after), and a
channel reads only the entries about its own records."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest

from modelmint.commerce import PLATFORM, AuditLog, CommerceError, Scope
from modelmint.commerce.accounts import AdminKeys, ApiKeys, Channels, Tenants
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Store


def test_every_mutation_writes_exactly_one_entry_with_before_and_after(store: Store) -> None:
    log = AuditLog(store)
    channels, tenants, books = Channels(store), Tenants(store), PriceBooks(store)
    keys, admin = ApiKeys(store, b"p"), AdminKeys(store, b"p")
    root = Scope(actor="cli:root")
    made: dict[str, Any] = {}

    def north_scope() -> Scope:
        return channels.scope_for("north", "channel:north:abc")

    steps: list[tuple[str, str, bool, Callable[[], Any]]] = [
        # action, target, whether there is a "before", the change
        ("channel.create", "channel:north", False, lambda: channels.create(root, "north")),
        ("price_book.create", "price_book:gold", False, lambda: books.create_book(root, "gold")),
        (
            "price.set",
            "price_book:gold/demo",
            False,
            lambda: books.set_price(root, "gold", "demo", 1, 2),
        ),
        (
            "price.set",
            "price_book:gold/demo",
            True,
            lambda: books.set_price(root, "gold", "demo", 3, 4),
        ),
        (
            "channel.set_wholesale_book",
            "channel:north",
            True,
            lambda: channels.set_wholesale_book(root, "north", "gold"),
        ),
        ("tenant.create", "tenant:acme", False, lambda: tenants.create("acme", scope=root)),
        ("tenant.create", "tenant:n1", False, lambda: tenants.create("n1", scope=north_scope())),
        ("tenant.update", "tenant:acme", True, lambda: tenants.update(root, "acme", rpm_limit=5)),
        ("tenant.suspend", "tenant:acme", True, lambda: tenants.suspend(root, "acme")),
        ("tenant.resume", "tenant:acme", True, lambda: tenants.resume(root, "acme")),
        (
            "api_key.create",
            "",
            False,
            lambda: made.update(k=keys.create("n1", scope=north_scope())),
        ),
        (
            "api_key.update",
            "",
            True,
            lambda: keys.update(north_scope(), made["k"].prefix, tpm_limit=9),
        ),
        (
            "api_key.rotate",
            "",
            True,
            lambda: made.update(
                k2=keys.rotate(north_scope(), made["k"].prefix, timedelta(hours=1))
            ),
        ),
        ("api_key.revoke", "", True, lambda: keys.revoke(north_scope(), made["k2"].prefix)),
        ("admin_key.create", "", False, lambda: made.update(a=admin.create(north_scope()))),
        ("admin_key.revoke", "", True, lambda: admin.revoke(root, made["a"].prefix)),
    ]
    for action, target, has_before, change in steps:
        count = len(log.list(PLATFORM, limit=1000))
        change()
        entries = log.list(PLATFORM, limit=1000)
        assert len(entries) == count + 1, action
        e = entries[0]
        assert e.action == action
        if target:
            assert e.target == target
        assert (e.before is not None) == has_before, action
        assert e.after is not None
        assert e.before != e.after

    # no-ops and refusals write nothing
    count = len(log.list(PLATFORM, limit=1000))
    tenants.resume(root, "acme")  # not suspended
    keys.revoke(PLATFORM, made["k2"].prefix)  # already revoked
    admin.revoke(PLATFORM, made["a"].prefix)
    with pytest.raises(CommerceError):
        tenants.create("acme", scope=root)
    with pytest.raises(CommerceError):
        tenants.update(root, "acme", billing="bad")
    assert len(log.list(PLATFORM, limit=1000)) == count

    # who made it, and the before/after of one change
    [upd] = log.list(PLATFORM, action="tenant.update")
    assert upd.actor == "cli:root" and upd.target == "tenant:acme"
    assert upd.before is not None and upd.after is not None
    assert (upd.before["rpm_limit"], upd.after["rpm_limit"]) == (None, 5)
    [rot] = log.list(PLATFORM, action="api_key.rotate")
    assert rot.actor == "channel:north:abc"
    assert rot.after is not None and rot.after["rotated_to"]["prefix"] == made["k2"].prefix


def test_a_channel_reads_only_its_own_entries(store: Store) -> None:
    log = AuditLog(store)
    channels, tenants = Channels(store), Tenants(store)
    channels.create(PLATFORM, "north")
    channels.create(PLATFORM, "south")
    north = channels.scope_for("north", "n")
    south = channels.scope_for("south", "s")
    tenants.create("direct")
    tenants.create("n1", scope=north)
    tenants.create("s1", scope=south)
    PriceBooks(store).create_book(south, "standard")
    ApiKeys(store, b"p").create("s1", scope=south)
    south_entries = log.list(south)
    assert {e.channel_id for e in south_entries} == {south.channel_id}
    assert {e.target for e in south_entries} >= {"tenant:s1", "price_book:standard"}
    assert [e.target for e in log.list(north)] == ["tenant:n1", "channel:north"]
    assert len(log.list(PLATFORM)) == 7  # 2 channels, 3 tenants, 1 book, 1 key
    assert len(log.list(PLATFORM, limit=2)) == 2
    assert [e.target for e in log.list(PLATFORM, target="tenant:direct")] == ["tenant:direct"]
    with pytest.raises(CommerceError, match="limit"):
        log.list(PLATFORM, limit=0)
