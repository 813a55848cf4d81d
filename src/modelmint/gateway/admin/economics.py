"""``/admin/v1/economics`` (platform only): per model version, the cost per million
output tokens from the hardware's hourly cost and the measured serving throughput;
revenue and gross margin per model, channel and tenant; break-even utilization."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from modelmint.catalog import Catalog
from modelmint.commerce import CommerceError, Scope, parse_money
from modelmint.commerce.economics import EconomicsReport, economics
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call, require_platform
from modelmint.gateway.admin.fields import MAX_MICROS, PERIOD_PATTERN
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/economics", tags=["admin: economics"], responses=ERRORS)

# where `mint economics --measure` keeps a model version's measured output tokens/s
THROUGHPUT_METRIC = "serving_tokens_per_s"


class ModelEconomics(BaseModel):
    model: str
    model_version_id: int
    requests: int
    input_tokens: int
    output_tokens: int
    revenue_micros: int
    tokens_per_s: float | None = Field(description="null: never measured")
    cost_per_mtok_micros: int | None = Field(description="Per million output tokens")
    compute_cost_micros: int | None
    break_even_utilization: float | None
    gross_margin_micros: int | None
    margin_percent: float | None


class ChannelEconomics(BaseModel):
    channel: str
    requests: int
    output_tokens: int
    wholesale_micros: int = Field(description="The platform's revenue from the channel")
    retail_micros: int = Field(description="What the channel billed its tenants")
    compute_cost_micros: int
    channel_margin_micros: int
    gross_margin_micros: int


class TenantEconomics(BaseModel):
    tenant: str
    channel: str | None
    requests: int
    output_tokens: int
    retail_micros: int
    revenue_micros: int
    compute_cost_micros: int
    gross_margin_micros: int


class Economics(BaseModel):
    since: datetime | None
    until: datetime | None
    hardware_cost_per_hour_micros: int
    revenue_micros: int
    compute_cost_micros: int
    gross_margin_micros: int
    models: list[ModelEconomics]
    channels: list[ChannelEconomics]
    tenants: list[TenantEconomics]
    unmeasured: list[str] = Field(description="Model versions without a measured throughput")


def measured_throughput(catalog: Catalog) -> dict[int, float]:
    """Model version id -> its measured output tokens/s, for the versions measured."""
    out: dict[int, float] = {}
    for mid, metrics in catalog.queries.version_metrics().items():
        value = metrics.get(THROUGHPUT_METRIC)
        if isinstance(value, int | float) and value > 0:
            out[mid] = float(value)
    return out


def _hourly_cost(given: int | None, configured: str | None) -> int:
    if given is not None:
        return given
    if configured is None:
        raise CommerceError(
            "give hardware_cost_per_hour_micros (e.g. 1200000 for $1.20 an hour) or set "
            "MINT_HARDWARE_COST_PER_HOUR on the server"
        )
    return parse_money(configured, "MINT_HARDWARE_COST_PER_HOUR")


def _report(svc: AdminServices, given: int | None, period: str | None) -> EconomicsReport:
    hourly_micros = _hourly_cost(given, svc.hardware_cost_per_hour)
    return economics(
        svc.store,
        hardware_cost_per_hour_micros=hourly_micros,
        throughput=measured_throughput(svc.catalog),
        period=period,
    )


@router.get("", response_model=Economics, summary="Unit economics per model, channel and tenant")
async def economics_report(
    hardware_cost_per_hour_micros: int | None = Query(
        None,
        ge=0,
        le=MAX_MICROS,
        description="What the serving hardware costs per hour (default: the server's "
        "MINT_HARDWARE_COST_PER_HOUR)",
    ),
    period: str | None = Query(None, pattern=PERIOD_PATTERN, description="YYYY-MM; all time"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Economics:
    require_platform(scope, "economics report")
    report = await call(_report, svc, hardware_cost_per_hour_micros, period)
    return Economics.model_validate(report.to_json())
