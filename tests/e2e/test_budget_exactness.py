"""Budgets are exact under concurrency, through real `mint serve` processes: 200 requests
at once against a hard budget that covers exactly 50 of them never spend more than the
budget, and the ledger holds exactly the usage the clients were sent. On SQLite, on
PostgreSQL, and on two servers sharing PostgreSQL and Redis.

Every request costs its maximum: the model cannot end a text by itself and decodes
greedily, so each success generates exactly max_tokens (see build_endless_model)."""

from __future__ import annotations

import asyncio
import os
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis
from sqlalchemy import func, select

from modelmint.store import Reservation, Store, UsageEvent
from support.lm_eval import ENDLESS, prepare_priced_home, serve_process

pytestmark = pytest.mark.slow

REQUESTS = 200
COVERED = 50
PROMPT = [11, 12, 13, 14]  # token ids: exactly 4 prompt tokens, no tokenizer in the way
MAX_TOKENS = 8
COST = len(PROMPT) * 1 + MAX_TOKENS * 2  # micro-units at 1 per input and 2 per output token
BUDGET = COVERED * COST
SERVE_OPTIONS = ["--model", ENDLESS, "--threads", "1", "--log-level", "warning"]


@dataclass(frozen=True)
class Outcome:
    status: int
    body: dict[str, Any]


async def _fire(bases: list[str], key: str) -> list[Outcome]:
    """REQUESTS requests at once, spread over the servers in turn."""
    body = {"model": ENDLESS, "prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0}
    limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=0)
    headers = {"Authorization": f"Bearer {key}"}
    async with httpx.AsyncClient(limits=limits, headers=headers, timeout=120) as client:

        async def one(i: int) -> Outcome:
            r = await client.post(f"{bases[i % len(bases)]}/v1/completions", json=body)
            return Outcome(r.status_code, r.json())

        return await asyncio.gather(*[one(i) for i in range(REQUESTS)])


def _check_ledger(database_url: str, outcomes: list[Outcome]) -> None:
    ok = [o.body for o in outcomes if o.status == 200]
    failed = [o for o in outcomes if o.status != 200]
    assert {(o.status, o.body["error"]["code"]) for o in failed} <= {(429, "insufficient_quota")}, (
        failed[:3]
    )
    assert 1 <= len(ok) <= COVERED
    assert all(b["usage"]["completion_tokens"] == MAX_TOKENS for b in ok)  # full cost each
    store = Store.open(database_url, run_migrations=False)
    try:
        with store.session() as s:
            events = list(
                s.execute(
                    select(
                        UsageEvent.request_id,
                        UsageEvent.prompt_tokens,
                        UsageEvent.completion_tokens,
                        UsageEvent.retail_micros,
                    )
                )
            )
            held = s.scalar(select(func.count()).select_from(Reservation))
    finally:
        store.close()
    # Never more than the budget, and one event per success, none for a refusal.
    assert sum(e.retail_micros for e in events) <= BUDGET
    assert sorted(e.request_id for e in events) == sorted(b["id"] for b in ok)
    # The ledger's tokens are exactly the usage the clients were sent.
    assert sum(e.prompt_tokens for e in events) == sum(b["usage"]["prompt_tokens"] for b in ok)
    assert sum(e.completion_tokens for e in events) == sum(
        b["usage"]["completion_tokens"] for b in ok
    )
    assert held == 0


def _run(home: Path, database_url: str, env: dict[str, str], servers: int = 1) -> None:
    key = prepare_priced_home(home, BUDGET, database_url if "postgresql" in database_url else None)
    with ExitStack() as stack:
        bases = [
            stack.enter_context(serve_process(home, *SERVE_OPTIONS, env=env))[1]
            for _ in range(servers)
        ]
        outcomes = asyncio.run(_fire(bases, key))
    _check_ledger(database_url, outcomes)
    # Every request costs the same, and a refusal only comes when the held and spent
    # money leaves no room: with nothing else failing, exactly the covered number ran.
    assert sum(o.status == 200 for o in outcomes) == COVERED


def test_sqlite_budget_holds_under_200_concurrent_requests(tmp_path: Path) -> None:
    _run(tmp_path, f"sqlite:///{tmp_path / 'mint.db'}", env={})


def test_postgres_budget_holds_under_200_concurrent_requests(
    tmp_path: Path, pg_schema_url: str
) -> None:
    _run(tmp_path, pg_schema_url, env={"MINT_DATABASE_URL": pg_schema_url})


def test_two_servers_sharing_postgres_and_redis_hold_the_budget(
    tmp_path: Path, pg_schema_url: str, redis_prefix: str
) -> None:
    redis_url = os.environ["MINT_TEST_REDIS_URL"]
    env = {
        "MINT_DATABASE_URL": pg_schema_url,
        "MINT_REDIS_URL": redis_url,
        "MINT_REDIS_PREFIX": redis_prefix,
    }
    _run(tmp_path, pg_schema_url, env=env, servers=2)
    # Redis holds the replicas' reservations: none may be left there either.
    with redis.Redis.from_url(redis_url) as client:
        assert any(client.scan_iter(f"{redis_prefix}budget:*"))  # the budget was counted there
        held = [k for k in client.scan_iter(f"{redis_prefix}res:*") if client.hlen(k)]
    assert held == []
