from fastapi import APIRouter, Depends

from modelmint.commerce import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.schemas import ModelCard, ModelList

router = APIRouter(tags=["models"])


@router.get("/v1/models", response_model=ModelList)
async def list_models(
    _principal: KeyPrincipal = Depends(require_key), ctx: GatewayContext = Depends(get_context)
) -> ModelList:
    return ModelList(data=[ModelCard(id=m.id, created=m.created) for m in ctx.models.values()])


@router.get("/v1/models/{model_id}", response_model=ModelCard)
async def get_model(
    model_id: str,
    _principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> ModelCard:
    m = ctx.find_model(model_id)
    return ModelCard(id=m.id, created=m.created)
