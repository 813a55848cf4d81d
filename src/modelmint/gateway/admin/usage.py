"""``/admin/v1/usage``: requests, tokens and money per tenant and model version for a
month (or all time), from the usage ledger."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from modelmint.commerce.billing_periods import parse_period
from modelmint.commerce.scope import Scope
from modelmint.commerce.usage import UsageSummary
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import NAME_PATTERN, PERIOD_PATTERN
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/usage", tags=["admin: usage"], responses=ERRORS)


class ModelUsage(BaseModel):
    model: str = Field(description="name:version")
    requests: int
    prompt_tokens: int
    completion_tokens: int
    retail_micros: int
    wholesale_micros: int


class TenantUsage(BaseModel):
    tenant: str
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    retail_micros: int = Field(description="What the tenant is billed")
    wholesale_micros: int = Field(description="What its channel pays the platform (0: direct)")
    by_model: list[ModelUsage]

    @classmethod
    def of(cls, u: UsageSummary) -> TenantUsage:
        return cls(
            tenant=u.tenant,
            requests=u.requests,
            prompt_tokens=u.prompt_tokens,
            completion_tokens=u.completion_tokens,
            total_tokens=u.total_tokens,
            retail_micros=u.retail_micros,
            wholesale_micros=u.wholesale_micros,
            by_model=[ModelUsage(**m.__dict__) for m in u.by_model],
        )


class UsageReport(BaseModel):
    period: str | None = Field(description="YYYY-MM; null: all time")
    since: datetime | None
    until: datetime | None
    data: list[TenantUsage]


def _report(
    svc: AdminServices, scope: Scope, tenant: str | None, period: str | None
) -> UsageReport:
    since = until = None
    if period is not None:
        p = parse_period(period)
        period, since, until = p.text, p.start, p.end
    if tenant is not None:
        names = [svc.tenants.get(scope, tenant).name]  # NotFound outside the scope
    else:
        names = [t.name for t in svc.tenants.list(scope)]
    summaries = [svc.usage.summarize(n, since, until) for n in names]
    return UsageReport(
        period=period,
        since=since,
        until=until,
        # one tenant asked for: shown even without usage; else only tenants with usage
        data=[TenantUsage.of(u) for u in summaries if tenant is not None or u.requests],
    )


@router.get("", response_model=UsageReport, summary="Usage per tenant and model version")
async def usage_summary(
    tenant: str | None = Query(None, pattern=NAME_PATTERN, description="Only this tenant"),
    period: str | None = Query(None, pattern=PERIOD_PATTERN, description="YYYY-MM (UTC)"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> UsageReport:
    return await call(_report, svc, scope, tenant, period)
