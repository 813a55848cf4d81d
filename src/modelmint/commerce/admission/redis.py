"""The Redis admission backend: budgets and prepaid balances shared by every gateway
replica through atomic Lua scripts, the database ledger staying the source of truth.

Per limit one counter of spent + held micro-units:
- ``<prefix>wallet:<tenant>``: all retail usage ever + held; the limit is the wallet's
  funds less the expired part of its credits (total + usage of the tenant's running
  balance, read from the database at admission; usage settling now does not change it);
- ``<prefix>budget:<id>:<period start>``: usage in the period + held; the limit is the
  budget's amount. Expires a day after its period ends.
A missing counter is seeded from the ledger (SET NX, so two replicas seeding agree).
Reservations are a hash per gateway instance, ``<prefix>res:<instance>``: request id ->
the amount and the counters it was added to. ``reserve`` checks and increments every
counter at once; ``finish`` (settle or release) removes the reservation and adjusts the
counters by (actual - reserved) only if it removed it, so running it twice, or from a
sweeping replica as well, changes nothing. Settlement writes the usage event to the
database first: a crash between the two leaves a reservation that the sweep settles to
that event. Heartbeats are a hash ``<prefix>heartbeats`` (instance -> epoch ms from the
gateway clock); every instance that reserved is in the set ``<prefix>instances``."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import func, select

from modelmint.commerce.admission import instances
from modelmint.commerce.admission.budgets import budgets_for, spent_in_period
from modelmint.commerce.admission.protocol import ActualUsage, AdmissionRequest, Ticket
from modelmint.commerce.admission.rate_limits import RateLimiter, admit_counted, refund_unused
from modelmint.commerce.admission.rate_limits_redis import RedisRateLimiter
from modelmint.commerce.admission.sql import (
    budget_refusal,
    in_flight,
    price_request,
    usage_record,
    wallet_refusal,
    write_alerts,
)
from modelmint.commerce.errors import CommerceError
from modelmint.commerce.ledger.spend_totals import period_end, period_start
from modelmint.commerce.ledger.usage import append_usage
from modelmint.commerce.ledger.wallet_balances import WalletFunds, admission_funds, running_funds
from modelmint.commerce.pricing.prices import PriceBooks, Quote
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Budget, Store, Tenant, UsageEvent

# KEYS: counter_1..counter_n, reservations hash, instances set.
# ARGV: request id, cost, payload, instance id, then per counter: limit, seed ("" = none),
# ttl ms (0 = none). Returns {0} reserved; {1, i, used} counter i would pass its limit;
# {2, i} counter i is missing and no seed was given; {3} the request id is in flight.
RESERVE = """
local n = #KEYS - 2
local res, cost = KEYS[n + 1], tonumber(ARGV[2])
if redis.call('HEXISTS', res, ARGV[1]) == 1 then return {3} end
for i = 1, n do
  local limit, seed, ttl = ARGV[2 + 3 * i], ARGV[3 + 3 * i], tonumber(ARGV[4 + 3 * i])
  if redis.call('EXISTS', KEYS[i]) == 0 then
    if seed == '' then return {2, i} end
    if ttl > 0 then
      redis.call('SET', KEYS[i], seed, 'NX', 'PX', ttl)
    else
      redis.call('SET', KEYS[i], seed, 'NX')
    end
  end
  local used = tonumber(redis.call('GET', KEYS[i]))
  if used + cost > tonumber(limit) then return {1, i, used} end
end
for i = 1, n do redis.call('INCRBY', KEYS[i], cost) end
redis.call('HSET', res, ARGV[1], ARGV[3])
redis.call('SADD', KEYS[n + 2], ARGV[4])
return {0}
"""

# KEYS: reservations hash. ARGV: request id, actual cost (0: release).
# Returns 1 if it removed the reservation (and adjusted its counters), else 0.
FINISH = """
local payload = redis.call('HGET', KEYS[1], ARGV[1])
if not payload then return 0 end
redis.call('HDEL', KEYS[1], ARGV[1])
local r = cjson.decode(payload)
local delta = tonumber(ARGV[2]) - tonumber(r['amount'])
for _, k in ipairs(r['counters']) do
  if redis.call('EXISTS', k) == 1 then redis.call('INCRBY', k, delta) end
