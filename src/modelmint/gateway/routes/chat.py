"""``POST /v1/chat/completions``: the messages rendered with the model's chat template,
then admitted, generated and billed by the flow every generating route shares
(``gateway.generation``), answered whole or as ``chat.completion.chunk`` events."""

import time
from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.responses import StreamingResponse

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.generation import (
    GenerationCall,
    admit_call,
    chat_prompt_ids,
    complete_and_meter,
    new_request_id,
    prompt_work,
    sampling_params,
    stream_and_meter,
    usage_of,
)
from modelmint.gateway.logprobs import chat_logprobs
from modelmint.gateway.schemas import (
    AssistantMessage,
    ChatChoice,
    ChatRequest,
    ChatResponse,
    Usage,
)
from modelmint.gateway.transcripts import transcript_keeper, wants_transcript
from modelmint.serving import TextDelta

router = APIRouter(tags=["chat"])


@dataclass(frozen=True)
class ChatStream:
    call: GenerationCall
    model: str
    include_usage: bool

    def _body(
        self,
        delta: dict[str, str] | None,
        finish_reason: str | None,
        index: int = 0,
        logprobs: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        choices = (
            []
            if delta is None
            else [
                {
                    "index": index,
                    "delta": delta,
                    "finish_reason": finish_reason,
                    "logprobs": logprobs,
                }
            ]
        )
        body: dict[str, Any] = {
            "id": self.call.request_id,
            "object": "chat.completion.chunk",
            "created": self.call.created,
            "model": self.model,
            "choices": choices,
        }
        if self.include_usage:
            body["usage"] = None
        return body

    def first(self, index: int) -> dict[str, Any]:
        return self._body({"role": "assistant", "content": ""}, None, index)

    def chunk(self, delta: TextDelta, index: int) -> dict[str, Any]:
        content = {"content": delta.text} if delta.text else {}
        top_k = self.call.params.logprobs
        logprobs = None
        if top_k is not None and delta.logprobs:
            logprobs = chat_logprobs(delta.logprobs, top_k).model_dump()
        return self._body(content, delta.finish_reason, index, logprobs)

    def usage(self, usage: Usage) -> dict[str, Any]:
        return {**self._body(None, None), "usage": usage.model_dump()}


@router.post("/v1/chat/completions", response_model=ChatResponse)
async def create_chat_completion(
    req: ChatRequest,
    response: Response,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> ChatResponse | StreamingResponse:
    served, engine = ctx.generating_model(req.model, principal)
    messages = [m.turn() for m in req.messages]
    chars = sum(len(m["content"]) for m in messages)
    prompt_ids = await prompt_work(chars, chat_prompt_ids, engine, req.model, messages)
    params = sampling_params(
        req,
        [len(prompt_ids)],
        req.max_completion_tokens or req.max_tokens,
        engine.codec.context_length,
        "messages",
        req.engine_logprobs(),
    )
    call = GenerationCall(
        "chat.completions",
        new_request_id("chatcmpl"),
        principal,
        served,
        [prompt_ids],
        params,
        time.perf_counter(),
        n=req.n,
    )
    if wants_transcript(req, principal):
        call.keep = transcript_keeper(ctx, call, req, {"messages": messages})
    metered = await admit_call(ctx.admission, call, ctx.inline_store_calls)
    if req.stream:
        fmt = ChatStream(call, req.model, req.stream_usage())
        return await stream_and_meter(metered, call, fmt)

    answers = [a.completion for a in await complete_and_meter(metered, call)]
    top_k = params.logprobs
    response.headers.update(metered.headers)
    return ChatResponse(
        id=call.request_id,
        created=call.created,
        model=req.model,
        choices=[
            ChatChoice(
                index=i,
                message=AssistantMessage(content=a.text),
                finish_reason=a.finish_reason,
                logprobs=None if top_k is None else chat_logprobs(a.logprobs, top_k),
            )
            for i, a in enumerate(answers)
        ],
        usage=usage_of(call, sum(a.completion_tokens for a in answers)),
    )
