"""Suggestions from a served LM asked zero-shot over HTTP (``POST /v1/chat/completions`` of
``mint serve`` or any OpenAI-compatible server): the guidelines, the labels and the item go
in, temperature 0, and the answer is read as a label.

Reading is forgiving: case, full-width letters, ``_``/``-``/space, quotes and Chinese or
ASCII punctuation around the label do not matter, and a label found inside a sentence
counts ("The label is refund."). An answer that gives no label, or two different ones where
one is asked, is no suggestion, counted as unparseable.

Confidence: when the server returns ``logprobs`` for the answer's tokens, the probability
the model gave the label's own tokens (the exponent of their summed logprobs); when the
tokens do not line up with the text, that of the first token; without logprobs, none."""

from __future__ import annotations

import math
import re
import string
import time
import unicodedata
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from modelmint.labeling.choices import API_KEY_ENV
from modelmint.labeling.projects import ProjectInfo
from modelmint.labeling.suggest import Proposal, SuggestError, SuggestItem

RETRIES = 4  # more tries after a 429 or 503
MAX_WAIT_S = 60.0
# Chinese and ASCII punctuation and quotes: read as spaces around a label.
PUNCTUATION = set("。，、：；！？「」『』《》【】（）“”‘’…—·～") | set(string.punctuation)
OUT_OF_FIVE = re.compile(r"\s*(/|out of)\s*5(?!\d)", re.IGNORECASE)
NONE_WORDS = {"none", "无", "没有", "no label", "n/a"}

Span = tuple[int, int]


def _fold(text: str) -> str:
    """Lower case, full-width to ASCII, ``_``/``-`` and punctuation to spaces; one
    character out for each character in, so positions still point into the answer."""
    out = []
    for ch in text:
        c = unicodedata.normalize("NFKC", ch).lower()
        c = c if len(c) == 1 else ch
        out.append(" " if c in PUNCTUATION or c in "_-" or c.isspace() else c)
    return "".join(out)


def _word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _edge_ok(text: str, start: int, end: int) -> bool:
    """A label that begins or ends with a letter or digit must not run on into one
    ("refund" is not read in "refunds"; a Chinese label needs no such edge)."""
    before = text[start - 1] if start > 0 else " "
    after = text[end] if end < len(text) else " "
    return not (_word(text[start]) and _word(before)) and not (
        _word(text[end - 1]) and _word(after)
    )


def find_labels(labels: Sequence[str], answer: str) -> list[tuple[str, Span]]:
    """Every label mentioned in the answer with where, in order; longer labels first, so
    ``order status`` is not also read as ``order``."""
    text = _fold(answer)
    taken = [False] * len(text)
    found: list[tuple[str, Span]] = []
    for label in sorted(labels, key=len, reverse=True):
        needle = " ".join(_fold(label).split())
        if not needle:
            continue
        for m in re.finditer(re.escape(needle).replace(r"\ ", r"\s+"), text):
            s, e = m.span()
            if not any(taken[s:e]) and _edge_ok(text, s, e):
                found.append((label, (s, e)))
                for i in range(s, e):
                    taken[i] = True
    return sorted(found, key=lambda f: f[1][0])


def parse_answer(kind: str, labels: Sequence[str], answer: str) -> tuple[Any, list[Span]] | None:
    """The label(s) an answer gives and where they are in it, or None when it gives none
    (or names two different labels where one is asked)."""
    if kind == "rating":  # "4/5", "4 out of 5": the scale is not a second rating
        answer = OUT_OF_FIVE.sub(lambda m: " " * len(m.group()), answer)
    found = find_labels(labels, answer)
    if kind == "multilabel":
        if not found:
            return ([], []) if " ".join(_fold(answer).split()) in NONE_WORDS else None
        chosen = {label for label, _ in found}
        return [label for label in labels if label in chosen], [span for _, span in found]
    if not found:
        return None
    if len({label for label, _ in found}) > 1:
        return None  # "refund or shipping": not one answer
    label, span = found[0]
    return label, [span]


def confidence_from_logprobs(logprobs: Any, answer: str, spans: list[Span]) -> float | None:
    """The probability of the tokens that spell the label (see the module's docstring)."""
    content = logprobs.get("content") if isinstance(logprobs, dict) else None
    if not content or not all(isinstance(t, dict) and "logprob" in t for t in content):
        return None
    tokens = [str(t.get("token", "")) for t in content]
    if "".join(tokens) != answer or not spans:
        first = next((t for t in content if str(t.get("token", "")).strip()), content[0])
        return min(1.0, math.exp(float(first["logprob"])))
    total, pos = 0.0, 0
    for token, t in zip(tokens, content, strict=True):
        start, end = pos, pos + len(token)
        pos = end
        if any(start < e and s < end for s, e in spans):
            total += float(t["logprob"])
    return min(1.0, math.exp(total))


def instructions(project: ProjectInfo) -> str:
    labels = ", ".join(project.labels)
    ask = {
        "classification": f"Answer with exactly one label from: {labels}. Nothing else.",
        "multilabel": (
            f"Answer with every label that applies, comma-separated, from: {labels}; "
            "or none. Nothing else."
        ),
        "rating": "Answer with one whole number from 1 to 5. Nothing else.",
        "preference": "The item shows two answers, A and B. Answer A or B: the better one.",
    }[project.kind]
    guide = project.guidelines.strip()
    return f"{guide}\n\n{ask}" if guide else ask


