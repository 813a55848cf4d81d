import time
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelmint.commerce import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.generation import (
    GenerationCall,
    complete_and_meter,
    new_request_id,
    sampling_params,
    stream_and_meter,
    usage_of,
)
from modelmint.gateway.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatRequest,
    ChatResponse,
    Usage,
)

router = APIRouter(tags=["chat"])


def _chunk(call: GenerationCall, model: str, choices: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": call.request_id,
        "object": "chat.completion.chunk",
        "created": call.created,
        "model": model,
        "choices": choices,
    }


@router.post("/v1/chat/completions", response_model=ChatResponse)
async def create_chat_completion(
    req: ChatRequest,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> ChatResponse | StreamingResponse:
    served = ctx.find_model(req.model)
    # "developer" is the newer name OpenAI gives the system role.
    messages = [
        {"role": "system" if m.role == "developer" else m.role, "content": m.text()}
        for m in req.messages
    ]
    prompt = await run_in_threadpool(served.engine.render_chat, messages)
    prompt_ids = await run_in_threadpool(served.engine.encode, prompt)
    max_tokens = req.max_completion_tokens or req.max_tokens
    params = sampling_params(
        req, len(prompt_ids), max_tokens, served.engine.context_length, "messages"
    )
    call = GenerationCall(
        "chat.completions",
        new_request_id("chatcmpl"),
        principal,
        served,
        prompt_ids,
        params,
        time.perf_counter(),
    )

    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)

        def with_usage(body: dict[str, Any]) -> dict[str, Any]:
            if include_usage:
                body["usage"] = None
            return body

        def chunk(text: str, finish: str | None) -> dict[str, Any]:
            delta = {"content": text} if text or finish is None else {}
            return with_usage(
                _chunk(
                    call,
                    req.model,
                    [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}],
                )
            )

        def usage_chunk(usage: Usage) -> dict[str, Any]:
            return {**_chunk(call, req.model, []), "usage": usage.model_dump()}

        first = with_usage(
            _chunk(
                call,
                req.model,
                [
                    {
                        "index": 0,
                        "delta": {"role": "assistant", "content": ""},
                        "finish_reason": None,
                        "logprobs": None,
                    }
                ],
            )
        )
        return stream_and_meter(
            ctx.ledger,
            call,
            chunk,
            first=first,
            include_usage=include_usage,
            usage_chunk=usage_chunk,
        )

    done = await complete_and_meter(ctx.ledger, call)
    return ChatResponse(
        id=call.request_id,
        created=call.created,
        model=req.model,
        choices=[
            ChatChoice(
                message=AssistantMessage(content=done.text), finish_reason=done.finish_reason
            )
        ],
        usage=usage_of(call, done.completion_tokens),
    )
