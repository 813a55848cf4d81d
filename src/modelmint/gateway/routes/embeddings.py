"""``POST /v1/embeddings``: sentence vectors from an encoder model, admitted and billed
like generation (prompt tokens only, no completion)."""

from __future__ import annotations

import base64
import time

import numpy as np
from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.generation import new_request_id
from modelmint.gateway.metering import admission_request, metered
from modelmint.gateway.schemas import (
    EmbeddingData,
    EmbeddingRequest,
    EmbeddingResponse,
    EmbeddingUsage,
)

router = APIRouter(tags=["embeddings"])


@router.post("/v1/embeddings", response_model=EmbeddingResponse)
async def create_embeddings(
    req: EmbeddingRequest,
    response: Response,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> EmbeddingResponse:
    started = time.perf_counter()
    served = ctx.find_model(req.model, principal)
    if served.embedder is None:
        raise APIError(
            400,
            f"The model `{req.model}` generates text; embeddings need an encoder model "
            "(serve one with `mint serve --model minilm`).",
            param="model",
            code="model_not_supported",
        )
    texts = [req.input] if isinstance(req.input, str) else req.input
    if any(not t for t in texts):
        raise APIError(400, "Every input must be a non-empty string.", param="input")
    embedder = served.embedder
    counted = await run_in_threadpool(lambda: sum(embedder.count_tokens(t) for t in texts))
    request = admission_request(new_request_id("emb"), principal, served, "embeddings", counted)
    async with metered(ctx.admission, request, started, ctx.inline_store_calls) as charge:
        result = await run_in_threadpool(embedder.embed, texts)
        data = [
            EmbeddingData(index=i, embedding=_encoded(v, req.encoding_format))
            for i, v in enumerate(result.vectors)
        ]
        charge.prompt_tokens = result.prompt_tokens  # billed for what the encoder read
    response.headers.update(charge.headers)
    usage = EmbeddingUsage(prompt_tokens=result.prompt_tokens, total_tokens=result.prompt_tokens)
    return EmbeddingResponse(data=data, model=req.model, usage=usage)


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
