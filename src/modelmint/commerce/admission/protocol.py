"""Admission: before a request runs, reserve its maximum cost against every hard limit
that applies and count it against the rate limits; after it ran, settle the reservation
to what it actually cost and append its usage event; if we failed, release it.

This module is the contract the gateway codes against. Backends: ``SqlAdmission`` (SQLite
and PostgreSQL, one serialized transaction per admission) and ``RedisAdmission`` (atomic Lua
scripts shared by every gateway replica, with the database ledger as the source of truth).
See docs/design.md, "Commerce"."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from modelmint.commerce.accounts.keys import KeyPrincipal
from modelmint.commerce.errors import CommerceError
from modelmint.commerce.pricing.prices import Quote


@dataclass(frozen=True)
class AdmissionRequest:
    request_id: str
    principal: KeyPrincipal
    model_name: str  # the served version's model name and version, for the price
    model_version: int
    model_version_id: int
    endpoint: str
    prompt_tokens: int
    max_completion_tokens: int  # n * max_tokens: the most this request can generate


@dataclass(frozen=True)
class RateLimitState:
    """For the ``x-ratelimit-*`` response headers (OpenAI's names); None where no limit."""

    limit_requests: int | None = None
    remaining_requests: int | None = None
    reset_requests_s: float | None = None
    limit_tokens: int | None = None
    remaining_tokens: int | None = None
    reset_tokens_s: float | None = None


@dataclass(frozen=True)
class Ticket:
    """An admitted request: what was reserved, at which prices, by which instance."""

    request: AdmissionRequest
    quote: Quote
    reserved_micros: int
    instance_id: str
    rate: RateLimitState
    # the rate-limit minute the tokens were counted in and how many (prompt + max), so
    # settlement can give back what the request did not generate
    rate_minute: int = 0
    rate_tokens: int = 0
    # the limits the reservation was held against ("wallet", "budget:<id>"); empty: none
    # applied (a postpaid tenant without a hard budget) and nothing was reserved
    held: tuple[str, ...] = ()


@dataclass(frozen=True)
class ActualUsage:
    prompt_tokens: int
    completion_tokens: int
    latency_ms: int
    status: str  # "completed" or "cancelled" (the client cut a stream)


class QuotaExceeded(CommerceError):
    """A hard budget or the prepaid balance cannot cover the request's maximum cost
    (HTTP 429, type and code ``insufficient_quota``)."""


class RateLimited(CommerceError):
    """Too many requests or tokens this minute (HTTP 429, ``rate_limit_exceeded``)."""

    def __init__(self, message: str, retry_after_s: float, rate: RateLimitState) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s
        self.rate = rate


class Admission(Protocol):
    instance_id: str

    def admit(self, request: AdmissionRequest) -> Ticket:
        """Reserves or raises QuotaExceeded / RateLimited; nothing is held after a raise."""
        ...

    def settle(self, ticket: Ticket, usage: ActualUsage) -> bool:
        """Appends the usage event priced by the ticket's quote and drops the reservation,
        in one step; False if the request id was already billed (nothing changes)."""
        ...

    def release(self, ticket: Ticket) -> None:
        """Drops the reservation without billing (the request failed on our side)."""
        ...

    def heartbeat(self) -> None:
        """Marks this instance alive; called every few seconds by the server."""
        ...

    def sweep(self) -> int:
        """Settles or releases reservations of instances that stopped heart-beating;
        returns how many."""
        ...

    def forget(self) -> None:
        """A clean shutdown, once no request is in flight: this instance's heartbeat goes,
        so the instances that remain are the ones that may still hold reservations."""
        ...
