"""Tokenizer helpers at the server root, in vLLM's shapes: lm-evaluation-harness's remote
tokenizer backend counts context lengths with them. They need a key like every model route
(the tokenizer and chat template are part of what is sold), but generate nothing and are
not metered."""

from dataclasses import asdict

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool

from modelmint.commerce import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.schemas import (
    DetokenizeRequest,
    DetokenizeResponse,
    TokenizeRequest,
    TokenizeResponse,
    TokenizerInfoResponse,
)
from modelmint.serving import TextEngine

router = APIRouter(tags=["tokenizer"])


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
    _principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> TokenizeResponse:
    engine = ctx.model_or_only(req.model)

    def run() -> TokenizeResponse:
        codec = engine.codec
        ids = codec.encode(_text_of(engine, req), add_special_tokens=req.add_special_tokens)
        return TokenizeResponse(
            count=len(ids),
            max_model_len=engine.codec.context_length,
            tokens=ids,
            token_strs=[codec.token_texts(i) for i in ids] if req.return_token_strs else None,
        )

    return await run_in_threadpool(run)


@router.post("/detokenize", response_model=DetokenizeResponse)
async def detokenize(
    req: DetokenizeRequest,
    _principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> DetokenizeResponse:
    engine = ctx.model_or_only(req.model)
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
    text = await run_in_threadpool(engine.codec.decode, req.tokens, skip_special_tokens=False)
    return DetokenizeResponse(prompt=text)


@router.get("/tokenizer_info", response_model=TokenizerInfoResponse)
async def tokenizer_info(
    model: str | None = None,
    _principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> TokenizerInfoResponse:
    info = ctx.model_or_only(model).codec.tokenizer_info()
    return TokenizerInfoResponse(**asdict(info))
