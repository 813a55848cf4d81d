"""Requests and tokens per minute as a sliding window of two one-minute buckets, in
memory; the Redis limiter runs the same cases in test_admission_redis.py."""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.commerce.admission import (
    MemoryRateLimiter,
    RateLimited,
    RateLimiter,
    RedisRateLimiter,
)
from modelmint.commerce.admission.rate_limits import wait_s
from support.admission import FakeClock

# the start of a minute, so "seconds into the minute" is what the test says
MINUTE = datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
KEY = KeyPrincipal(key_id=1, prefix="p", tenant_id=1, tenant="acme")


def check_refuses_the_n_plus_first_and_recovers(limiter: RateLimiter, p: KeyPrincipal) -> None:
    clock = FakeClock(MINUTE)
    for i in range(3):
        g = limiter.acquire(p, 10, clock())
        assert g.state.remaining_requests == 2 - i and g.state.limit_requests == 3
    with pytest.raises(RateLimited, match="3 requests per minute") as refused:
        limiter.acquire(p, 10, clock())
    assert refused.value.retry_after_s > 0 and refused.value.rate.remaining_requests == 0
    clock.advance(seconds=59)  # still in the same minute: still full
    with pytest.raises(RateLimited):
        limiter.acquire(p, 10, clock())
    # 1s into the next minute the last minute weighs 59/60 of 3 = 2.95: still no room
    clock.advance(seconds=2)
    with pytest.raises(RateLimited):
        limiter.acquire(p, 10, clock())
    # at 21s it weighs 2 (and a refusal above counted nothing): one more fits
    clock.advance(seconds=19)
    limiter.acquire(p, 10, clock())
    clock.advance(minutes=2)
    for _ in range(3):
        limiter.acquire(p, 10, clock())


def check_tokens_are_refunded_at_settlement(limiter: RateLimiter, p: KeyPrincipal) -> None:
    now = MINUTE
    g = limiter.acquire(p, 80, now)
    assert g.state.remaining_tokens == 20
    with pytest.raises(RateLimited, match="100 tokens per minute"):
        limiter.acquire(p, 30, now)
    limiter.refund(p, g.minute, 60)  # the request used 20 of its 80
    assert limiter.acquire(p, 30, now).state.remaining_tokens == 50
    with pytest.raises(RateLimited, match="lower max_tokens"):
        limiter.acquire(p, 101, now)


def test_memory_limiter_refuses_the_n_plus_first_request_and_recovers() -> None:
    check_refuses_the_n_plus_first_and_recovers(MemoryRateLimiter(), replace(KEY, key_rpm=3))


def test_memory_limiter_counts_tokens_and_refunds_them() -> None:
    check_tokens_are_refunded_at_settlement(MemoryRateLimiter(), replace(KEY, tenant_tpm=100))


def test_tenant_limit_spans_its_keys() -> None:
    limiter = MemoryRateLimiter()
    a = replace(KEY, tenant_rpm=2)
    b = replace(a, key_id=2, prefix="q")
    limiter.acquire(a, 1, MINUTE)
    limiter.acquire(b, 1, MINUTE)
    with pytest.raises(RateLimited, match=r"tenant:1"):
        limiter.acquire(a, 1, MINUTE)


def test_no_limits_no_state() -> None:
    g = MemoryRateLimiter().acquire(KEY, 10**9, MINUTE)
    assert g.state.limit_requests is None and g.state.limit_tokens is None


def test_concurrent_acquires_never_pass_the_limit() -> None:
    limiter = MemoryRateLimiter()
    p = replace(KEY, key_rpm=50)

    def one(_: int) -> bool:
        try:
            limiter.acquire(p, 1, MINUTE)
            return True
        except RateLimited:
            return False

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(one, range(200))) == 50


def test_retry_after_is_when_it_would_fit() -> None:
    assert wait_s(prev=0, cur=3, need=1, limit=3, elapsed=30) == pytest.approx(30 + 20)
    assert wait_s(prev=4, cur=1, need=1, limit=4, elapsed=0) == pytest.approx(30)
    assert math.isinf(wait_s(prev=0, cur=0, need=5, limit=4, elapsed=0))


@pytest.fixture
def redis_limiter(redis_prefix: str) -> RedisRateLimiter:
    import redis

    return RedisRateLimiter(redis.Redis.from_url(os.environ["MINT_TEST_REDIS_URL"]), redis_prefix)


def test_redis_limiter_refuses_the_n_plus_first_request_and_recovers(redis_limiter) -> None:
    check_refuses_the_n_plus_first_and_recovers(redis_limiter, replace(KEY, key_rpm=3))


def test_redis_limiter_counts_tokens_and_refunds_them(redis_limiter) -> None:
    check_tokens_are_refunded_at_settlement(redis_limiter, replace(KEY, tenant_tpm=100))


def test_redis_limiter_is_atomic_across_clients(redis_limiter) -> None:
    import redis

    other = RedisRateLimiter(
        redis.Redis.from_url(os.environ["MINT_TEST_REDIS_URL"]), redis_limiter.prefix
    )
    p = replace(KEY, key_rpm=50)

    def one(i: int) -> bool:
        try:
            (redis_limiter if i % 2 else other).acquire(p, 1, MINUTE)
            return True
        except RateLimited:
            return False

    with ThreadPoolExecutor(16) as pool:
        assert sum(pool.map(one, range(200))) == 50
