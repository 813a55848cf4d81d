"""Typed request and response bodies of the OpenAI-compatible API."""

from __future__ import annotations

from typing import Literal, cast

from pydantic import BaseModel, ConfigDict, Field, StrictInt, field_validator, model_validator

# Every field a request can carry is bounded here, so a value no engine can run with is a
# 400 naming the field before anything is reserved or queued.
# vLLM's default ceiling for alternatives per position (OpenAI's own is 5).
MAX_LOGPROBS = 20
MAX_CHOICES = 16
# prompts x n: what one request may put in the engine's queue at once
MAX_SEQUENCES = 64
MAX_EMBEDDING_INPUTS = 2048  # as OpenAI
MAX_STOP_SEQUENCES = 4  # as OpenAI
MAX_STOP_CHARS = 256
MAX_INT32 = 2**31 - 1
INT64 = (-(2**63), 2**63 - 1)  # a seed, as vLLM bounds it
MAX_NAME_CHARS = 256  # model names, user ids, message names

PROMPT_SHAPES = "a string, a list of strings, a list of token ids or a list of lists of token ids"


class _Request(BaseModel):
    # Parameters we do not implement are accepted and ignored, as most OpenAI-compatible
    # servers do, so existing clients keep working. NaN and infinities are never a value.
    model_config = ConfigDict(extra="ignore", allow_inf_nan=False)


class StreamOptions(BaseModel):
    include_usage: bool = False
    # vLLM's extension: usage on every chunk too, so a gateway in front counts as it goes
    continuous_usage_stats: bool = False


class SamplingFields(_Request):
    model: str = Field(max_length=MAX_NAME_CHARS)
    temperature: float = Field(1.0, ge=0.0, le=2.0)
    top_p: float = Field(1.0, gt=0.0, le=1.0)
    # Not OpenAI's, but vLLM's and transformers': -1 or 0 for all tokens.
    top_k: int = Field(0, ge=-1, le=MAX_INT32)
    presence_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    frequency_penalty: float = Field(0.0, ge=-2.0, le=2.0)
    repetition_penalty: float = Field(1.0, gt=0.0, le=10.0)
    n: int = Field(1, ge=1, le=MAX_CHOICES)
    stream: bool = False
    stream_options: StreamOptions | None = None
    stop: str | list[str] | None = None
    seed: int | None = Field(None, ge=INT64[0], le=INT64[1])
    user: str | None = Field(None, max_length=MAX_NAME_CHARS)
    # OpenAI's: keep the request and its answers (a transcript) so feedback can train on them
    store: bool = False

    @field_validator("stop")
    @classmethod
    def _bounded_stops(cls, v: str | list[str] | None) -> str | list[str] | None:
        stops = [v] if isinstance(v, str) else v or []
        if len(stops) > MAX_STOP_SEQUENCES:
            raise ValueError(f"at most {MAX_STOP_SEQUENCES} stop sequences are allowed")
        if any(len(s) > MAX_STOP_CHARS for s in stops):
            raise ValueError(f"a stop sequence has at most {MAX_STOP_CHARS} characters")
        return v

    def kept_params(self) -> dict[str, object]:
        """The sampling parameters a transcript records."""
        return self.model_dump(
            include={"model", "temperature", "top_p", "top_k", "n", "seed", "stop"}
            | {"presence_penalty", "frequency_penalty", "repetition_penalty"}
        )

    def stream_usage(self) -> bool:
        """Whether a stream ends with a usage event (OpenAI sends one only when asked)."""
        return bool(self.stream_options and self.stream_options.include_usage)

    def continuous_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.continuous_usage_stats)

    def stop_list(self) -> list[str]:
        if self.stop is None:
            return []
        return [self.stop] if isinstance(self.stop, str) else [s for s in self.stop if s]


def _is_token_ids(v: object) -> bool:
    return isinstance(v, list) and bool(v) and all(type(t) is int for t in v)


class CompletionRequest(SamplingFields):
    prompt: str | list[str] | list[StrictInt] | list[list[StrictInt]]
    # 0 only with echo: score the prompt without generating (lm-evaluation-harness does so).
    max_tokens: int | None = Field(16, ge=0, le=MAX_INT32)
    echo: bool = False
    logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)

    @field_validator("prompt", mode="before")
    @classmethod
    def _prompt_shape(cls, v: object) -> object:
        if isinstance(v, str) or _is_token_ids(v):
            return v
        if not isinstance(v, list) or not v:
            raise ValueError(f"must be {PROMPT_SHAPES}, and not empty")
        if all(isinstance(p, str) for p in v) or all(_is_token_ids(p) for p in v):
            if len(v) > MAX_SEQUENCES:
                raise ValueError(f"at most {MAX_SEQUENCES} prompts are allowed in one request")
            return v
        raise ValueError(f"must be {PROMPT_SHAPES}, and not empty")

    def prompt_list(self) -> list[str | list[int]]:
        """One entry per prompt: its text, or its token ids."""
        p = self.prompt
        if isinstance(p, str):
            return [p]
        if _is_token_ids(p):
            return [cast(list[int], p)]
        return cast(list[str | list[int]], list(p))


