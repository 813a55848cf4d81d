"""The upstream servers one model is served by, which of them are up, and which takes the
next request: the healthy one with the fewest requests outstanding from this gateway.

A background thread asks each replica's ``/health`` every ``interval_s`` (and, until it
knows, ``/v1/models`` for the name the replica serves the model under). A replica that fails
a request is marked down at once by the engine and comes back when a check passes. When
every replica is down, the next request still tries them, least recently failed first:
a health check must not be the only way back."""

from __future__ import annotations

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

log = logging.getLogger("modelmint.upstream")


class UpstreamRefused(RuntimeError):
    """A replica answered, but not with what was asked for."""


@dataclass(eq=False)
class Replica:
    """One upstream server. ``base`` is its address with or without ``/v1``; ``model`` the
    name it serves the model under (found on its ``/v1/models`` when not given)."""

    base: str
    model: str | None = None
    api_key: str | None = field(default=None, repr=False)
    healthy: bool = False
    outstanding: int = 0
    failed_at: float = 0.0
    last_error: str = ""

    def __post_init__(self) -> None:
        root = self.base.rstrip("/")
        self.base = root.removesuffix("/v1")

    @property
    def name(self) -> str:
        """The replica as logs and errors show it: its address without credentials."""
        parts = urlsplit(self.base)
        return f"{parts.hostname}:{parts.port}" if parts.port else str(parts.hostname)

    def url(self, path: str) -> str:
        return self.base + path

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}


class ReplicaSet:
    """Replicas of one model, checked every ``interval_s`` seconds on a daemon thread once
    `start` is called."""

    def __init__(self, replicas: list[Replica], interval_s: float = 2.0) -> None:
        if not replicas:
            raise ValueError("a model served upstream needs at least one replica")
        self.replicas = replicas
        self.interval_s = interval_s
        self._turn = itertools.count()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def pick(self, tried: set[Replica]) -> Replica | None:
        """The next replica for a request that has already failed on ``tried``: the healthy
        one with the fewest outstanding (ties in turn), else the one down longest."""
        left = [r for r in self.replicas if r not in tried]
        if not left:
            return None
        up = [r for r in left if r.healthy]
        if up:
            turn = next(self._turn)
            n = len(self.replicas)
            return min(up, key=lambda r: (r.outstanding, (self.replicas.index(r) - turn) % n))
        return min(left, key=lambda r: r.failed_at)

    @contextlib.contextmanager
    def outstanding(self, replica: Replica) -> Iterator[None]:
        replica.outstanding += 1
        try:
            yield
        finally:
            replica.outstanding -= 1

    def mark_down(self, replica: Replica, reason: str) -> None:
        if replica.healthy:
            log.warning("upstream %s is down: %s", replica.name, reason)
        replica.healthy = False
        replica.failed_at = time.monotonic()
        replica.last_error = reason

    def check(self, client: httpx.Client) -> None:
        """One round of health checks."""
        for replica in self.replicas:
            up, reason = _healthy(client, replica)
            if up and not replica.healthy:
                log.info("upstream %s is up (serving %s)", replica.name, replica.model)
            if up:
                replica.healthy = True
            else:
                self.mark_down(replica, reason)

    def start(self) -> None:
        """Checks every replica once now, then keeps checking in the background."""
        with httpx.Client(timeout=5.0) as client:
            self.check(client)
        self._thread = threading.Thread(target=self._run, name="mint-upstream-health", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(timeout=max(1.0, self.interval_s)) as client:
            while not self._stop.wait(self.interval_s):
                try:
                    self.check(client)
                except Exception:  # a check must never stop the checking
                    log.exception("upstream health check failed")

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=self.interval_s + 6)


def _healthy(client: httpx.Client, replica: Replica) -> tuple[bool, str]:
    try:
        if replica.model is None:
            replica.model = _served_model(client, replica)
        response = client.get(replica.url("/health"), headers=replica.headers)
        if response.status_code == 404:  # a server with no /health: its model list will do
            response = client.get(replica.url("/v1/models"), headers=replica.headers)
    except (httpx.HTTPError, UpstreamRefused) as e:
        return False, f"{type(e).__name__}: {e}"
    if response.status_code != 200:
        return False, f"health check answered HTTP {response.status_code}"
    return True, ""


def _served_model(client: httpx.Client, replica: Replica) -> str:
    response = client.get(replica.url("/v1/models"), headers=replica.headers)
    if response.status_code != 200:
        raise UpstreamRefused(f"/v1/models answered HTTP {response.status_code}")
    ids = [m["id"] for m in response.json().get("data", [])]
    if len(ids) != 1:
        raise UpstreamRefused(
            f"it serves {len(ids)} models ({', '.join(ids) or 'none'}): name the one to use "
            "as URL#MODEL"
        )
    return str(ids[0])
