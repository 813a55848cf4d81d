"""A fleet on one machine: two `mint serve` gateways sharing PostgreSQL and Redis, in front
of two upstream replicas (`mint serve` processes of the model, as a vLLM fleet would be).
Under load, one replica and one gateway are killed with SIGKILL. Afterwards the ledger
holds every response a client received whole, exactly once and with the tokens it was
told; no budget is exceeded; nothing stays reserved once the dead gateway is swept.

Every request costs its maximum (the model cannot end a text), so the hard budget covers
an exact number of requests."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from modelmint.store import Reservation, Store, UsageEvent
from support.lm_eval import ENDLESS, prepare_priced_home, serve_process

pytestmark = pytest.mark.slow

REQUESTS = 120
COVERED = 60  # the budget covers this many requests at their full cost
PROMPT = [11, 12, 13, 14]
MAX_TOKENS = 24
COST = len(PROMPT) * 1 + MAX_TOKENS * 2  # micro-units at 1 per input and 2 per output token
REPLICA_OPTIONS = ["--model", ENDLESS, "--threads", "1", "--log-level", "warning"]


@dataclass
class Load:
    """REQUESTS requests, 16 at a time, spread over the gateways in turn, from a thread."""

    bases: list[str]
    key: str
    complete: list[dict[str, Any]] = field(default_factory=list)
    refused: list[tuple[int, str]] = field(default_factory=list)
    broken: int = 0
    sent: int = 0

    def run(self) -> threading.Thread:
        thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)
        thread.start()
        return thread

    async def _main(self) -> None:
        body = {"model": ENDLESS, "prompt": PROMPT, "max_tokens": MAX_TOKENS, "temperature": 0}
        headers = {"Authorization": f"Bearer {self.key}"}
        gate = asyncio.Semaphore(16)
        async with httpx.AsyncClient(headers=headers, timeout=120) as client:

            async def one(i: int) -> None:
                async with gate:
                    self.sent += 1
                    base = self.bases[i % len(self.bases)]
                    try:
                        r = await client.post(f"{base}/v1/completions", json=body)
                    except httpx.TransportError:
                        self.broken += 1  # its gateway died under it
                        return
                    if r.status_code == 200:
                        self.complete.append(r.json())
                    else:
                        self.refused.append((r.status_code, r.json()["error"]["code"]))

            await asyncio.gather(*[one(i) for i in range(REQUESTS)])


def _ledger(database_url: str) -> tuple[list[Any], int]:
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
            held = int(s.scalar(select(func.count()).select_from(Reservation)) or 0)
        return events, held
    finally:
        store.close()


def _kill(proc: subprocess.Popen[bytes]) -> None:
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)


def test_killing_a_replica_and_a_gateway_under_load_keeps_the_ledger_exact(
    tmp_path: Path, pg_schema_url: str, redis_prefix: str
) -> None:
    upstream_home, gateway_home = tmp_path / "upstream", tmp_path / "gateway"
    upstream_key = prepare_priced_home(upstream_home, budget_micros=10**12)
    key = prepare_priced_home(gateway_home, COVERED * COST, pg_schema_url)
    shared = {
        "MINT_DATABASE_URL": pg_schema_url,
        "MINT_REDIS_URL": os.environ["MINT_TEST_REDIS_URL"],
        "MINT_REDIS_PREFIX": redis_prefix,
        "MINT_INSTANCE_TIMEOUT_S": "2",  # the live gateway sweeps the dead one soon
        "MINT_UPSTREAM_API_KEY": upstream_key,
    }
    with ExitStack() as stack:
        replicas = [
            stack.enter_context(serve_process(upstream_home, *REPLICA_OPTIONS)) for _ in range(2)
        ]
        upstreams = [f"--upstream={ENDLESS}={base}/v1" for _, base in replicas]
        gateway_args = ["--model", ENDLESS, *upstreams, "--log-level", "warning"]
        gateways = [
            stack.enter_context(serve_process(gateway_home, *gateway_args, env=shared))
            for _ in range(2)
        ]
        load = Load([base for _, base in gateways], key)
        thread = load.run()
        deadline = time.monotonic() + 120
        while len(load.complete) < 10 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(load.complete) >= 10, "the load did not get going"
        _kill(replicas[0][0])
        while load.sent < REQUESTS * 0.6 and time.monotonic() < deadline:
            time.sleep(0.01)
        _kill(gateways[1][0])
        thread.join(timeout=180)
        assert not thread.is_alive()
        # the live gateway sweeps the dead one's reservations once its heartbeat is stale
        deadline = time.monotonic() + 30
        while _ledger(pg_schema_url)[1] and time.monotonic() < deadline:
            time.sleep(0.5)
        events, held = _ledger(pg_schema_url)

    assert load.broken > 0, "the gateway was killed after the load ended"
    allowed = {(429, "insufficient_quota"), (503, "engine_unavailable")}
    assert set(load.refused) <= allowed, load.refused
    assert held == 0
    assert sum(e.retail_micros for e in events) <= COVERED * COST  # no budget exceeded
    billed = {e.request_id: e for e in events}
    assert len(billed) == len(events)  # no request billed twice
    for body in load.complete:  # every whole response billed, with the tokens it was told
        event = billed[body["id"]]
        assert event.prompt_tokens == body["usage"]["prompt_tokens"] == len(PROMPT)
        assert event.completion_tokens == body["usage"]["completion_tokens"] == MAX_TOKENS
    # Anything else billed was settled on the killed gateway just before it died, with its
    # response on the way: at most one per broken connection.
    assert len(billed) - len(load.complete) <= load.broken
