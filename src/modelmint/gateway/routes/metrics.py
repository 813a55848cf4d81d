"""``GET /metrics``: Prometheus exposition of the engines' and the gateway's metrics. Open
like ``/health``: scrapers do not hold API keys, and nothing here names a tenant."""

from fastapi import APIRouter, Depends
from fastapi.responses import Response
from prometheus_client import CONTENT_TYPE_LATEST

from modelmint.gateway.context import GatewayContext, get_context

router = APIRouter(tags=["metrics"])


@router.get("/metrics")
async def metrics(ctx: GatewayContext = Depends(get_context)) -> Response:
    return Response(ctx.metrics.exposition(), media_type=CONTENT_TYPE_LATEST)