end
return 1
"""


class RedisAdmission:
    """``Admission`` over Redis counters and the database ledger (see the module doc)."""

    def __init__(
        self,
        redis: Any,
        store: Store,
        prices: PriceBooks,
        clock: Clock = utc_now,
        instance_id: str | None = None,
        limiter: RateLimiter | None = None,
        *,
        prefix: str = "mint:",
        instance_timeout_s: float = 15.0,
    ) -> None:
        self.redis, self.store, self.prices, self.clock = redis, store, prices, clock
        self.instance_id = instance_id or instances.new_instance_id()
        self.limiter: RateLimiter = (
            limiter if limiter is not None else RedisRateLimiter(redis, prefix)
        )
        self.prefix = prefix
        self.instance_timeout_s = instance_timeout_s
        self._reserve = redis.register_script(RESERVE)
        self._finish = redis.register_script(FINISH)

    def _res_key(self, instance_id: str) -> str:
        return f"{self.prefix}res:{instance_id}"

    # -- admission ---------------------------------------------------------------------
    def admit(self, request: AdmissionRequest) -> Ticket:
        return admit_counted(self.limiter, self.instance_id, request, self.clock(), self._admit)

    def _admit(
        self, request: AdmissionRequest, now: datetime
    ) -> tuple[Quote, int, tuple[str, ...]]:
        p = request.principal
        with self.store.session() as s:
            quote, cost = price_request(s, self.prices, request)
            if cost == 0:
                return quote, 0, ()
            tenant = s.get(Tenant, p.tenant_id)
            if tenant is None:
                raise CommerceError(f"no tenant with id {p.tenant_id}")
            # (name, counter key, limit, ttl ms, the budget row or None for the wallet)
            scopes: list[tuple[str, str, int, int, Budget | None]] = []
            if tenant.billing == "prepaid":
                bal = running_funds(s, tenant.id, now) or self._create_running(tenant.id, now)
                key = f"{self.prefix}wallet:{tenant.id}"
                scopes.append(("wallet", key, bal.total_micros + bal.usage_micros, 0, None))
            for b in budgets_for(s, tenant.id, p.key_id, hard_only=True):
                start = period_start(b.period, now)
                end = period_end(b.period, now)
                ttl = int((end - now).total_seconds() * 1000) + 86_400_000 if end else 0
                key = f"{self.prefix}budget:{b.id}:{int(start.timestamp())}"
                scopes.append((f"budget:{b.id}", key, b.amount_micros, ttl, b))
            if not scopes:
                return quote, cost, ()
            payload = json.dumps(
                {
                    "amount": cost,
                    "counters": [sc[1] for sc in scopes],
                    "tenant": tenant.id,
                    "at": int(now.timestamp() * 1000),
                }
            )
            seeds: list[str] = [""] * len(scopes)
            for _attempt in range(len(scopes) + 1):
                args: list[Any] = [request.request_id, cost, payload, self.instance_id]
                for (_, _, limit, ttl, _), seed in zip(scopes, seeds, strict=True):
                    args += [limit, seed, ttl]
                keys = [sc[1] for sc in scopes]
                keys += [self._res_key(self.instance_id), f"{self.prefix}instances"]
                out = [int(x) for x in self._reserve(keys=keys, args=args)]
                if out[0] == 0:
                    return quote, cost, tuple(sc[0] for sc in scopes)
                if out[0] == 3:
                    raise in_flight(request)
                if out[0] == 1:
                    _name, _, limit, _, budget = scopes[out[1] - 1]
                    left = limit - out[2]
                    if budget is None:
                        held = self._held(tenant.id, out[2], bal.usage_micros)
                        raise wallet_refusal(tenant, left, held, cost)
                    raise budget_refusal(tenant, budget, left, cost, now)
                # a counter is missing: seed it from the ledger (SET NX: replicas agree)
                i = out[1] - 1
                budget = scopes[i][4]
                used = bal.usage_micros if budget is None else spent_in_period(s, budget, now)
                seeds[i] = str(used)
        raise CommerceError("could not seed the limit counters; is Redis evicting keys?")

    def _create_running(self, tenant_id: int, now: datetime) -> WalletFunds:
        """The tenant's first running balance, re-derived from the ledger in a write
        transaction of its own (this admission's reads are not one)."""
        with self.store.write_session() as w:
            return admission_funds(w, tenant_id, now)

    @staticmethod
    def _held(tenant_id: int, used_and_held: int, usage: int) -> int:
        return max(0, used_and_held - usage)

    # -- settlement --------------------------------------------------------------------
    def settle(self, ticket: Ticket, usage: ActualUsage) -> bool:
        now = self.clock()
        record = usage_record(ticket, usage)
        with self.store.session() as s:  # the ledger first: it is the truth
            billed = append_usage(s, record, now)
            if billed:
                write_alerts(s, record.tenant_id, record.api_key_id, now)
        if ticket.held:
            actual = record.retail_micros if billed else self._billed_cost(record.request_id)
            self._finish(keys=[self._res_key(ticket.instance_id)], args=[record.request_id, actual])
        refund_unused(self.limiter, ticket, usage.prompt_tokens + usage.completion_tokens)
        return billed

    def release(self, ticket: Ticket) -> None:
        if ticket.held:
            self._finish(
                keys=[self._res_key(ticket.instance_id)], args=[ticket.request.request_id, 0]
            )
        refund_unused(self.limiter, ticket, 0)

    def _billed_cost(self, request_id: str) -> int:
        with self.store.session() as s:
            return int(
                s.scalar(
                    select(func.coalesce(func.sum(UsageEvent.retail_micros), 0)).where(
                        UsageEvent.request_id == request_id
                    )
                )
                or 0
            )

    # -- instances ---------------------------------------------------------------------
    def heartbeat(self) -> None:
        ms = int(self.clock().timestamp() * 1000)
        self.redis.hset(f"{self.prefix}heartbeats", self.instance_id, ms)

    def sweep(self) -> int:
        """Settles (to its usage event) or releases every reservation of an instance whose
        heartbeat is older than the timeout (or that never beat, once the reservation is
        that old). Safe to run from every replica at once: ``finish`` acts once."""
        now_ms = int(self.clock().timestamp() * 1000)
        cutoff = now_ms - int(self.instance_timeout_s * 1000)
        beats = {
            k.decode(): int(v) for k, v in self.redis.hgetall(f"{self.prefix}heartbeats").items()
        }
        done = 0
        for raw in self.redis.smembers(f"{self.prefix}instances"):
            inst = raw.decode()
            beat = beats.get(inst)
            if inst == self.instance_id or (beat is not None and beat >= cutoff):
                continue
            key = self._res_key(inst)
            for rid_raw, payload in self.redis.hgetall(key).items():
                rid = rid_raw.decode()
                if beat is None and json.loads(payload)["at"] >= cutoff:
                    continue  # never beat, but this reservation is still young
                done += int(self._finish(keys=[key], args=[rid, self._billed_cost(rid)]))
            if self.redis.hlen(key) == 0:
                self.redis.srem(f"{self.prefix}instances", inst)
                self.redis.hdel(f"{self.prefix}heartbeats", inst)
        return done

    def forget(self) -> None:
        self.redis.hdel(f"{self.prefix}heartbeats", self.instance_id)
