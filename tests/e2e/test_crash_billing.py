"""A gateway killed with SIGKILL in the middle of a load: after a restart, every request
whose client got a complete response is billed exactly once, and the reservations the
killed process held are swept once its heartbeat is older than the instance timeout."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from modelmint.store import Reservation, Store, UsageEvent
from support.lm_eval import ENDLESS, prepare_priced_home, serve_process

pytestmark = pytest.mark.slow

REQUESTS = 96  # more than the engine decodes at once (64 slots for this model)
MAX_TOKENS = 100
SERVE_OPTIONS = ["--model", ENDLESS, "--threads", "1", "--log-level", "warning"]
ENV = {"MINT_INSTANCE_TIMEOUT_S": "2"}  # the sweep may take a dead instance's rows soon


class Load:
    """REQUESTS requests at once from a background thread; ``complete`` gathers the bodies
    of the responses that arrived whole."""

    def __init__(self, base: str, key: str) -> None:
        self.base, self.key = base, key
        self.complete: list[dict[str, Any]] = []
        self.broken = 0
        self.thread = threading.Thread(target=lambda: asyncio.run(self._main()), daemon=True)

    async def _main(self) -> None:
        body = {"model": ENDLESS, "prompt": "您好", "max_tokens": MAX_TOKENS, "temperature": 0}
        limits = httpx.Limits(max_connections=REQUESTS, max_keepalive_connections=0)
        headers = {"Authorization": f"Bearer {self.key}"}
        async with httpx.AsyncClient(limits=limits, headers=headers, timeout=120) as client:

            async def one() -> None:
                try:
                    r = await client.post(f"{self.base}/v1/completions", json=body)
                    if r.status_code == 200:
                        self.complete.append(r.json())
                except httpx.TransportError:
                    self.broken += 1  # the server died under it

            await asyncio.gather(*[one() for _ in range(REQUESTS)])


def _reservations(store: Store) -> list[tuple[str, str]]:
    """(request id, instance id) of every open reservation."""
    with store.session() as s:
        rows = s.execute(select(Reservation.request_id, Reservation.instance_id))
        return [(rid, instance) for rid, instance in rows]


def test_sigkill_mid_load_bills_complete_responses_once_and_sweeps_the_rest(
    tmp_path: Path,
) -> None:
    key = prepare_priced_home(tmp_path, budget_micros=10**12)
    with serve_process(tmp_path, *SERVE_OPTIONS, env=ENV) as (proc, base):
        load = Load(base, key)
        load.thread.start()
        deadline = time.monotonic() + 90
        while not load.complete and time.monotonic() < deadline:
            time.sleep(0.01)
        assert load.complete, "no response completed before the deadline"
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=30)
        load.thread.join(timeout=60)
    assert load.broken > 0, "the kill came after the load ended"

    store = Store.open(f"sqlite:///{tmp_path / 'mint.db'}", run_migrations=False)
    try:
        left = _reservations(store)
        assert left, "the killed server held no reservation: nothing to sweep"
        dead = {instance for _, instance in left}
        assert len(dead) == 1

        with serve_process(tmp_path, *SERVE_OPTIONS, env=ENV) as (_, base):
            deadline = time.monotonic() + 30
            while _reservations(store) and time.monotonic() < deadline:
                time.sleep(0.2)
            assert _reservations(store) == []
            # The restarted server serves and bills as usual.
            after = httpx.post(
                f"{base}/v1/completions",
                json={"model": ENDLESS, "prompt": "您好", "max_tokens": 4, "temperature": 0},
                headers={"Authorization": f"Bearer {key}"},
                timeout=60,
            )
            assert after.status_code == 200, after.text

        with store.session() as s:
            events = {
                e.request_id: (e.prompt_tokens, e.completion_tokens, e.status)
                for e in s.scalars(select(UsageEvent))
            }
    finally:
        store.close()
    for body in load.complete:
        usage = body["usage"]
        assert events[body["id"]] == (
            usage["prompt_tokens"],
            usage["completion_tokens"],
            "completed",
        )
    # A request still held when the server died had not been billed (the usage event and
    # the reservation's delete commit together), and the sweep did not bill it.
    assert not {rid for rid, _ in left} & events.keys()
    assert after.json()["id"] in events
