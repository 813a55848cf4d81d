import time
from dataclasses import dataclass
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
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    Usage,
)

router = APIRouter(tags=["completions"])


@dataclass(frozen=True)
class CompletionStream:
    call: GenerationCall
    model: str
    include_usage: bool

    def _body(self, choices: list[CompletionChoice], usage: Usage | None) -> dict[str, Any]:
        body = CompletionResponse(
            id=self.call.request_id,
            created=self.call.created,
            model=self.model,
            choices=choices,
            usage=usage,
        ).model_dump()
        if not self.include_usage:
            body.pop("usage")  # OpenAI sends the field only when usage was asked for
        return body

    def first(self) -> None:
        return None

    def chunk(self, text: str, finish_reason: str | None) -> dict[str, Any]:
        return self._body([CompletionChoice(text=text, finish_reason=finish_reason)], None)

    def usage(self, usage: Usage) -> dict[str, Any]:
        return self._body([], usage)


@router.post("/v1/completions", response_model=CompletionResponse)
async def create_completion(
    req: CompletionRequest,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> CompletionResponse | StreamingResponse:
    served = ctx.find_model(req.model)
    prompt_ids = await run_in_threadpool(served.engine.encode, req.prompt_text())
    params = sampling_params(
        req, len(prompt_ids), req.max_tokens, served.engine.context_length, "prompt"
    )
    call = GenerationCall(
        "completions",
        new_request_id("cmpl"),
        principal,
        served,
        prompt_ids,
        params,
        time.perf_counter(),
    )
    if req.stream:
        include_usage = bool(req.stream_options and req.stream_options.include_usage)
        fmt = CompletionStream(call, req.model, include_usage)
        return stream_and_meter(ctx.ledger, call, fmt, include_usage)

    done = await complete_and_meter(ctx.ledger, call)
    return CompletionResponse(
        id=call.request_id,
        created=call.created,
        model=req.model,
        choices=[CompletionChoice(text=done.text, finish_reason=done.finish_reason)],
        usage=usage_of(call, done.completion_tokens),
    )
