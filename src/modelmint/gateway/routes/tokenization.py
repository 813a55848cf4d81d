"""Tokenizer helpers at the server root, in vLLM's shapes: lm-evaluation-harness's remote
tokenizer backend counts context lengths with them. They need a key like every model route,
and answer only for the models that key may use (the tokenizer and chat template are part
of what is sold). They generate nothing, so they cost nothing, but each is admitted like
any request: it counts against the key's rate limits and leaves a usage event of zero
tokens, so a client that floods them is throttled and seen."""

from contextlib import AbstractAsyncContextManager
from dataclasses import asdict

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, ServedModel, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.generation import chat_prompt, check_token_ids, new_request_id
from modelmint.gateway.metering import Charge, admission_request, metered
from modelmint.gateway.schemas import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
    TokenizerInfoResponse,
)
from modelmint.serving import TextEngine

router = APIRouter(tags=["tokenizer"])


def _counted(
    ctx: GatewayContext, principal: KeyPrincipal, served: ServedModel, endpoint: str
) -> AbstractAsyncContextManager[Charge]:
    """Admits the request at no cost (429 past a rate limit) and records it."""
    request = admission_request(new_request_id("tok"), principal, served, endpoint, 0)
    return metered(ctx.admission, request, inline=ctx.inline_store_calls)


def _text_of(engine: TextEngine, model: str, req: TokenizeRequest) -> str:
    if (req.prompt is None) == (req.messages is None):
        raise APIError(
            400,
            "Give exactly one of 'prompt' (text) or 'messages' (a chat).",
            param="prompt",
            code="invalid_value",
        )
    if req.prompt is not None:
        return req.prompt
    messages = [m.turn() for m in req.messages or []]
    return chat_prompt(engine, model, messages, add_generation_prompt=req.add_generation_prompt)


@router.post("/tokenize", response_model=TokenizeResponse, response_model_exclude_none=True)
async def tokenize(
    req: TokenizeRequest,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> TokenizeResponse:
    served, engine = ctx.model_or_only(req.model, principal)

    def run() -> TokenizeResponse:
        codec = engine.codec
        text = _text_of(engine, req.model or served.id, req)
        ids = codec.encode(text, add_special_tokens=req.add_special_tokens)
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
    served, engine = ctx.model_or_only(req.model, principal)
    check_token_ids(req.tokens, engine.codec.vocab_size, "tokens")
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
    served, engine = ctx.model_or_only(model, principal)
    async with _counted(ctx, principal, served, "tokenizer_info"):
        info = engine.codec.tokenizer_info()
    return TokenizerInfoResponse(**asdict(info))
