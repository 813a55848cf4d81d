"""The rate limiter shared by every gateway replica: one Lua script reads both buckets of
every scope, checks and counts atomically (the same arithmetic as rate_limits.py, which
then turns the counts it saw into headers and a message). Buckets are hashes
``<prefix>rl:<scope>:<minute>`` with fields ``r`` and ``t`` that expire after two minutes.
Time is the gateway's clock, so the replicas' clocks must agree to a second or so."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modelmint.commerce.accounts.keys import KeyPrincipal
from modelmint.commerce.admission.rate_limits import (
    Counts,
    RateGrant,
    decide,
    limits_of,
    minute_and_elapsed,
    refusal,
)

# KEYS: cur, prev for each limit. ARGV: elapsed, tokens, then rpm, tpm per limit (-1: none).
# Returns 1 (counted) or 0 (refused, nothing counted), then r, t of prev and cur per limit.
ACQUIRE = """
local elapsed, tokens = tonumber(ARGV[1]), tonumber(ARGV[2])
local weight = 1 - elapsed / 60
local out, ok = {}, 1
for i = 1, #KEYS / 2 do
  local cur, prev = KEYS[2 * i - 1], KEYS[2 * i]
  local rpm, tpm = tonumber(ARGV[1 + 2 * i]), tonumber(ARGV[2 + 2 * i])
  local pr = tonumber(redis.call('HGET', prev, 'r') or '0')
  local pt = tonumber(redis.call('HGET', prev, 't') or '0')
  local cr = tonumber(redis.call('HGET', cur, 'r') or '0')
  local ct = tonumber(redis.call('HGET', cur, 't') or '0')
  if rpm >= 0 and pr * weight + cr + 1 > rpm then ok = 0 end
  if tpm >= 0 and pt * weight + ct + tokens > tpm then ok = 0 end
  table.insert(out, pr); table.insert(out, pt); table.insert(out, cr); table.insert(out, ct)
end
if ok == 1 then
  for i = 1, #KEYS / 2 do
    redis.call('HINCRBY', KEYS[2 * i - 1], 'r', 1)
    redis.call('HINCRBY', KEYS[2 * i - 1], 't', tokens)
    redis.call('PEXPIRE', KEYS[2 * i - 1], 130000)
  end
end
table.insert(out, 1, ok)
return out
"""

# KEYS: the buckets of one minute. ARGV: tokens, requests to give back (never below zero).
REFUND = """
for _, k in ipairs(KEYS) do
  if redis.call('EXISTS', k) == 1 then
    local r = tonumber(redis.call('HGET', k, 'r') or '0')
    local t = tonumber(redis.call('HGET', k, 't') or '0')
    redis.call('HSET', k, 'r', math.max(0, r - tonumber(ARGV[2])),
               't', math.max(0, t - tonumber(ARGV[1])))
  end
end
return 1
"""


class RedisRateLimiter:
    def __init__(self, redis: Any, prefix: str = "mint:") -> None:
        self.redis = redis
        self.prefix = prefix
        self._acquire = redis.register_script(ACQUIRE)
        self._refund = redis.register_script(REFUND)

    def _bucket(self, scope: str, minute: int) -> str:
        return f"{self.prefix}rl:{scope}:{minute}"

    def acquire(self, principal: KeyPrincipal, tokens: int, now: datetime) -> RateGrant:
        minute, elapsed = minute_and_elapsed(now)
        limits = limits_of(principal)
        if not limits:
            return decide_grant([], [], tokens, elapsed, minute)
        keys, args = [], [elapsed, tokens]
        for lim in limits:
            keys += [self._bucket(lim.scope, minute), self._bucket(lim.scope, minute - 1)]
            args += [-1 if lim.rpm is None else lim.rpm, -1 if lim.tpm is None else lim.tpm]
        out = [int(x) for x in self._acquire(keys=keys, args=args)]
        counts = [Counts(*out[1 + 4 * i : 5 + 4 * i]) for i in range(len(limits))]
        wait, state, what = decide(limits, counts, tokens, elapsed)
        if out[0] == 0:
            # the script refused, so some limit is over; decide() names it (same arithmetic)
            raise refusal(max(wait, 1e-3), state, what or "the limit", tokens)
        return RateGrant(state, minute, tokens)

    def refund(self, principal: KeyPrincipal, minute: int, tokens: int, requests: int = 0) -> None:
        limits = limits_of(principal)
        if limits and (tokens > 0 or requests > 0):
            keys = [self._bucket(lim.scope, minute) for lim in limits]
            self._refund(keys=keys, args=[max(0, tokens), max(0, requests)])


def decide_grant(
    limits: list[Any], counts: list[Counts], tokens: int, elapsed: float, minute: int
) -> RateGrant:
    _, state, _ = decide(limits, counts, tokens, elapsed)
    return RateGrant(state, minute, tokens)