def chat_url(base_url: str) -> str:
    """``http://host:8000`` or ``http://host:8000/v1`` (as OpenAI clients take it)."""
    base = base_url.rstrip("/")
    if base.endswith("/chat/completions"):
        return base
    return f"{base}/chat/completions" if base.endswith("/v1") else f"{base}/v1/chat/completions"


def _message(r: httpx.Response) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:200]
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict):
        return str(error.get("message", error))
    return str(body)[:200]


def _code(r: httpx.Response) -> str | None:
    try:
        error = r.json().get("error")
    except (ValueError, AttributeError):
        return None
    return str(error.get("code")) if isinstance(error, dict) else None


def _wait(r: httpx.Response, attempt: int) -> float:
    raw = r.headers.get("retry-after", "")
    try:
        return min(MAX_WAIT_S, max(0.0, float(raw)))
    except ValueError:
        return min(MAX_WAIT_S, 2.0**attempt)


class ZeroShotSuggester:
    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key: str | None = None,
        max_tokens: int = 32,
        timeout_s: float = 120.0,
        client: httpx.Client | None = None,
        sleep: Callable[[float], None] = time.sleep,
        retries: int = RETRIES,
    ) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SuggestError(f"--base-url {base_url!r}: give an http(s) URL of the server")
        self.url = chat_url(base_url)
        self.base_url, self.model = base_url, model
        self.headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.max_tokens = max_tokens
        self.client = client or httpx.Client(timeout=timeout_s)
        self.sleep, self.retries = sleep, retries
        self.batch_size = 8
        self.source = f"zero-shot:{model}"
        self.project: ProjectInfo | None = None
        self.system = ""

    def config(self) -> dict[str, Any]:
        # the key is a secret: only where to read it from is kept
        return {
            "source": "zero-shot",
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": API_KEY_ENV,
            "max_tokens": self.max_tokens,
        }

    def prepare(self, project: ProjectInfo, items: Sequence[SuggestItem]) -> None:
        if project.kind not in ("classification", "multilabel", "rating", "preference"):
            raise SuggestError(f"a zero-shot LM cannot suggest for a {project.kind} project")
        self.project = project
        self.system = instructions(project)

    def ask(self, text: str) -> dict[str, Any]:
        """One chat completion: the response body, after retrying 429 and 503; for an
        item too long for the model, ``{"error": message}``."""
        body = {
            "model": self.model,
            "messages": [
                {"role": "system", "content": self.system},
                {"role": "user", "content": text},
            ],
            "temperature": 0,
            "max_tokens": self.max_tokens,
            "logprobs": True,
            "top_logprobs": 5,
        }
        for attempt in range(self.retries + 1):
            try:
                r = self.client.post(self.url, json=body, headers=self.headers)
            except httpx.ConnectError as e:
                raise SuggestError(
                    f"cannot reach {self.url}: {e}; is the server running (`mint serve`)? "
                    "check --base-url"
                ) from None
            except httpx.TimeoutException:
                raise SuggestError(f"{self.url} did not answer in time; try again") from None
            except httpx.HTTPError as e:
                raise SuggestError(f"{self.url}: {e}") from None
            if r.status_code in (429, 503) and attempt < self.retries:
                self.sleep(_wait(r, attempt))
                continue
            if r.status_code in (401, 403):
                raise SuggestError(
                    f"{self.url} answered {r.status_code} ({_message(r)}): the server refused "
                    f"the API key; give one with --api-key or {API_KEY_ENV}"
                )
            if r.status_code == 429:
                raise SuggestError(
                    f"{self.url} answered 429 ({_message(r)}) {self.retries + 1} times: "
                    "rate limited; try again later or ask for a higher limit"
                )
            if r.status_code == 400 and _code(r) == "context_length_exceeded":
                return {"error": _message(r)}  # this item only: it is too long
            if r.status_code != 200:
                raise SuggestError(f"{self.url} answered {r.status_code}: {_message(r)}")
            try:
                data: dict[str, Any] = r.json()
                data["choices"][0]["message"]["content"]
            except (ValueError, KeyError, IndexError, TypeError):
                raise SuggestError(
                    f"{self.url} answered 200 but not a chat completion: {r.text[:200]}"
                ) from None
            return data
        raise AssertionError("unreachable")

    def suggest(self, batch: Sequence[SuggestItem]) -> list[Proposal]:
        assert self.project is not None, "prepare() first"
        out = []
        for item in batch:
            data = self.ask(item.text)
            if "error" in data:
                out.append(Proposal(item.id, None, None, error=str(data["error"])))
                continue
            choice = data["choices"][0]
            answer = str(choice["message"]["content"] or "")
            parsed = parse_answer(self.project.kind, self.project.labels, answer)
            if parsed is None:
                out.append(Proposal(item.id, None, None, answer=answer))
                continue
            value, spans = parsed
            confidence = confidence_from_logprobs(choice.get("logprobs"), answer, spans)
            out.append(Proposal(item.id, value, confidence, answer=answer))
        return out
