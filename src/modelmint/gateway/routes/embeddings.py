"""``POST /v1/embeddings``: sentence vectors from an encoder model, metered like
generation (prompt tokens only)."""

from __future__ import annotations

import base64
import time

import numpy as np
from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from modelmint.commerce import KeyPrincipal, UsageRecord
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.generation import new_request_id
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
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> EmbeddingResponse:
    started = time.perf_counter()
    served = ctx.find_model(req.model)
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
    result = await run_in_threadpool(served.embedder.embed, texts)
    data = [
        EmbeddingData(index=i, embedding=_encoded(v, req.encoding_format))
        for i, v in enumerate(result.vectors)
    ]
    request_id = new_request_id("emb")
    record = UsageRecord(
        request_id=request_id,
        tenant_id=principal.tenant_id,
        api_key_id=principal.key_id,
        model_version_id=served.model_version_id,
        endpoint="embeddings",
        prompt_tokens=result.prompt_tokens,
        completion_tokens=0,
        latency_ms=int((time.perf_counter() - started) * 1000),
        status="completed",
    )
    await run_in_threadpool(ctx.ledger.record, record)
    usage = EmbeddingUsage(prompt_tokens=result.prompt_tokens, total_tokens=result.prompt_tokens)
    return EmbeddingResponse(data=data, model=req.model, usage=usage)


def _encoded(vector: list[float], encoding: str) -> list[float] | str:
    if encoding == "float":
        return vector
    return base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
