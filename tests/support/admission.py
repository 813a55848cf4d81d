"""A small world to admit requests in: a model version, priced; tenants with keys; a clock
the test moves by hand; and a request factory."""

from __future__ import annotations

import itertools
import random
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import func, select

from modelmint.catalog import Catalog
from modelmint.commerce import PLATFORM
from modelmint.commerce.accounts import ApiKeys, KeyPrincipal, Tenants
from modelmint.commerce.admission import (
    ActualUsage,
    Admission,
    AdmissionRequest,
    QuotaExceeded,
    Ticket,
)
from modelmint.commerce.pricing import PriceBooks
from modelmint.store import Reservation, Store, UsageEvent

START = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
# 1 micro-unit per token in and 2 out (prices are per million tokens)
PRICE_IN, PRICE_OUT = 1_000_000, 2_000_000


class FakeClock:
    """Thread-safe hand-moved time."""

    def __init__(self, at: datetime = START) -> None:
        self.at = at
        self._lock = threading.Lock()

    def __call__(self) -> datetime:
        with self._lock:
            return self.at

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self.at += timedelta(**delta)
            return self.at


class World:
    def __init__(self, store: Store, artifacts: Path, clock: FakeClock) -> None:
        self.store, self.clock = store, clock
        self.tenants = Tenants(store, clock)
        self.keys = ApiKeys(store, b"pepper", clock)
        self.prices = PriceBooks(store, clock)
        catalog = Catalog(store, artifacts)
        self.model = catalog.add_model_version(
            "m",
            catalog.staging_dir("m"),
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics={},
        )
        self.prices.ensure_book(PLATFORM, "standard")
        self.prices.set_price(PLATFORM, "standard", "m", PRICE_IN, PRICE_OUT)
        self._ids = itertools.count(1)

    def principal(self, tenant: str, billing: str = "postpaid", **limits: int) -> KeyPrincipal:
        """A new key of ``tenant`` (created if new); key_rpm/key_tpm/tenant_rpm/tenant_tpm."""
        try:
            self.tenants.get(PLATFORM, tenant)
        except Exception:
            self.tenants.create(tenant, billing=billing)
        created = self.keys.create(tenant)
        p = self.keys.authenticate(created.key)
        assert p is not None
        return replace(p, **limits)

    def request(
        self, p: KeyPrincipal, prompt: int = 10, max_completion: int = 20, rid: str | None = None
    ) -> AdmissionRequest:
        return AdmissionRequest(
            request_id=rid or f"req-{next(self._ids)}",
            principal=p,
            model_name="m",
            model_version=self.model.version,
            model_version_id=self.model.id,
            endpoint="chat.completions",
            prompt_tokens=prompt,
            max_completion_tokens=max_completion,
        )


def max_cost(prompt: int = 10, max_completion: int = 20) -> int:
    return prompt + 2 * max_completion


def done(prompt: int = 10, completion: int = 20) -> ActualUsage:
    return ActualUsage(prompt, completion, latency_ms=5, status="completed")


def reservations(store: Store) -> int:
    with store.session() as s:
        return int(s.scalar(select(func.count(Reservation.id))) or 0)


def billed(store: Store) -> tuple[int, int]:
    with store.session() as s:
        n, total = s.execute(
            select(func.count(UsageEvent.id), func.coalesce(func.sum(UsageEvent.retail_micros), 0))
        ).one()
    return int(n), int(total)


def run_concurrently(
    adms: Sequence[Admission],
    world: World,
    principal_of,
    n: int = 200,
) -> tuple[int, int, int]:
    """n threads admit; half the admitted settle with a random completion (some cut
    short), a few are released. Returns (admitted, refused, sum of settled costs)."""
    rng = random.Random(7)
    plans = [(rng.randint(0, 20), rng.random() < 0.1) for _ in range(n)]

    def one(i: int) -> tuple[str, int]:
        adm = adms[i % len(adms)]
        try:
            ticket: Ticket = adm.admit(world.request(principal_of(i), rid=f"c-{i}"))
        except QuotaExceeded:
            return "refused", 0
        completion, fail = plans[i]
        if fail:
            adm.release(ticket)
            return "released", 0
        adm.settle(ticket, done(10, completion))
        return "settled", 10 + 2 * completion

    with ThreadPoolExecutor(max_workers=32) as pool:
        results = list(pool.map(one, range(n)))
    settled = sum(c for r, c in results if r == "settled")
    refused = sum(1 for r, _ in results if r == "refused")
    return n - refused, refused, settled
