"""Tokenizer helpers at the server root, in vLLM's shapes: lm-evaluation-harness's remote
tokenizer backend counts context lengths with them. They need a key like every model route,
and answer only for the models that key may use (the tokenizer and chat template are part
of what is sold). They generate nothing, so they cost nothing, but each is admitted like
any request: it counts against the key's rate limits and leaves a usage event of zero
tokens, so a client that floods them is throttled and seen."""

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import asdict

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from modelmint.commerce import KeyPrincipal
from modelmint.commerce.admission import AdmissionRequest
from modelmint.gateway.context import GatewayContext, ServedModel, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.generation import new_request_id
from modelmint.gateway.metering import admit
from modelmint.gateway.schemas import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
    TokenizerInfoResponse,
)
from modelmint.serving import TextEngine

router = APIRouter(tags=["tokenizer"])


@asynccontextmanager
async def _counted(
    ctx: GatewayContext, principal: KeyPrincipal, served: ServedModel, endpoint: str
) -> AsyncIterator[None]:
    """Admits the request at no cost (429 past a rate limit) and records it."""
    started = time.perf_counter()
    metered = await admit(
        ctx.admission,
        AdmissionRequest(
            request_id=new_request_id("tok"),
            principal=principal,
            model_name=served.model_name,
            model_version=served.model_version,
            model_version_id=served.model_version_id,
            endpoint=endpoint,
            prompt_tokens=0,
            max_completion_tokens=0,
        ),
    )
    try:
        yield
    except BaseException:
        await metered.release()
        raise
    await metered.settle(0, 0, int((time.perf_counter() - started) * 1000), "completed")


def _text_of(engine: TextEngine, req: TokenizeRequest) -> str:
    if (req.prompt is None) == (req.messages is None):
        raise APIError(
            400,
            "Give exactly one of 'prompt' (text) or 'messages' (a chat).",
            param="prompt",
            code="invalid_value",
        )
    if req.prompt is not None:
        return req.prompt
    messages = [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        for m in req.messages or []
    ]
    return engine.codec.render_chat(messages, add_generation_prompt=req.add_generation_prompt)


@router.post("/tokenize", response_model=TokenizeResponse, response_model_exclude_none=True)
async def tokenize(
    req: TokenizeRequest,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> TokenizeResponse:
    served = ctx.model_or_only(req.model, principal)
    engine = served.engine
    assert engine is not None  # model_or_only answers generating models only

    def run() -> TokenizeResponse:
        codec = engine.codec
        ids = codec.encode(_text_of(engine, req), add_special_tokens=req.add_special_tokens)
        return TokenizeResponse(
            count=len(ids),
            max_model_len=engine.codec.context_length,
            tokens=ids,
            token_strs=[codec.token_texts(i) for i in ids] if req.return_token_strs else None,
        )

    async with _counted(ctx, principal, served, "tokenize"):
        return await run_in_threadpool(run)


@router.post("/detokenize", response_model=DetokenizeResponse)
async def detokenize(
    req: DetokenizeRequest,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> DetokenizeResponse:
    served = ctx.model_or_only(req.model, principal)
    engine = served.engine
    assert engine is not None
    bad = next((t for t in req.tokens if not 0 <= t < engine.codec.vocab_size), None)
    if bad is not None:
        raise APIError(
            400,
            f"Invalid token id {bad} in 'tokens': this model's token ids run from 0 to "
            f"{engine.codec.vocab_size - 1}.",
            param="tokens",
            code="invalid_value",
        )
    # Special tokens are kept, so that detokenize(tokenize(text)) gives the text back.
    async with _counted(ctx, principal, served, "detokenize"):
        text = await run_in_threadpool(engine.codec.decode, req.tokens, skip_special_tokens=False)
    return DetokenizeResponse(prompt=text)


@router.get("/tokenizer_info", response_model=TokenizerInfoResponse)
async def tokenizer_info(
    model: str | None = None,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> TokenizerInfoResponse:
    served = ctx.model_or_only(model, principal)
    assert served.engine is not None
    async with _counted(ctx, principal, served, "tokenizer_info"):
        info = served.engine.codec.tokenizer_info()
    return TokenizerInfoResponse(**asdict(info))
