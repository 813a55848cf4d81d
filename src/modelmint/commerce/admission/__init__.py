"""Admission and limits: before a request runs, reserve its maximum cost against every hard
limit (budgets, prepaid balances) and count it against the rate limits; after it ran, settle
what it used. One protocol, two backends (SQL and Redis)."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.commerce.admission.budgets import AlertInfo, BudgetInfo, Budgets
    from modelmint.commerce.admission.protocol import (
        ActualUsage,
        Admission,
        AdmissionRequest,
        QuotaExceeded,
        RateLimited,
        RateLimitState,
        Ticket,
    )
    from modelmint.commerce.admission.rate_limits import (
        MemoryRateLimiter,
        NoRateLimits,
        RateLimiter,
    )
    from modelmint.commerce.admission.rate_limits_redis import RedisRateLimiter
    from modelmint.commerce.admission.redis import RedisAdmission
    from modelmint.commerce.admission.sql import SqlAdmission

__all__ = [
    "ActualUsage",
    "Admission",
    "AdmissionRequest",
    "AlertInfo",
    "BudgetInfo",
    "Budgets",
    "MemoryRateLimiter",
    "NoRateLimits",
    "QuotaExceeded",
    "RateLimitState",
    "RateLimited",
    "RateLimiter",
    "RedisAdmission",
    "RedisRateLimiter",
    "SqlAdmission",
    "Ticket",
]

lazy_exports(__name__)
