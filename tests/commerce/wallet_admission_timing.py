"""How long one prepaid admission takes when the wallet holds many credits (not a test: a
measurement to run by hand).

    PYTHONPATH=tests .venv/bin/python tests/commerce/wallet_admission_timing.py [CREDITS]

Builds a SQLite store with a prepaid tenant whose wallet has CREDITS credits (default
5,000, each through ``Wallets.credit`` as an admin would make them) and some settled
usage, then times admit + release (SqlAdmission) and prints the median and the worst."""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from modelmint.commerce import PLATFORM
from modelmint.commerce.admission import SqlAdmission
from modelmint.commerce.ledger import Wallets
from modelmint.store import Store
from support.admission import START, FakeClock, World, done


def main(credits: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'mint.db'}")
        clock = FakeClock()
        world = World(store, Path(tmp) / "artifacts", clock)
        p = world.principal("pre", billing="prepaid")
        wallets = Wallets(store, clock)
        t0 = time.perf_counter()
        for _ in range(credits):
            wallets.credit(PLATFORM, "pre", 1_000, expires_at=START + timedelta(days=30))
            clock.advance(microseconds=10)
        print(f"{credits} credits written in {time.perf_counter() - t0:.1f} s")
        adm = SqlAdmission(store, world.prices, clock)
        for _ in range(20):  # some settled usage, so the balance has something to draw
            clock.advance(seconds=1)
            adm.settle(adm.admit(world.request(p)), done())
        times = []
        for _ in range(10):
            clock.advance(seconds=1)
            t0 = time.perf_counter()
            ticket = adm.admit(world.request(p))
            times.append(time.perf_counter() - t0)
            adm.release(ticket)
        print(
            f"admission with {credits} credits: median {statistics.median(times) * 1000:.1f} ms, "
            f"worst {max(times) * 1000:.1f} ms over {len(times)}"
        )
        store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
