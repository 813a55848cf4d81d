"""What a gateway derives from the commerce configuration (a key's principal, a tenant's
quote), kept in memory while that configuration stands.

Every request reads the same few rows: its key and tenant, its price books and prices, its
budgets. They change when someone runs an admin command, which is rare, and any process may
run it: the CLI, the console, another gateway. So the database keeps one counter,
``commerce_revisions.revision``, that triggers on those tables bump in the transaction that
changes them (migration 0012), and a cache answers from memory while the counter is where it
was when the answer was computed: one one-row read per request instead of a handful of
queries, and a change is seen by the very next request, on every gateway.

An entry is tagged with the revision read *before* it was computed, so an answer computed
while a change committed is at worst older than its tag and is recomputed at the next read;
no entry is ever newer than its tag claims. A table rebuilt by a later SQLite migration
(``batch_alter_table`` copies a table, and its triggers go with the old copy) must get its
triggers back: ``tests/store/test_commerce_revision.py`` checks they are all there."""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from sqlalchemy import select

from modelmint.store.commerce_tables import CommerceRevision
from modelmint.store.db import Store

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_REVISION = select(CommerceRevision.revision).where(CommerceRevision.id == 1)


def commerce_revision(store: Store) -> int | None:
    """The current revision; None where the row is missing (then nothing is cached). It
    takes a connection of its own: never call it while holding one (a full pool would
    wait on itself)."""
    with store.engine.connect() as c:
        return c.execute(_REVISION).scalar()


class RevisionCache(Generic[K, V]):
    """Values computed from the commerce tables, each kept while the revision it was
    computed under stands. At most ``max_entries``, dropped all at once when full (a key
    check caches one entry per key in use; ten thousand is a large deployment)."""

    def __init__(self, store: Store, max_entries: int = 10_000) -> None:
        self.store = store
        self.max_entries = max_entries
        self._entries: dict[K, tuple[int, V]] = {}
        self._lock = threading.Lock()

    def get(self, key: K, compute: Callable[[], V], keep: Callable[[V], bool] | None = None) -> V:
        """``key``'s value: from memory if it was computed under the current revision, else
        ``compute()`` (kept only when ``keep`` says so, e.g. not a refusal)."""
        revision = commerce_revision(self.store)
        if revision is None:
            return compute()
        hit = self._entries.get(key)
        if hit is not None and hit[0] == revision:
            return hit[1]
        value = compute()
        if keep is None or keep(value):
            with self._lock:
                if len(self._entries) >= self.max_entries:
                    self._entries.clear()
                self._entries[key] = (revision, value)
        return value
