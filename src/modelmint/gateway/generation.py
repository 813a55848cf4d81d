"""The flow every generating route shares: check the prompt fits, admit (reserve the most
the request can cost), generate, settle, and answer whole or as a server-sent event stream.

The billing rule, on every path: what the client received is billed, exactly once, and
nothing else is.
- A whole answer: the usage event is committed before the response is sent. If any choice
  or prompt fails, the others are stopped at once (they would generate for nobody) and the
  request is released, unbilled: the client gets an error and no text.
- A stream: the usage event is committed before its last event. If the client cuts it,
  stops reading and goes, or the engine fails in the middle (an error event follows), it is
  billed for the tokens whose text the client was handed, and released if none was.
  `DeliveredTally` counts those tokens; the stream's own ``finally`` and the fallback for a
  stream dropped before it ran both close the request through it, so whichever runs first
  bills and the other does nothing."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import time
import weakref
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Coroutine, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from fastapi.concurrency import run_in_threadpool
from fastapi.responses import StreamingResponse

from modelmint.commerce.accounts import KeyPrincipal
from modelmint.commerce.admission import Admission, AdmissionRequest
from modelmint.gateway.context import ServedModel, store_call
from modelmint.gateway.errors import APIError
from modelmint.gateway.metering import Metered, admission_request, admit
from modelmint.gateway.schemas import SamplingFields, Usage
from modelmint.serving import (
    Completion,
    EngineDied,
    EngineOverloaded,
    InvalidSampling,
    PromptScores,
    QueueTimeout,
    SamplingParams,
    TextDelta,
    TextEngine,
)

log = logging.getLogger("modelmint.gateway")
T = TypeVar("T")
# While a new engine process loads after one died: seconds for a client to wait and retry.
ENGINE_RETRY_AFTER_S = 3


@dataclass
class GenerationCall:
    endpoint: str
    request_id: str
    principal: KeyPrincipal
    served: ServedModel
    prompts: list[list[int]]  # a stream has exactly one
    params: SamplingParams
    started: float
    n: int = 1  # choices per prompt: choice i of prompt p is answer p * n + i
    created: int = field(default_factory=lambda: int(time.time()))
    # called with every choice's text once the request is billed (stores a transcript)
    keep: Callable[[list[str]], None] | None = None

    async def kept(self, texts: list[str]) -> None:
        if self.keep is not None:
            await run_in_threadpool(self.keep, texts)

    @property
    def engine(self) -> TextEngine:
        assert self.served.engine is not None, "routes check the model generates"
        return self.served.engine

    def choice_params(self, i: int) -> SamplingParams:
        """Each choice draws its own tokens; with a seed, choice i uses seed + i."""
        if i == 0 or self.params.seed is None:
            return self.params
        return replace(self.params, seed=self.params.seed + i)

    @property
    def prompt_tokens(self) -> int:
        return sum(len(p) for p in self.prompts)

    @property
    def max_completion_tokens(self) -> int:
        """The most this request can generate: every choice of every prompt to max_tokens."""
        return len(self.prompts) * self.n * self.params.max_tokens

    @property
    def latency_ms(self) -> int:
        return int((time.perf_counter() - self.started) * 1000)

    def admission_request(self) -> AdmissionRequest:
        return admission_request(
            self.request_id,
            self.principal,
            self.served,
            self.endpoint,
            self.prompt_tokens,
            self.max_completion_tokens,
        )


async def admit_call(admission: Admission, call: GenerationCall, inline: bool = False) -> Metered:
    """Reserves the call's maximum cost (429 when a budget or a rate limit says no);
    ``inline``: see `context.store_call`."""
    return await admit(admission, call.admission_request(), inline)


@dataclass(frozen=True)
class Answer:
    """One choice: what was generated, and the prompt's scores when they were asked for."""

    completion: Completion
    prompt_scores: PromptScores | None = None


# Rendering and counting a prompt this short takes a fraction of a millisecond: less than
# handing it to a worker thread and winning the GIL back. A longer one goes to a thread, so
# it never holds up the streams the loop is serving.
SHORT_PROMPT_CHARS = 4_000


async def prompt_work(chars: int, fn: Callable[..., T], *args: Any) -> T:
    """Runs ``fn`` (rendering or tokenizing ``chars`` characters of prompt) on the loop when
    the prompt is short, else in the threadpool."""
    return await store_call(chars <= SHORT_PROMPT_CHARS, fn, *args)


def new_request_id(prefix: str) -> str:
    return f"{prefix}-{secrets.token_hex(12)}"


def check_token_ids(ids: Sequence[int], vocab_size: int, param: str) -> None:
    """A 400 naming ``param`` for a token id this model does not have."""
    bad = next((t for t in ids if not 0 <= t < vocab_size), None)
    if bad is not None:
        raise APIError(
            400,
            f"Invalid token id {bad} in '{param}': this model's token ids run from 0 to "
            f"{vocab_size - 1}.",
            param=param,
            code="invalid_value",
        )


