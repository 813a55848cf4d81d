"""A small ledger to bill: channels, tenants, model versions and usage events written
straight into the store, each event priced the way settlement prices it
(``money.request_cost``), so the tests know every expected amount."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from pathlib import Path

from modelmint.catalog import Catalog
from modelmint.commerce import request_cost
from modelmint.commerce.ledger import add_spend
from modelmint.store import ApiKey, Channel, Store, Tenant, UsageEvent

JAN = datetime(2025, 1, 15, 12, 0, tzinfo=UTC)


def fixed_clock(at: datetime = datetime(2025, 2, 3, 9, 30, tzinfo=UTC)):
    return lambda: at


class BillingWorld:
    def __init__(self, store: Store, artifacts: Path) -> None:
        self.store = store
        self.catalog = Catalog(store, artifacts)
        self.keys: dict[int, int] = {}
        self._ids = itertools.count(1)

    def model(self, name: str, metrics: dict | None = None) -> int:
        m = self.catalog.add_model_version(
            name,
            self.catalog.staging_dir("m"),
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics=metrics or {},
        )
        return m.id

    def channel(self, name: str) -> int:
        with self.store.session() as s:
            c = Channel(name=name, created_at=JAN)
            s.add(c)
            s.flush()
            return c.id

    def tenant(self, name: str, channel_id: int | None = None) -> int:
        with self.store.session() as s:
            t = Tenant(name=name, channel_id=channel_id, created_at=JAN)
            s.add(t)
            s.flush()
            key = ApiKey(tenant_id=t.id, prefix=f"p{t.id:011d}", secret_hash="x", created_at=JAN)
            s.add(key)
            s.flush()
            self.keys[t.id] = key.id
            return t.id

    def use(
        self,
        tenant_id: int,
        model_id: int,
        prompt: int,
        completion: int,
        *,
        price: tuple[int, int],
        wholesale: tuple[int, int] = (0, 0),
        at: datetime = JAN,
    ) -> tuple[int, int]:
        """One billed request; returns its (retail, wholesale) cost in micro-units."""
        with self.store.session() as s:
            channel_id = s.get_one(Tenant, tenant_id).channel_id
            retail = request_cost(prompt, completion, *price)
            whole = request_cost(prompt, completion, *wholesale) if channel_id else 0
            s.add(
                UsageEvent(
                    request_id=f"req-{next(self._ids)}",
                    tenant_id=tenant_id,
                    api_key_id=self.keys[tenant_id],
                    model_version_id=model_id,
                    endpoint="chat.completions",
                    prompt_tokens=prompt,
                    completion_tokens=completion,
                    latency_ms=5,
                    status="completed",
                    created_at=at,
                    channel_id=channel_id,
                    input_price_micros=price[0],
                    output_price_micros=price[1],
                    retail_micros=retail,
                    wholesale_micros=whole,
                )
            )
            add_spend(s, tenant_id, self.keys[tenant_id], at, retail)
        return retail, whole
