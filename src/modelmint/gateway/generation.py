"""The flow every generating route shares: check the prompt fits, generate, meter, and
answer whole or as a server-sent event stream. The usage event is committed before the
response (or the stream's last event) is sent, so no completed request goes unbilled."""

from __future__ import annotations

import json
import logging
import secrets
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelmint.commerce import KeyPrincipal, UsageLedger, UsageRecord
from modelmint.gateway.context import ServedModel
from modelmint.gateway.errors import APIError, error_body
from modelmint.gateway.schemas import SamplingFields, Usage
from modelmint.serving import Completion, PromptScores, SamplingParams, TextDelta

log = logging.getLogger("modelmint.gateway")


@dataclass
class GenerationCall:
    endpoint: str
    request_id: str
    principal: KeyPrincipal
    served: ServedModel
    prompts: list[list[int]]  # one per choice; a stream has exactly one
    params: SamplingParams
    started: float
    created: int = field(default_factory=lambda: int(time.time()))

    @property
    def prompt_tokens(self) -> int:
        return sum(len(p) for p in self.prompts)


@dataclass(frozen=True)
class Answer:
    """One choice: what was generated, and the prompt's scores when they were asked for."""

    completion: Completion
    prompt_scores: PromptScores | None = None


def new_request_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def sampling_params(
    req: SamplingFields,
    prompt_lens: Sequence[int],
    max_tokens: int | None,
    context_length: int,
    param: str,
    logprobs: int | None = None,
) -> SamplingParams:
    # With several prompts the longest decides how many tokens fit after each of them.
    prompt_len = max(prompt_lens)
    # Scoring alone (max_tokens 0) may fill the whole context; generating needs a free slot.
    limit = context_length if max_tokens == 0 else context_length - 1
    if prompt_len > limit or (max_tokens is not None and prompt_len + max_tokens > context_length):
        wanted = 1 if max_tokens is None else max_tokens
        raise APIError(
            400,
            f"This model's maximum context length is {context_length} tokens. However, you "
            f"requested {prompt_len + wanted} tokens ({prompt_len} in the {param}, {wanted} for "
            "the completion). Please reduce the length of the prompt or the completion.",
            param=param,
            code="context_length_exceeded",
        )
    return SamplingParams(
        max_tokens=max_tokens if max_tokens is not None else context_length - prompt_len,
        temperature=req.temperature,
        top_p=req.top_p,
        seed=req.seed,
        stop=tuple(req.stop_list()),
        logprobs=logprobs,
    )


def usage_of(call: GenerationCall, completion_tokens: int) -> Usage:
    p = call.prompt_tokens
    return Usage(
        prompt_tokens=p, completion_tokens=completion_tokens, total_tokens=p + completion_tokens
    )


def _record(ledger: UsageLedger, call: GenerationCall, completion_tokens: int, status: str) -> None:
    ledger.record(
        UsageRecord(
            request_id=call.request_id,
            tenant_id=call.principal.tenant_id,
            api_key_id=call.principal.key_id,
            model_version_id=call.served.model_version_id,
            endpoint=call.endpoint,
            prompt_tokens=call.prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=int((time.perf_counter() - call.started) * 1000),
            status=status,
        )
    )


async def complete_and_meter(
    ledger: UsageLedger, call: GenerationCall, score_top_k: int | None = None
) -> list[Answer]:
    """Answers every prompt in turn, then meters the whole request as one usage event.
    ``score_top_k``: also score each prompt, with that many alternatives per token."""
    engine = call.served.engine
    answers: list[Answer] = []
    for ids in call.prompts:
        scores = await engine.score(ids, score_top_k) if score_top_k is not None else None
        if call.params.max_tokens > 0:
            done = await engine.complete(ids, call.params)
        else:
            done = Completion("", 0, "length")
        answers.append(Answer(done, scores))
    completion_tokens = sum(a.completion.completion_tokens for a in answers)
    await run_in_threadpool(_record, ledger, call, completion_tokens, "completed")
    return answers


def _sse(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


class StreamFormat(Protocol):
    """How one route shapes its stream events (completion and chat chunks differ)."""

    def first(self) -> dict[str, Any] | None: ...

    def chunk(self, delta: TextDelta) -> dict[str, Any]: ...

    def usage(self, usage: Usage) -> dict[str, Any]: ...


def stream_and_meter(
    ledger: UsageLedger, call: GenerationCall, fmt: StreamFormat, include_usage: bool
) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        tokens, finished, failed = 0, False, False
        try:
            if (first := fmt.first()) is not None:
                yield _sse(first)
            last: TextDelta | None = None
            async for delta in call.served.engine.stream(call.prompts[0], call.params):
                tokens = delta.completion_tokens
                last = delta
                if delta.finish_reason is None and delta.text:
                    yield _sse(fmt.chunk(delta))
            await run_in_threadpool(_record, ledger, call, tokens, "completed")
            finished = True
            assert last is not None
            yield _sse(fmt.chunk(last))
            if include_usage:
                yield _sse(fmt.usage(usage_of(call, tokens)))
            yield "data: [DONE]\n\n"
        except Exception:
            failed = True  # our fault: not billed
            log.exception("generation failed in stream %s", call.request_id)
            yield _sse(error_body(500, "The server had an error while processing your request."))
        finally:
            if not finished and not failed and tokens:
                # The client went away mid-stream: bill the tokens it was sent.
                _record(ledger, call, tokens, "cancelled")

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"x-request-id": call.request_id, "cache-control": "no-cache"},
    )