def chat_prompt(
    engine: TextEngine,
    model: str,
    messages: Sequence[dict[str, str]],
    *,
    add_generation_prompt: bool = True,
) -> str:
    """A chat as the prompt text ``engine``'s model reads, for every route that takes
    ``messages``; a 400 for a base model imported without a chat template, which completes
    text but does not chat (``model`` is the name the request used)."""
    if not engine.codec.has_chat_template:
        raise APIError(
            400,
            f"The model `{model}` has no chat template (a base model imported without "
            "one): send it a prompt on /v1/completions instead.",
            param="messages",
            code="model_without_chat_template",
        )
    return engine.codec.render_chat(messages, add_generation_prompt=add_generation_prompt)


def chat_prompt_ids(
    engine: TextEngine, model: str, messages: Sequence[dict[str, str]]
) -> list[int]:
    """The token ids of ``chat_prompt``'s text, ready to generate from."""
    return engine.codec.encode(chat_prompt(engine, model, messages))


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
        top_k=max(req.top_k, 0),
        presence_penalty=req.presence_penalty,
        frequency_penalty=req.frequency_penalty,
        repetition_penalty=req.repetition_penalty,
        seed=req.seed,
        stop=tuple(req.stop_list()),
        logprobs=logprobs,
    )


def usage_of(call: GenerationCall, completion_tokens: int) -> Usage:
    p = call.prompt_tokens
    return Usage(
        prompt_tokens=p, completion_tokens=completion_tokens, total_tokens=p + completion_tokens
    )


