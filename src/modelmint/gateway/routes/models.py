from fastapi import APIRouter, Depends

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.schemas import ModelCard, ModelList

router = APIRouter(tags=["models"])


@router.get("/v1/models", response_model=ModelList)
async def list_models(
    principal: KeyPrincipal = Depends(require_key), ctx: GatewayContext = Depends(get_context)
) -> ModelList:
    """The models this key may use (a key's allowed_models hides the others)."""
    models = ctx.visible_models(principal)
    return ModelList(data=[ModelCard(id=m.id, created=m.created) for m in models])


@router.get("/v1/models/{model_id}", response_model=ModelCard)
async def get_model(
    model_id: str,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> ModelCard:
    m = ctx.find_model(model_id, principal)
    return ModelCard(id=m.id, created=m.created)
