from fastapi import APIRouter, Depends

from modelmint.gateway.context import GatewayContext, get_context

router = APIRouter(tags=["health"])


@router.get("/health")
async def health(ctx: GatewayContext = Depends(get_context)) -> dict[str, object]:
    return {"status": "ok", "models": [m.id for m in ctx.models.values()]}
