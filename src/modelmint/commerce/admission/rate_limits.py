"""Requests and tokens per minute, per API key and per tenant.

A sliding window of two one-minute buckets: the load now is the previous minute's count
weighted by the part of it still inside the last 60 seconds, plus this minute's count
(Cloudflare's estimate; exact enough for limits, and two counters per scope instead of a
log of every request). Tokens are counted as prompt + max completion at admission and
the unused part is given back at settlement. ``MemoryRateLimiter`` serves one process;
``RedisRateLimiter`` (admission_redis.py) shares the same arithmetic across replicas."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from modelmint.commerce.accounts.keys import KeyPrincipal
from modelmint.commerce.admission.protocol import (
    AdmissionRequest,
    RateLimited,
    RateLimitState,
    Ticket,
)
from modelmint.commerce.pricing.prices import Quote

WINDOW_S = 60


@dataclass(frozen=True)
class Limit:
    """One scope's limits: ``key:<id>`` or ``tenant:<id>``; None means no limit."""

    scope: str
    rpm: int | None
    tpm: int | None


@dataclass(frozen=True)
class RateGrant:
    state: RateLimitState
    minute: int  # the bucket the request and its tokens were counted in
    tokens: int


def limits_of(principal: KeyPrincipal) -> list[Limit]:
    out = []
    if principal.key_rpm is not None or principal.key_tpm is not None:
        out.append(Limit(f"key:{principal.key_id}", principal.key_rpm, principal.key_tpm))
    if principal.tenant_rpm is not None or principal.tenant_tpm is not None:
        out.append(
            Limit(f"tenant:{principal.tenant_id}", principal.tenant_rpm, principal.tenant_tpm)
        )
    return out


