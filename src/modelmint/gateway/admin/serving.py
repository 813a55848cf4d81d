"""``/admin/v1/serving/metrics`` (platform only): per model version being served, time to
first token, inter-token and end-to-end latency percentiles (estimated from this
process's Prometheus histograms), finished requests by outcome and the error rate."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, require_platform
from modelmint.gateway.context import GatewayContext, get_context
from modelmint.observability.serving_summary import (
    ERROR_OUTCOMES,
    Latency,
    ModelServing,
    serving_summary,
)

router = APIRouter(prefix="/admin/v1/serving", tags=["admin: serving"], responses=ERRORS)


class LatencyOut(BaseModel):
    count: int = Field(description="Observations")
    mean_s: float | None
    p50_s: float | None = Field(description="null: no observations yet")
    p95_s: float | None
    p99_s: float | None

    @classmethod
    def of(cls, v: Latency) -> LatencyOut:
        return cls(count=v.count, mean_s=v.mean_s, p50_s=v.p50_s, p95_s=v.p95_s, p99_s=v.p99_s)


class ModelServingOut(BaseModel):
    model: str = Field(description="name:version")
    ttft: LatencyOut = Field(description="Time to first token")
    itl: LatencyOut = Field(description="Inter-token latency")
    e2e: LatencyOut = Field(description="Arrival to last token")
    outcomes: dict[str, int] = Field(
        description="Finished requests by reason: stop, length, cancelled, timeout, rejected, error"
    )
    requests: int
    errors: int = Field(description=f"Outcomes {', '.join(ERROR_OUTCOMES)}")
    error_rate: float | None = Field(description="errors / requests; null: no requests")

    @classmethod
    def of(cls, m: ModelServing) -> ModelServingOut:
        return cls(
            model=m.model,
            ttft=LatencyOut.of(m.ttft),
            itl=LatencyOut.of(m.itl),
            e2e=LatencyOut.of(m.e2e),
            outcomes=m.outcomes,
            requests=m.requests,
            errors=m.errors,
            error_rate=m.error_rate,
        )


class ServingMetricsReport(BaseModel):
    scope: str = Field(description="process: counted since this gateway process started")
    data: list[ModelServingOut]


@router.get(
    "/metrics",
    response_model=ServingMetricsReport,
    summary="Latency percentiles, outcomes and error rate per served model version",
)
async def serving_metrics(
    scope: Scope = Depends(admin_scope), context: GatewayContext = Depends(get_context)
) -> ServingMetricsReport:
    require_platform(scope, "serving metrics")
    summary = serving_summary(context.metrics)
    return ServingMetricsReport(scope="process", data=[ModelServingOut.of(m) for m in summary])
