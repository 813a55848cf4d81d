"""``POST /v1/completions``: one or more prompts (text or token ids), ``n`` choices each,
with ``echo`` and prompt scoring for lm-evaluation-harness; admitted, generated and billed
by the flow every generating route shares (``gateway.generation``), answered whole or
streamed."""

import time
from dataclasses import dataclass, field
from typing import Any

from fastapi import APIRouter, Depends, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.gateway.context import GatewayContext, get_context, require_key
from modelmint.gateway.errors import APIError
from modelmint.gateway.generation import (
    GenerationCall,
    admit_call,
    check_token_ids,
    complete_and_meter,
    new_request_id,
    prompt_work,
    sampling_params,
    stream_and_meter,
    usage_of,
)
from modelmint.gateway.logprobs import completion_logprobs
from modelmint.gateway.schemas import (
    MAX_SEQUENCES,
    CompletionChoice,
    CompletionRequest,
    CompletionResponse,
    Usage,
)
from modelmint.gateway.transcripts import transcript_keeper, wants_transcript
from modelmint.serving import TextDelta, TextEngine

router = APIRouter(tags=["completions"])


@dataclass
class CompletionStream:
    call: GenerationCall
    model: str
    include_usage: bool
    continuous_usage: bool = False  # usage on every chunk, the choice's tokens so far
    # characters of each choice's answer sent so far: where its next chunk's text starts
    sent: dict[int, int] = field(default_factory=dict)

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

    def first(self, index: int) -> None:
        return None

    def chunk(self, delta: TextDelta, index: int) -> dict[str, Any]:
        self.sent[index] = sent = self.sent.get(index, 0) + len(delta.text)
        logprobs = None
        if self.call.params.logprobs is not None:
            logprobs = completion_logprobs((), delta.logprobs, 0, sent)
        choice = CompletionChoice(
            index=index, text=delta.text, finish_reason=delta.finish_reason, logprobs=logprobs
        )
        if self.continuous_usage:
            return {
                **self._body([choice], None),
                "usage": usage_of(self.call, delta.completion_tokens).model_dump(),
            }
        return self._body([choice], None)

    def usage(self, usage: Usage) -> dict[str, Any]:
        return self._body([], usage)


def _tokenized(engine: TextEngine, prompts: list[str | list[int]]) -> list[list[int]]:
    out = []
    for p in prompts:
        ids = engine.codec.encode(p) if isinstance(p, str) else p
        if not ids:
            raise APIError(
                400,
                "The prompt is empty; it needs at least one token.",
                param="prompt",
                code="invalid_value",
            )
        check_token_ids(ids, engine.codec.vocab_size, "prompt")
        out.append(ids)
    return out


def _echoed(engine: TextEngine, prompts: list[str | list[int]]) -> list[str]:
    return [
        p if isinstance(p, str) else engine.codec.decode(p, skip_special_tokens=False)
        for p in prompts
    ]


def _check_combination(req: CompletionRequest, n_prompts: int) -> None:
    if req.max_tokens == 0 and not req.echo:
        raise APIError(
            400,
            "Invalid value for 'max_tokens': 0 is only allowed with echo=true (to score the "
            "prompt without generating).",
            param="max_tokens",
            code="invalid_value",
        )
    if n_prompts * req.n > MAX_SEQUENCES:
        raise APIError(
            400,
            f"{n_prompts} prompts with n={req.n} ask for {n_prompts * req.n} answers; one "
            f"request may ask for at most {MAX_SEQUENCES}. Send fewer prompts per request, "
            "or a smaller n.",
            param="n",
            code="invalid_value",
        )
    if req.stream and (n_prompts > 1 or req.echo):
        raise APIError(
            400,
            "stream=true supports a single prompt without echo; send the request without "
            "stream for those.",
            param="stream",
            code="invalid_value",
        )


@router.post("/v1/completions", response_model=CompletionResponse)
async def create_completion(
    req: CompletionRequest,
    response: Response,
    principal: KeyPrincipal = Depends(require_key),
    ctx: GatewayContext = Depends(get_context),
) -> CompletionResponse | StreamingResponse:
    served, engine = ctx.generating_model(req.model, principal)
    prompts = req.prompt_list()
    _check_combination(req, len(prompts))
    chars = sum(len(p) for p in prompts if isinstance(p, str))
    prompt_ids = await prompt_work(chars, _tokenized, engine, prompts)
    params = sampling_params(
        req,
        [len(p) for p in prompt_ids],
        req.max_tokens,
        engine.codec.context_length,
        "prompt",
        req.logprobs,
    )
    call = GenerationCall(
        "completions",
        new_request_id("cmpl"),
        principal,
        served,
        prompt_ids,
        params,
        time.perf_counter(),
        n=req.n,
    )
    # echo is never streamed (checked above); decoding it before admission means nothing
    # can fail between admission and generation
    echoed = await run_in_threadpool(_echoed, engine, prompts) if req.echo else [""] * len(prompts)
    if wants_transcript(req, principal):
        texts = _echoed(engine, prompts) if not req.echo else echoed
        call.keep = transcript_keeper(ctx, call, req, {"prompts": texts})
    metered = await admit_call(ctx.admission, call, ctx.inline_store_calls)
    if req.stream:
        fmt = CompletionStream(call, req.model, req.stream_usage(), req.continuous_usage())
        return await stream_and_meter(metered, call, fmt)

    score_top_k = req.logprobs if req.echo else None
    answers = await complete_and_meter(metered, call, score_top_k)
    response.headers.update(metered.headers)
    choices = []
    for i, answer in enumerate(answers):
        prefix = echoed[i // req.n]
        done = answer.completion
        text = prefix + done.text
        logprobs = None
        if req.logprobs is not None:
            scored = answer.prompt_scores.tokens if answer.prompt_scores else ()
            logprobs = completion_logprobs(scored, done.logprobs, len(prefix), len(text))
        choices.append(
            CompletionChoice(
                index=i, text=text, finish_reason=done.finish_reason, logprobs=logprobs
            )
        )
    return CompletionResponse(
        id=call.request_id,
        created=call.created,
        model=req.model,
        choices=choices,
        usage=usage_of(call, sum(a.completion.completion_tokens for a in answers)),
    )