def minute_and_elapsed(now: datetime) -> tuple[int, float]:
    t = now.timestamp()
    return int(t // WINDOW_S), t % WINDOW_S


def estimate(prev: float, cur: float, elapsed: float) -> float:
    return prev * (1 - elapsed / WINDOW_S) + cur


def wait_s(prev: float, cur: float, need: int, limit: int, elapsed: float) -> float:
    """Seconds until ``need`` more fits under ``limit``; inf when it never can."""
    if need > limit:
        return math.inf
    if cur + need <= limit:  # fits in this minute once enough of the previous one has aged
        if prev <= 0:
            return 0.0
        fraction = 1 - (limit - cur - need) / prev
        return max(0.0, fraction * WINDOW_S - elapsed)
    # this minute is full: wait for the next, where this minute's count ages in turn
    fraction = max(0.0, 1 - (limit - need) / cur)
    return (WINDOW_S - elapsed) + fraction * WINDOW_S


def reset_s(prev: float, cur: float, elapsed: float) -> float:
    """Seconds until the window is empty again (OpenAI's ``x-ratelimit-reset-*``)."""
    if cur > 0:
        return 2 * WINDOW_S - elapsed
    return WINDOW_S - elapsed if prev > 0 else 0.0


@dataclass
class Counts:
    """A scope's two buckets as seen at admission: (requests, tokens) each."""

    prev_r: float = 0
    prev_t: float = 0
    cur_r: float = 0
    cur_t: float = 0


def decide(
    limits: list[Limit], counts: list[Counts], tokens: int, elapsed: float
) -> tuple[float, RateLimitState, str]:
    """(seconds to wait, 0 if admitted; the header state; what was exceeded). The state
    reports, per kind, the scope with the least left after this request."""
    wait, what = 0.0, ""
    req: tuple[int, float, float] | None = None  # (limit, remaining, reset)
    tok: tuple[int, float, float] | None = None
    for lim, c in zip(limits, counts, strict=True):
        if lim.rpm is not None:
            used = estimate(c.prev_r, c.cur_r, elapsed)
            if used + 1 > lim.rpm:
                w = wait_s(c.prev_r, c.cur_r, 1, lim.rpm, elapsed)
                if w >= wait:
                    wait, what = max(w, 1e-3), f"{lim.rpm} requests per minute ({lim.scope})"
            left = lim.rpm - used - 1
            if req is None or left < req[1]:
                req = (lim.rpm, left, reset_s(c.prev_r, c.cur_r + 1, elapsed))
        if lim.tpm is not None:
            used = estimate(c.prev_t, c.cur_t, elapsed)
            if used + tokens > lim.tpm:
                w = wait_s(c.prev_t, c.cur_t, tokens, lim.tpm, elapsed)
                if w >= wait:
                    wait, what = max(w, 1e-3), f"{lim.tpm} tokens per minute ({lim.scope})"
            left = lim.tpm - used - tokens
            if tok is None or left < tok[1]:
                tok = (lim.tpm, left, reset_s(c.prev_t, c.cur_t + tokens, elapsed))
    state = RateLimitState(
        limit_requests=req[0] if req else None,
        remaining_requests=max(0, math.floor(req[1])) if req else None,
        reset_requests_s=round(req[2], 3) if req else None,
        limit_tokens=tok[0] if tok else None,
        remaining_tokens=max(0, math.floor(tok[1])) if tok else None,
        reset_tokens_s=round(tok[2], 3) if tok else None,
    )
    return wait, state, what


def refusal(wait: float, state: RateLimitState, what: str, tokens: int) -> RateLimited:
    if math.isinf(wait):
        return RateLimited(
            f"this request may use {tokens} tokens (prompt + max_tokens), more than the "
            f"limit of {what}; lower max_tokens or ask for a higher limit",
            retry_after_s=float(WINDOW_S),
            rate=state,
        )
    return RateLimited(
        f"rate limit of {what} reached; retry after {math.ceil(wait)}s",
        retry_after_s=wait,
        rate=state,
    )


class RateLimiter(Protocol):
    def acquire(self, principal: KeyPrincipal, tokens: int, now: datetime) -> RateGrant:
        """Counts one request and ``tokens`` against every limit of the principal, or
        raises RateLimited counting nothing."""
        ...

    def refund(self, principal: KeyPrincipal, minute: int, tokens: int, requests: int = 0) -> None:
        """Gives back tokens counted at admission that the request did not use (and the
        request itself when admission was refused after it was counted)."""
        ...


class NoRateLimits:
    """For a deployment (or a test) that limits nothing."""

    def acquire(self, principal: KeyPrincipal, tokens: int, now: datetime) -> RateGrant:
        return RateGrant(RateLimitState(), minute_and_elapsed(now)[0], tokens)

    def refund(self, principal: KeyPrincipal, minute: int, tokens: int, requests: int = 0) -> None:
        return None


class MemoryRateLimiter:
    """One process's limits, under one lock (the check and the count are one step)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[tuple[str, int], list[float]] = {}  # (scope, minute) -> [r, t]
        self._pruned_minute = 0

    def acquire(self, principal: KeyPrincipal, tokens: int, now: datetime) -> RateGrant:
        minute, elapsed = minute_and_elapsed(now)
        limits = limits_of(principal)
        if not limits:
            return RateGrant(RateLimitState(), minute, tokens)
        with self._lock:
            self._prune(minute)
            counts = []
            for lim in limits:
                prev = self._buckets.get((lim.scope, minute - 1), [0, 0])
                cur = self._buckets.get((lim.scope, minute), [0, 0])
                counts.append(Counts(prev[0], prev[1], cur[0], cur[1]))
            wait, state, what = decide(limits, counts, tokens, elapsed)
            if wait > 0:
                raise refusal(wait, state, what, tokens)
            for lim in limits:
                bucket = self._buckets.setdefault((lim.scope, minute), [0, 0])
                bucket[0] += 1
                bucket[1] += tokens
        return RateGrant(state, minute, tokens)

    def refund(self, principal: KeyPrincipal, minute: int, tokens: int, requests: int = 0) -> None:
        if tokens <= 0 and requests <= 0:
            return
        with self._lock:
            for lim in limits_of(principal):
                bucket = self._buckets.get((lim.scope, minute))
                if bucket is not None:
                    bucket[0] = max(0, bucket[0] - requests)
                    bucket[1] = max(0, bucket[1] - tokens)

    def _prune(self, minute: int) -> None:
        if minute == self._pruned_minute:
            return
        self._pruned_minute = minute
        for k in [k for k in self._buckets if k[1] < minute - 1]:
            del self._buckets[k]


def refund_unused(limiter: RateLimiter, ticket: Ticket, used: int) -> None:
    """Gives back the tokens counted at admission that the request did not use (a released
    request, ``used`` 0, gives back all of them)."""
    if ticket.rate_tokens > used:
        limiter.refund(ticket.request.principal, ticket.rate_minute, ticket.rate_tokens - used)


# A backend's reservation: the request's quote, its maximum cost and the limits it is held
# against (empty: nothing held).
Reserve = Callable[[AdmissionRequest, datetime], tuple[Quote, int, tuple[str, ...]]]


def admit_counted(
    limiter: RateLimiter,
    instance_id: str,
    request: AdmissionRequest,
    now: datetime,
    reserve: Reserve,
) -> Ticket:
    """Counts the request against the rate limits, then reserves its cost; when the
    reservation is refused, the request and tokens counted are given back."""
    p = request.principal
    tokens = request.prompt_tokens + request.max_completion_tokens
    grant = limiter.acquire(p, tokens, now)
    try:
        quote, cost, held = reserve(request, now)
    except BaseException:
        limiter.refund(p, grant.minute, tokens, requests=1)
        raise
    return Ticket(
        request=request,
        quote=quote,
        reserved_micros=cost if held else 0,
        instance_id=instance_id,
        rate=grant.state,
        rate_minute=grant.minute,
        rate_tokens=grant.tokens,
        held=held,
    )
