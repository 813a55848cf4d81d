"""A model served by upstream OpenAI-compatible servers (vLLM, SGLang, llama.cpp's server,
another ``mint serve``) behind the same engine interface as the native one.

The gateway keeps its whole job: it counts the prompt with the model's own tokenizer, admits,
meters and bills. This engine sends exactly those token ids to one replica's
``/v1/completions`` and turns its stream back into `TextDelta` pieces.

- **Balancing.** A request goes to the healthy replica with the fewest requests outstanding
  from this gateway (`ReplicaSet`); a background thread checks every replica's health.
- **Before the first token, a failure is retried.** A replica that refuses the connection,
  answers 5xx or breaks off before any text is marked down and the request goes to the
  next one. Nothing was generated for the client, so nothing is billed twice.
- **After it, it is not.** A replica that fails mid-answer ends the stream with
  `EngineDied`; the gateway bills what the client was handed. A retry would send the client
  a second, different answer.
- **Token counts** are the replica's own ``usage``: vLLM's ``continuous_usage_stats`` puts it
  on every chunk; a server that sends it only at the end is counted a token per chunk until
  then, as llama.cpp's server streams one token per chunk.
- **The upstream's API key** goes only into the Authorization header: no repr, log line or
  error carries it."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Sequence
from dataclasses import replace
from typing import Any

import aiohttp

from modelmint.serving.core.engine_core import EngineDied, EngineOverloaded
from modelmint.serving.drivers.replicas import Replica, ReplicaSet, UpstreamRefused
from modelmint.serving.logprobs import PromptScores, TokenLogprob
from modelmint.serving.protocol import Completion, TextDelta, collect
from modelmint.serving.sampler import InvalidSampling, SamplingParams
from modelmint.serving.text import TextCodec

log = logging.getLogger("modelmint.upstream")

_FINISH = {"stop": "stop", "length": "length", "abort": "cancelled"}
# A replica may queue a request a while before its first token; past this it counts as hung.
READ_TIMEOUT_S = 300.0


class _BeforeFirstToken(Exception):
    """The replica failed before the client got any text: another replica may answer."""

    def __init__(self, replica: Replica, reason: str, *, overloaded: bool = False) -> None:
        super().__init__(reason)
        self.replica, self.overloaded = replica, overloaded


class UpstreamEngine:
    """``codec`` is the served model's tokenizer (from the catalog), the one the replicas
    load too; ``replicas`` serve that model."""

    def __init__(self, codec: TextCodec, replicas: ReplicaSet) -> None:
        self.codec = codec
        self.replicas = replicas
        self._clients: dict[asyncio.AbstractEventLoop, aiohttp.ClientSession] = {}

    def _client(self) -> aiohttp.ClientSession:
        # One pooled session per event loop: a session's connections belong to the loop that
        # opened them. aiohttp rather than httpx: streaming a short answer through httpx
        # cost the gateway six times the CPU (its pool checks every idle connection on
        # every request), and the gateway's own cost per request is what a proxy sells.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            timeout = aiohttp.ClientTimeout(sock_connect=5.0, sock_read=READ_TIMEOUT_S)
            connector = aiohttp.TCPConnector(limit=0, limit_per_host=0, keepalive_timeout=60)
            # an event line may be long (logprobs with many alternatives): up to 2 MiB
            client = aiohttp.ClientSession(timeout=timeout, connector=connector, read_bufsize=2**20)
            self._clients[loop] = client
        return client

    def _body(
        self, replica: Replica, prompt_ids: Sequence[int], params: SamplingParams
    ) -> dict[str, Any]:
        """An OpenAI completion request, with vLLM's extensions where they differ from the
        defaults (other servers ignore fields they do not know)."""
        body: dict[str, Any] = {
            "model": replica.model,
            "prompt": list(prompt_ids),
            "max_tokens": params.max_tokens,
            "temperature": params.temperature,
            "top_p": params.top_p,
            "stream": True,
            "stream_options": {"include_usage": True, "continuous_usage_stats": True},
            # the model's own end tokens (Llama 3's <|eot_id|>), as the native engine stops
            "stop_token_ids": sorted(self.codec.stop_ids),
        }
        if params.stop:
            body["stop"] = list(params.stop)
        if params.seed is not None:
            body["seed"] = params.seed
        if params.top_k > 0:
            body["top_k"] = params.top_k
        if params.presence_penalty:
            body["presence_penalty"] = params.presence_penalty
        if params.frequency_penalty:
            body["frequency_penalty"] = params.frequency_penalty
        if params.repetition_penalty != 1.0:
            body["repetition_penalty"] = params.repetition_penalty
        if params.logprobs is not None:
            body["logprobs"] = params.logprobs
            body["return_tokens_as_token_ids"] = True
        return body

    async def stream(
        self, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        tried: set[Replica] = set()
        last: _BeforeFirstToken | None = None
        while (replica := self.replicas.pick(tried)) is not None:
            tried.add(replica)
            try:
                with self.replicas.outstanding(replica):
                    async for delta in self._stream_from(replica, prompt_ids, params):
                        yield delta
                return
            except _BeforeFirstToken as failed:  # raised only before the first piece
                last = failed
                if not failed.overloaded:
                    self.replicas.mark_down(replica, str(failed))
        if last is not None and last.overloaded:
            raise EngineOverloaded(f"Every replica of this model is busy ({last}).", 2)
        reason = f" (last: {last})" if last is not None else ""
        raise EngineDied(f"No replica of this model answered{reason}")

    async def _stream_from(
        self, replica: Replica, prompt_ids: Sequence[int], params: SamplingParams
    ) -> AsyncIterator[TextDelta]:
        body = self._body(replica, prompt_ids, params)
        sent_tokens, sent_text = 0, 0
        try:
            async with self._client().post(
                replica.url("/v1/completions"), json=body, headers=replica.headers
            ) as response:
                if response.status != 200:
                    self._refused(replica, response.status, await response.read())
                finished: TextDelta | None = None
                async for event in _events(response):
                    if "error" in event:
                        raise UpstreamRefused(_error_message(event))
                    delta = self._delta(event, sent_tokens, sent_text)
                    if delta is None:
                        continue
                    if finished is not None:  # the usage event after the last piece
                        finished = replace(finished, completion_tokens=delta.completion_tokens)
                        continue
                    if delta.finish_reason is not None:
                        # held for the closing usage event: a late counter's exact total
                        finished = delta
                        continue
                    sent_tokens, sent_text = delta.completion_tokens, sent_text + len(delta.text)
                    yield delta
                if finished is not None:
                    yield finished
                    return
        except (aiohttp.ClientError, TimeoutError, UpstreamRefused, ValueError) as e:
            reason = f"{replica.name}: {_describe(e)}"
            if sent_tokens == 0 and sent_text == 0:
                raise _BeforeFirstToken(replica, reason) from e
            raise EngineDied(f"The model's server stopped mid-answer ({reason})") from e
        if sent_tokens == 0 and sent_text == 0:
            raise _BeforeFirstToken(replica, f"{replica.name}: the stream ended empty")
        raise EngineDied(f"The model's server ended the answer early ({replica.name})")

    def _refused(self, replica: Replica, status: int, content: bytes) -> None:
        """An answer other than 200, before any token: the client's fault (400) as
        `InvalidSampling`, a busy or failing replica as a reason to try the next one."""
        body = _json_or_empty(content)
        message = _error_message(body)
        if status in (400, 422):
            raise InvalidSampling(_error_param(body) or "prompt", message)
        overloaded = status in (429, 503)
        raise _BeforeFirstToken(
            replica, f"{replica.name}: HTTP {status} {message}", overloaded=overloaded
        )

    def _delta(self, event: dict[str, Any], sent_tokens: int, sent_text: int) -> TextDelta | None:
        choices = event.get("choices") or []
        usage = event.get("usage") or {}
        counted = usage.get("completion_tokens")
        if not choices:
            # the closing usage-only event: a final count for a server that counts late
            if counted is not None and counted != sent_tokens:
                return TextDelta("", int(counted))
            return None
        choice = choices[0]
        text = str(choice.get("text") or "")
        reason = choice.get("finish_reason")
        finish = None if reason is None else _FINISH.get(reason, "stop")
        logprobs = self._logprobs(choice.get("logprobs"), sent_text)
        tokens = int(counted) if counted is not None else sent_tokens + max(1, len(logprobs))
        if not text and finish is None and not logprobs:
            return None
        if not text and not logprobs and counted is None:
            tokens = sent_tokens  # a bare finish event carries no token
        return TextDelta(text, tokens, finish, logprobs)

    def _logprobs(self, raw: dict[str, Any] | None, offset: int) -> tuple[TokenLogprob, ...]:
        """The completions API's logprobs (vLLM names tokens ``token_id:N``) as our records,
        each with its offset in the answer."""
        if not raw or not raw.get("tokens"):
            return ()
        texts = self.codec.token_texts
        records = []
        tops = raw.get("top_logprobs") or [None] * len(raw["tokens"])
        for token, logprob, top in zip(raw["tokens"], raw["token_logprobs"], tops, strict=False):
            token_id = self._token_id(token)
            ranked = sorted((top or {}).items(), key=lambda kv: -kv[1])
            alternatives = tuple((texts(self._token_id(t)), float(lp)) for t, lp in ranked)
            records.append(
                TokenLogprob(
                    token_id,
                    texts(token_id),
                    None if logprob is None else float(logprob),
                    alternatives,
                    offset,
                )
            )
            offset += len(texts(token_id))
        return tuple(records)

    def _token_id(self, token: str) -> int:
        if token.startswith("token_id:"):
            return int(token.removeprefix("token_id:"))
        found = self.codec.tokenizer.convert_tokens_to_ids(token)
        return int(found) if isinstance(found, int) else -1

    async def complete(self, prompt_ids: Sequence[int], params: SamplingParams) -> Completion:
        return await collect(self.stream(prompt_ids, params))

    async def score(self, prompt_ids: Sequence[int], top_k: int) -> PromptScores:
        """Every prompt token's log-probability, from the replica's echoed prompt."""
        tried: set[Replica] = set()
        while (replica := self.replicas.pick(tried)) is not None:
            tried.add(replica)
            body = {
                "model": replica.model,
                "prompt": list(prompt_ids),
                "max_tokens": 1,
                "temperature": 0,
                "echo": True,
                "logprobs": top_k,
                "return_tokens_as_token_ids": True,
            }
            try:
                with self.replicas.outstanding(replica):
                    async with self._client().post(
                        replica.url("/v1/completions"), json=body, headers=replica.headers
                    ) as response:
                        status, content = response.status, await response.read()
            except (aiohttp.ClientError, TimeoutError) as e:
                self.replicas.mark_down(replica, f"{replica.name}: {_describe(e)}")
                continue
            if status != 200:
                try:
                    self._refused(replica, status, content)
                except _BeforeFirstToken as failed:
                    if not failed.overloaded:
                        self.replicas.mark_down(replica, str(failed))
                    continue
            raw = json.loads(content)["choices"][0]["logprobs"]
            n = len(prompt_ids)
            records = self._logprobs(
                {k: raw[k][:n] for k in ("tokens", "token_logprobs", "top_logprobs")}, 0
            )
            return PromptScores(_prompt_offsets(records, top_k))
        raise EngineDied("No replica of this model answered")

    def close(self) -> None:
        self.replicas.close()
        for loop, client in self._clients.items():
            if not loop.is_closed() and not loop.is_running():
                loop.run_until_complete(client.close())
        self._clients.clear()


def _prompt_offsets(records: tuple[TokenLogprob, ...], top_k: int) -> tuple[TokenLogprob, ...]:
    """The first token scored by nothing, and at most ``top_k`` alternatives each (a server
    may add the scored token itself to its top list)."""
    out = []
    for i, r in enumerate(records):
        out.append(
            TokenLogprob(
                r.token_id,
                r.token,
                None if i == 0 else r.logprob,
                () if i == 0 else r.top[:top_k],
                r.text_offset,
            )
        )
    return tuple(out)


async def _events(response: aiohttp.ClientResponse) -> AsyncIterator[dict[str, Any]]:
    """The JSON events of a server-sent event stream, up to ``[DONE]``. The body is read
    to its end even so: a connection whose response was left unread is closed rather than
    kept for the next request."""
    done = False
    async for raw in response.content:
        if done or not raw.startswith(b"data:"):
            continue
        data = raw[5:].strip()
        if data == b"[DONE]":
            done = True
            continue
        yield json.loads(data)


def _json_or_empty(content: bytes) -> dict[str, Any]:
    try:
        body = json.loads(content)
    except ValueError:
        return {"error": {"message": content[:200].decode("utf-8", "replace")}}
    return body if isinstance(body, dict) else {}


def _error_message(body: dict[str, Any]) -> str:
    error = body.get("error")
    if isinstance(error, dict):
        return str(error.get("message") or error)
    if error is not None:
        return str(error)
    return str(body.get("message") or body.get("detail") or "no reason given")


def _error_param(body: dict[str, Any]) -> str | None:
    error = body.get("error")
    return str(error["param"]) if isinstance(error, dict) and error.get("param") else None


def _describe(e: BaseException) -> str:
    return f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