async def complete_and_meter(
    metered: Metered, call: GenerationCall, score_top_k: int | None = None
) -> list[Answer]:
    """Answers every choice of every prompt at once (the engine batches them), then settles
    the whole request as one usage event. The first failure cancels every other choice
    (their sequences leave the engine at its next step) and releases the request unbilled.
    ``score_top_k``: also score each prompt, with that many alternatives per token."""
    engine = call.engine

    async def scored(ids: list[int]) -> PromptScores | None:
        return await engine.score(ids, score_top_k) if score_top_k is not None else None

    async def answer(ids: list[int], i: int) -> Completion:
        if call.params.max_tokens == 0:
            return Completion("", 0, "length")
        return await engine.complete(ids, call.choice_params(i))

    try:
        with engine_errors_as_api_errors():
            scores = await _all_or_none([scored(ids) for ids in call.prompts])
            done = await _all_or_none(
                [answer(ids, i) for ids in call.prompts for i in range(call.n)]
            )
    except BaseException:
        await metered.release()
        raise
    answers = [Answer(d, scores[k // call.n]) for k, d in enumerate(done)]
    completion_tokens = sum(a.completion.completion_tokens for a in answers)
    await metered.settle(call.prompt_tokens, completion_tokens, call.latency_ms, "completed")
    await call.kept([a.completion.text for a in answers])
    return answers


async def _all_or_none(jobs: list[Coroutine[Any, Any, T]]) -> list[T]:
    """Every job's result, in order; the first failure cancels the rest and is raised."""
    try:
        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(job) for job in jobs]
    except BaseExceptionGroup as failed:
        raise _first_leaf(failed) from None
    return [t.result() for t in tasks]


def _first_leaf(group: BaseExceptionGroup[BaseException]) -> BaseException:
    first = group.exceptions[0]
    return _first_leaf(first) if isinstance(first, BaseExceptionGroup) else first


def _sse(body: dict[str, Any]) -> str:
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"


def as_api_error(exc: BaseException) -> APIError | None:
    """The engine's refusals as the HTTP errors OpenAI clients act on (retrying the 429s
    and 503s); None for a failure of ours."""
    if isinstance(exc, APIError):
        return exc
    if isinstance(exc, EngineOverloaded):
        return APIError(
            429,
            f"{exc} Retry after {exc.retry_after_s} s.",
            code="server_overloaded",
            headers={"Retry-After": str(exc.retry_after_s)},
        )
    if isinstance(exc, EngineDied):
        return APIError(
            503,
            f"{exc}.",
            kind="server_error",
            code="engine_unavailable",
            headers={"Retry-After": str(ENGINE_RETRY_AFTER_S)},
        )
    if isinstance(exc, QueueTimeout):
        return APIError(
            503,
            f"{exc}; the server is overloaded, retry later.",
            code="server_overloaded",
            headers={"Retry-After": "5"},
        )
    if isinstance(exc, InvalidSampling):  # the schema's bounds should have caught it
        return APIError(
            400, f"Invalid value for '{exc.field}': {exc}.", param=exc.field, code="invalid_value"
        )
    return None


class engine_errors_as_api_errors:
    """Raises `as_api_error`'s answer in place of an engine's refusal."""

    def __enter__(self) -> None:
        return None

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: Any
    ) -> None:
        if exc is not None and (err := as_api_error(exc)) is not None and err is not exc:
            raise err from exc


@dataclass
class DeliveredTally:
    """The tokens of each choice whose text a stream has handed to its client, and the one
    way that stream's request is closed when it ends early: billed for those, or released
    when there are none. It holds no reference to the stream, so the fallback for a stream
    that is dropped unrun can keep it."""

    metered: Metered
    call: GenerationCall
    tokens: list[int]

    def close(self, status: str) -> None:
        """Bills what was delivered (a no-op once the request is settled or released).
        Blocking, so it can run where nothing may be awaited: in a cancelled task or a
        finalizer."""
        if self.metered.closed:
            return
        if any(self.tokens):
            with contextlib.suppress(Exception):  # logged; released instead
                self.metered.settle_now(
                    self.call.prompt_tokens, sum(self.tokens), self.call.latency_ms, status
                )
        else:
            self.metered.release_now()


class StreamFormat(Protocol):
    """How one route shapes its stream events (completion and chat chunks differ), and
    whether the stream ends with a usage event (the client asked for it)."""

    @property
    def include_usage(self) -> bool: ...

    def first(self, index: int) -> dict[str, Any] | None: ...

    def chunk(self, delta: TextDelta, index: int) -> dict[str, Any]: ...

    def usage(self, usage: Usage) -> dict[str, Any]: ...


async def _merged(call: GenerationCall) -> AsyncGenerator[tuple[int, TextDelta], None]:
    """The pieces of every choice as they come, tagged with the choice's index."""
    queue: asyncio.Queue[tuple[int, TextDelta | BaseException | None]] = asyncio.Queue()

    async def pump(i: int) -> None:
        try:
            async for delta in call.engine.stream(call.prompts[0], call.choice_params(i)):
                queue.put_nowait((i, delta))
        except Exception as e:
            queue.put_nowait((i, e))
        finally:
            queue.put_nowait((i, None))

    tasks = [asyncio.ensure_future(pump(i)) for i in range(call.n)]
    try:
        ended = 0
        while ended < call.n:
            i, item = await queue.get()
            if item is None:
                ended += 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield i, item
    finally:
        for t in tasks:  # the client left, or a choice failed: stop the others too
            t.cancel()


async def stream_and_meter(
    metered: Metered, call: GenerationCall, fmt: StreamFormat
) -> StreamingResponse:
    """Starts generating before answering, so a refusal (queue full, waited too long) is
    an HTTP error with its status code rather than an event inside a 200 stream."""
    pieces = _merged(call)
    try:
        with engine_errors_as_api_errors():
            head = await anext(pieces)
    except BaseException:
        await pieces.aclose()
        await metered.release()
        raise

    async def everything() -> AsyncIterator[tuple[int, TextDelta]]:
        yield head
        async for piece in pieces:
            yield piece

    tally = DeliveredTally(metered, call, [0] * call.n)

    async def events() -> AsyncIterator[str]:
        texts: list[str] = [""] * call.n
        last: dict[int, TextDelta] = {}
        try:
            for i in range(call.n):
                if (first := fmt.first(i)) is not None:
                    yield _sse(first)
            async for i, delta in everything():
                texts[i] += delta.text
                if delta.finish_reason is None:
                    if delta.text:
                        tally.tokens[i] = delta.completion_tokens  # handed over next
                        yield _sse(fmt.chunk(delta, i))
                else:
                    last[i] = delta
            generated = sum(d.completion_tokens for d in last.values())
            # A client gone while the last events went out is not yet known here: the
            # server's send to a closed connection returns quietly, and the stream hears of
            # it when Starlette's disconnect watcher runs, which needs the loop. Let it run
            # (cancelling this task) before billing the stream as completed.
            for _ in range(2):
                await asyncio.sleep(0)
            await metered.settle(call.prompt_tokens, generated, call.latency_ms, "completed")
            await call.kept(texts)
            for i in range(call.n):
                yield _sse(fmt.chunk(last[i], i))
            if fmt.include_usage:
                yield _sse(fmt.usage(usage_of(call, generated)))
            yield "data: [DONE]\n\n"
        except Exception as e:
            # The client keeps what it got: billed for that, told why the rest is missing.
            tally.close("failed")
            err = as_api_error(e)
            if err is None:
                log.exception("generation failed in stream %s", call.request_id)
                err = APIError(500, "The server had an error while processing your request.")
            yield _sse(err.body())
        finally:
            # Still open: the client went away mid-stream. The task is being cancelled, so
            # the bookkeeping runs inline, before anything is awaited.
            tally.close("cancelled")
            await pieces.aclose()

    body = events()
    # A client gone before the first event may leave the generator never started, and a
    # dropped generator's finally runs late, on the loop, if at all: the tally closes the
    # request when the generator is collected (a no-op once closed).
    weakref.finalize(body, tally.close, "cancelled")
    headers = {"x-request-id": call.request_id, "cache-control": "no-cache", **metered.headers}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)