class TextPart(BaseModel):
    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    role: Literal["system", "user", "assistant", "developer"]
    content: str | list[TextPart]
    name: str | None = Field(None, max_length=MAX_NAME_CHARS)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        return "".join(p.text for p in self.content)

    def turn(self) -> dict[str, str]:
        """The message as a chat template takes it: chat and /tokenize render the same
        prompt. "developer" is the newer name OpenAI gives the system role."""
        return {"role": "system" if self.role == "developer" else self.role, "content": self.text()}


class ChatRequest(SamplingFields):
    messages: list[ChatMessage] = Field(min_length=1)
    max_tokens: int | None = Field(None, ge=1, le=MAX_INT32)
    max_completion_tokens: int | None = Field(None, ge=1, le=MAX_INT32)
    logprobs: bool = False
    top_logprobs: int | None = Field(None, ge=0, le=MAX_LOGPROBS)

    @model_validator(mode="after")
    def _top_needs_logprobs(self) -> ChatRequest:
        if self.top_logprobs is not None and not self.logprobs:
            raise ValueError("top_logprobs needs logprobs set to true")
        return self

    def engine_logprobs(self) -> int | None:
        """How many alternatives the engine records per token (None: no logprobs)."""
        return (self.top_logprobs or 0) if self.logprobs else None


class Usage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


class CompletionLogprobs(BaseModel):
    """OpenAI's legacy shape: one entry per token in each list. The first prompt token of
    an echo has no logprob and no alternatives (null)."""

    tokens: list[str]
    token_logprobs: list[float | None]
    top_logprobs: list[dict[str, float] | None]
    text_offset: list[int]


class CompletionChoice(BaseModel):
    index: int = 0
    text: str
    finish_reason: str | None
    logprobs: CompletionLogprobs | None = None


class CompletionResponse(BaseModel):
    id: str
    object: Literal["text_completion"] = "text_completion"
    created: int
    model: str
    choices: list[CompletionChoice]
    usage: Usage | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str


class TopLogprob(BaseModel):
    token: str
    logprob: float
    bytes: list[int] | None


class ChatTokenLogprob(TopLogprob):
    top_logprobs: list[TopLogprob]


class ChatLogprobs(BaseModel):
    """OpenAI's chat shape: one entry per answer token, with its top alternatives."""

    content: list[ChatTokenLogprob] | None
    refusal: list[ChatTokenLogprob] | None = None


class ChatChoice(BaseModel):
    index: int = 0
    message: AssistantMessage
    finish_reason: str | None
    logprobs: ChatLogprobs | None = None


class ChatResponse(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[ChatChoice]
    usage: Usage


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "modelmint"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


# The evaluation helpers at the server root, in vLLM's shapes.


class TokenizeRequest(_Request):
    model: str | None = None
    prompt: str | None = None
    messages: list[ChatMessage] | None = None
    # False by default, unlike vLLM: /v1/completions adds no special tokens to a text prompt,
    # and /tokenize should count what it will.
    add_special_tokens: bool = False
    add_generation_prompt: bool = True
    return_token_strs: bool = False


class TokenizeResponse(BaseModel):
    count: int
    max_model_len: int
    tokens: list[int]
    token_strs: list[str] | None = None


class DetokenizeRequest(_Request):
    model: str | None = None
    tokens: list[StrictInt]


class DetokenizeResponse(BaseModel):
    prompt: str


class TokenizerInfoResponse(BaseModel):
    tokenizer_class: str
    bos_token: str | None
    eos_token: str | None
    pad_token: str | None
    unk_token: str | None
    model_max_length: int
    chat_template: str | None


class EmbeddingRequest(_Request):
    model: str
    input: str | list[str]
    # The official client asks for base64 by default (packed little-endian float32).
    encoding_format: Literal["float", "base64"] = "float"
    user: str | None = None

    @field_validator("input")
    @classmethod
    def _not_empty(cls, v: str | list[str]) -> str | list[str]:
        if (isinstance(v, list) and not v) or (isinstance(v, str) and not v):
            raise ValueError("input must be a non-empty string or list of strings")
        if isinstance(v, list) and len(v) > MAX_EMBEDDING_INPUTS:
            raise ValueError(f"at most {MAX_EMBEDDING_INPUTS} inputs per request")
        return v


class EmbeddingData(BaseModel):
    object: Literal["embedding"] = "embedding"
    index: int
    embedding: list[float] | str


class EmbeddingUsage(BaseModel):
    prompt_tokens: int
    total_tokens: int


class EmbeddingResponse(BaseModel):
    object: Literal["list"] = "list"
    data: list[EmbeddingData]
    model: str
    usage: EmbeddingUsage
