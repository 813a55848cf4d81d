"""Admission around one request: its maximum cost is reserved before it runs (a refusal
becomes OpenAI's 429), and afterwards exactly one of two things happens to the ticket:
``settle`` (billed for what it generated: completed, or cancelled by the client) or
``release`` (we failed: not billed). Blocking store and Redis calls run in the threadpool,
except where a stream the client cut must finish its bookkeeping without awaiting, and
except on one machine's SQLite (``inline``), where `store_call` runs them on the loop.

A request that generates nothing (embeddings, the tokenizer helpers) is metered by
``metered``, one context manager around its work: admitted on entry, released if the work
fails, settled once it returns. Generation settles per choice and per stream event, so it
closes its ``Metered`` itself (``gateway.generation``)."""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from fastapi.concurrency import run_in_threadpool

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.commerce.admission import (
    ActualUsage,
    Admission,
    AdmissionRequest,
    QuotaExceeded,
    RateLimited,
    RateLimitState,
    Ticket,
)
from modelmint.gateway.context import ServedModel, store_call
from modelmint.gateway.errors import APIError

log = logging.getLogger("modelmint.gateway")


def format_reset(seconds: float) -> str:
    """OpenAI's duration format for ``x-ratelimit-reset-*``: ``20ms``, ``1s``, ``1.5s``,
    ``6m0s``, ``1h0m0s``."""
    if seconds < 1:
        return f"{max(0, math.ceil(seconds * 1000))}ms"
    if seconds < 60:
        return f"{round(seconds, 3):g}s"
    whole = math.ceil(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes}m{secs}s" if hours else f"{minutes}m{secs}s"


def rate_headers(rate: RateLimitState) -> dict[str, str]:
    """The ``x-ratelimit-*`` headers for the limits that apply (none when none do)."""
    out: dict[str, str] = {}
    for kind, limit, remaining, reset in (
        ("requests", rate.limit_requests, rate.remaining_requests, rate.reset_requests_s),
        ("tokens", rate.limit_tokens, rate.remaining_tokens, rate.reset_tokens_s),
    ):
        if limit is None:
            continue
        out[f"x-ratelimit-limit-{kind}"] = str(limit)
        out[f"x-ratelimit-remaining-{kind}"] = str(max(0, remaining or 0))
        out[f"x-ratelimit-reset-{kind}"] = format_reset(reset or 0.0)
    return out


def _refusal(exc: QuotaExceeded | RateLimited) -> APIError:
    if isinstance(exc, RateLimited):
        retry = max(1, math.ceil(exc.retry_after_s))
        return APIError(
            429,
            f"Rate limit reached: {exc}.",
            code="rate_limit_exceeded",
            headers={"Retry-After": str(retry), **rate_headers(exc.rate)},
        )
    return APIError(
        429,
        f"You exceeded your current quota: {exc}. Check your plan, budget and billing "
        "details, or lower max_tokens.",
        code="insufficient_quota",
        kind="insufficient_quota",
    )


class Metered:
    """An admitted request. Whatever happens to it, its ticket is settled or released
    exactly once: later calls do nothing."""

    def __init__(self, admission: Admission, ticket: Ticket, inline: bool = False) -> None:
        self.admission = admission
        self.ticket = ticket
        self.inline = inline  # see `store_call`
        self.closed = False

    @property
    def headers(self) -> dict[str, str]:
        return rate_headers(self.ticket.rate)

    def _usage(
        self, prompt_tokens: int, completion_tokens: int, latency_ms: int, status: str
    ) -> ActualUsage:
        return ActualUsage(prompt_tokens, completion_tokens, latency_ms, status)

    def settle_now(
        self, prompt_tokens: int, completion_tokens: int, latency_ms: int, status: str
    ) -> None:
        """Bills the request (blocking). If billing itself fails, the reservation is
        released instead and the error raised: a request we could not bill is ours."""
        if self.closed:
            return
        self.closed = True
        usage = self._usage(prompt_tokens, completion_tokens, latency_ms, status)
        try:
            self.admission.settle(self.ticket, usage)
        except Exception:
            log.exception("settling %s failed; releasing it", self.ticket.request.request_id)
            self.admission.release(self.ticket)
            raise

    def release_now(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self.admission.release(self.ticket)
        except Exception:  # the sweep releases it once this instance is gone
            log.exception("releasing %s failed", self.ticket.request.request_id)

    async def settle(
        self, prompt_tokens: int, completion_tokens: int, latency_ms: int, status: str
    ) -> None:
        await store_call(
            self.inline, self.settle_now, prompt_tokens, completion_tokens, latency_ms, status
        )

    async def release(self) -> None:
        if self.inline:
            self.release_now()  # nothing awaited: no cancellation can come between
            return
        # Shielded: a cancelled caller must not leave the reservation held.
        await asyncio.shield(run_in_threadpool(self.release_now))


async def admit(admission: Admission, request: AdmissionRequest, inline: bool = False) -> Metered:
    """Reserves the request's maximum cost, or raises the 429 OpenAI clients expect."""
    if inline:
        try:
            return Metered(admission, admission.admit(request), inline)
        except (QuotaExceeded, RateLimited) as e:
            raise _refusal(e) from e
    task = asyncio.ensure_future(run_in_threadpool(admission.admit, request))
    try:
        ticket = await asyncio.shield(task)
    except (QuotaExceeded, RateLimited) as e:
        raise _refusal(e) from e
    except asyncio.CancelledError:
        # The caller went away while the admission ran on: drop what it reserves.
        def drop(done: asyncio.Future[Ticket]) -> None:
            if not done.cancelled() and done.exception() is None:
                Metered(admission, done.result()).release_now()

        task.add_done_callback(drop)
        raise
    return Metered(admission, ticket)


def admission_request(
    request_id: str,
    principal: KeyPrincipal,
    served: ServedModel,
    endpoint: str,
    prompt_tokens: int,
    max_completion_tokens: int = 0,
) -> AdmissionRequest:
    """What admission reserves for: the key asking, the version that answers (a canary's,
    when one drew the request) and the most the request can use."""
    return AdmissionRequest(
        request_id=request_id,
        principal=principal,
        model_name=served.model_name,
        model_version=served.model_version,
        model_version_id=served.model_version_id,
        endpoint=endpoint,
        prompt_tokens=prompt_tokens,
        max_completion_tokens=max_completion_tokens,
    )


@dataclass
class Charge:
    """What a request admitted by `metered` is settled for once its work returns: the prompt
    tokens it was admitted with, unless the work sets the count it really used."""

    metered: Metered
    prompt_tokens: int

    @property
    def headers(self) -> dict[str, str]:
        return self.metered.headers


@asynccontextmanager
async def metered(
    admission: Admission,
    request: AdmissionRequest,
    started: float | None = None,
    inline: bool = False,
) -> AsyncIterator[Charge]:
    """Admits ``request`` (429 past a budget or a rate limit) around work that generates
    nothing: released, unbilled, if the work raises or is cancelled; settled for the
    charge's prompt tokens once it returns. The latency runs from ``started``
    (``time.perf_counter()``; default: now)."""
    started = time.perf_counter() if started is None else started
    charge = Charge(await admit(admission, request, inline), request.prompt_tokens)
    try:
        yield charge
    except BaseException:
        await charge.metered.release()
        raise
    latency_ms = int((time.perf_counter() - started) * 1000)
    await charge.metered.settle(charge.prompt_tokens, 0, latency_ms, "completed")
