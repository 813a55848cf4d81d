"""A gateway whose tenant pays per token under a hard budget, and what its store holds:
the usage events and the reservations, for the tests of billing on every path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from modelmint.catalog import Catalog
from modelmint.commerce import PLATFORM
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.commerce.admission import Budgets, SqlAdmission
from modelmint.commerce.pricing import PriceBooks
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.serving import TextEngine
from modelmint.store import Reservation, Store, UsageEvent
from support.gateway import gateway_settings

INPUT_PRICE, OUTPUT_PRICE = 1_000_000, 2_000_000  # 1 and 2 micro-units per token
BIG_BUDGET = 10_000_000


def reservations(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count()).select_from(Reservation)) or 0)


def usage_events(store: Store) -> list[UsageEvent]:
    with store.session() as s:
        rows = list(s.scalars(select(UsageEvent).order_by(UsageEvent.id)))
        s.expunge_all()
        return rows


class Gateway:
    """A gateway on a tiny model whose tenant ``acme`` pays per token under a hard budget
    (so every admitted request holds a reservation until it is settled or released)."""

    def __init__(self, store: Store, tmp_path: Path, engine: TextEngine) -> None:
        self.store = store
        self.artifacts = tmp_path / "artifacts"
        catalog = Catalog(store, self.artifacts)
        refs = [
            catalog.add_model_version(
                name,
                catalog.staging_dir("model"),
                run_id=None,
                kind="causal-lm",
                num_parameters=1,
                metrics={},
            )
            for name in ("micro", "mini")
        ]
        Tenants(store).create("acme")
        books = PriceBooks(store)
        books.ensure_book(PLATFORM, "standard")
        for name in ("micro", "mini"):
            books.set_price(PLATFORM, "standard", name, INPUT_PRICE, OUTPUT_PRICE)
        self.budgets = Budgets(store)
        self.budgets.set(PLATFORM, "acme", BIG_BUDGET, "month", hard=True)
        self.keys = ApiKeys(store, pepper=b"test")
        self.key = self.keys.create("acme").key
        self.engine = engine
        self.models = {
            name: ServedModel(name, ref.label, ref.id, engine=engine)
            for name, ref in zip(("micro", "mini"), refs, strict=True)
        }
        self.admission = SqlAdmission(store, books)
        self.settings = gateway_settings(tmp_path, b"test")

    def app(self, models: dict[str, ServedModel] | None = None) -> Any:
        return create_app(
            build_gateway(
                self.settings,
                models=models or self.models,
                store=self.store,
                admission=self.admission,
            )
        )

    def client(self, key: str | None = None, **kwargs: Any) -> TestClient:
        client = TestClient(self.app(), **kwargs)
        client.headers["Authorization"] = f"Bearer {key or self.key}"
        return client
