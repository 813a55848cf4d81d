"""``/admin/v1/usage``: requests, tokens and money per tenant and model version for a
month (or all time), from the usage ledger; ``/admin/v1/usage/series``: the same over time
(hour or day buckets) by model, channel or tenant, for the console's overview."""

from __future__ import annotations

from datetime import datetime, timedelta

from fastapi import APIRouter, Depends, Query
from pydantic import AwareDatetime, BaseModel, Field

from modelmint.commerce import CommerceError, Scope, parse_money
from modelmint.commerce.economics import Bucket, Group, Point, UsageSeries, usage_series
from modelmint.commerce.ledger import UsageSummary, parse_period
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.economics import measured_throughput
from modelmint.gateway.admin.fields import MAX_MICROS, NAME_PATTERN, PERIOD_PATTERN
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
    # NotFound outside the scope
    refs = [svc.tenants.get(scope, tenant)] if tenant is not None else svc.tenants.list(scope)
    # by the tenants found, not their names: names are unique per owner only
    summaries = [svc.usage.summarize(t, since, until) for t in refs]
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


# -- over time (the console's overview) -------------------------------------------------------
class SeriesPoint(BaseModel):
    requests: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    revenue_micros: int = Field(
        description="Platform: retail of direct tenants + wholesale of channel tenants; "
        "a channel: its tenants' retail"
    )
    cost_micros: int | None = Field(
        description="Platform: compute cost (null: no hourly hardware cost known); "
        "a channel: its wholesale"
    )
    margin_micros: int | None

    @classmethod
    def of(cls, p: Point) -> SeriesPoint:
        return cls(
            requests=p.requests,
            prompt_tokens=p.prompt_tokens,
            completion_tokens=p.completion_tokens,
            total_tokens=p.total_tokens,
            revenue_micros=p.revenue_micros,
            cost_micros=p.cost_micros,
            margin_micros=p.margin_micros,
        )


class SeriesGroup(BaseModel):
    name: str = Field(description="Model (name:version), channel (`direct`: ours) or tenant")
    points: list[SeriesPoint] = Field(description="One per bucket")
    total: SeriesPoint


class UsageSeriesReport(BaseModel):
    since: datetime = Field(description="Start of the first bucket (UTC)")
    until: datetime = Field(description="End of the last bucket (exclusive)")
    bucket: Bucket
    group: Group
    perspective: str = Field(description="platform or channel: whose revenue the figures are")
    expense_basis: str = Field(description="compute, wholesale, or unknown")
    buckets: list[datetime] = Field(description="The start of each bucket")
    totals: list[SeriesPoint] = Field(description="Per bucket, all groups together")
    total: SeriesPoint
    groups: list[SeriesGroup] = Field(description="Biggest revenue first")
    unmeasured: list[str] = Field(description="Model versions without a measured throughput")

    @classmethod
    def of(cls, s: UsageSeries) -> UsageSeriesReport:
        return cls(
            since=s.since,
            until=s.until,
            bucket=s.bucket,
            group=s.group,
            perspective=s.perspective,
            expense_basis=s.expense_basis,
            buckets=s.buckets,
            totals=[SeriesPoint.of(p) for p in s.totals],
            total=SeriesPoint.of(s.total),
            groups=[
                SeriesGroup(
                    name=g.name,
                    points=[SeriesPoint.of(p) for p in g.points],
                    total=SeriesPoint.of(g.total),
                )
                for g in s.groups
            ],
            unmeasured=s.unmeasured,
        )


DEFAULT_RANGE = {"hour": timedelta(hours=24), "day": timedelta(days=30)}


def _series(
    svc: AdminServices,
    scope: Scope,
    since: datetime | None,
    until: datetime | None,
    bucket: Bucket,
    group: Group,
    hourly_micros: int | None,
) -> UsageSeries:
    until = until or svc.clock()
    try:
        since = since or until - DEFAULT_RANGE[bucket]
    except OverflowError:
        raise CommerceError("until is too early for the default range; give since") from None
    if scope.is_platform and hourly_micros is None:
        configured = svc.hardware_cost_per_hour
        if configured is not None:
            hourly_micros = parse_money(configured, "MINT_HARDWARE_COST_PER_HOUR")
    return usage_series(
        svc.store,
        scope,
        since=since,
        until=until,
        bucket=bucket,
        group=group,
        hardware_cost_per_hour_micros=hourly_micros if scope.is_platform else None,
        throughput=measured_throughput(svc.catalog) if scope.is_platform else None,
    )


@router.get(
    "/series",
    response_model=UsageSeriesReport,
    summary="Requests, tokens, revenue, cost and margin per hour or day",
)
async def usage_over_time(
    since: AwareDatetime | None = Query(
        None, description="Default: 24 h (hour) or 30 d before until"
    ),
    until: AwareDatetime | None = Query(None, description="Default: now"),
    bucket: Bucket = Query("hour"),
    group: Group = Query("model", description="Split by model version, channel or tenant"),
    hardware_cost_per_hour_micros: int | None = Query(
        None,
        ge=0,
        le=MAX_MICROS,
        description="Platform cost basis (default: the server's MINT_HARDWARE_COST_PER_HOUR; "
        "none: cost unknown)",
    ),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> UsageSeriesReport:
    series = await call(
        _series, svc, scope, since, until, bucket, group, hardware_cost_per_hour_micros
    )
    return UsageSeriesReport.of(series)
