"""/v1/completions as lm-evaluation-harness and OpenAI's legacy clients use it: token-id and
batched prompts, echo, logprobs."""

import json
import math

import openai
import pytest
import torch
from fastapi.testclient import TestClient

from modelmint.serving import Engine


def _engine(c: TestClient) -> Engine:
    engine: Engine = c.app.state.context.models["micro"].engine  # type: ignore[attr-defined]
    return engine


def _client(gateway: dict) -> openai.OpenAI:
    # The TestClient is an httpx.Client, so the official client talks to the app in-process.
    return openai.OpenAI(
        base_url="http://testserver/v1",
        api_key=gateway["key"],
        http_client=gateway["client"],
        max_retries=0,
    )


def _reference_logprobs(engine: Engine, ids: list[int]) -> list[float]:
    with torch.no_grad():
        logits = engine.runner.model(input_ids=torch.tensor([ids])).logits[0]
    logprobs = torch.log_softmax(logits.float(), dim=-1)
    return [float(logprobs[i - 1, ids[i]]) for i in range(1, len(ids))]


def test_echo_scores_a_token_prompt_without_generating(gateway) -> None:
    engine = _engine(gateway["client"])
    ids = engine.codec.encode("您好，我的订单什么时候发货？")
    r = _client(gateway).completions.create(
        model="micro", prompt=ids, echo=True, logprobs=5, max_tokens=0
    )
    choice = r.choices[0]
    assert choice.text == engine.codec.decode(ids) and choice.finish_reason == "length"
    lp = choice.logprobs
    assert lp is not None and lp.tokens is not None and lp.top_logprobs is not None
    assert len(lp.tokens) == len(ids) == len(lp.text_offset or [])
    assert lp.token_logprobs is not None and lp.token_logprobs[0] is None
    assert lp.top_logprobs[0] is None
    assert lp.token_logprobs[1:] == pytest.approx(_reference_logprobs(engine, ids), abs=1e-5)
    rows = zip(lp.tokens[1:], lp.token_logprobs[1:], lp.top_logprobs[1:], strict=True)
    for token, logprob, top in rows:
        assert 5 <= len(top) <= 6 and top[token] == logprob
        assert all(v <= 0 for v in top.values())
        assert sum(math.exp(v) for v in top.values()) <= 1 + 1e-5
    assert r.usage is not None
    assert (r.usage.prompt_tokens, r.usage.completion_tokens) == (len(ids), 0)
    summary = gateway["ledger"].summarize("acme")
    assert (summary.requests, summary.prompt_tokens, summary.completion_tokens) == (1, len(ids), 0)


def test_harness_loglikelihood_request(gateway) -> None:
    """What lm-eval's local-completions sends: a batch of token prompts, echo, one generated
    token, one alternative; it reads token_logprobs[ctxlen:-1]."""
    c = gateway["client"]
    engine = _engine(c)
    batch = [engine.codec.encode("Where is my order? It"), engine.codec.encode("退款已经处理")]
    body = {
        "model": "micro",
        "prompt": batch,
        "echo": True,
        "logprobs": 1,
        "max_tokens": 1,
        "temperature": 0,
        "seed": 1234,
    }
    r = c.post("/v1/completions", json=body)
    assert r.status_code == 200, r.text
    choices = r.json()["choices"]
    assert [ch["index"] for ch in choices] == [0, 1]
    for ids, ch in zip(batch, choices, strict=True):
        lp = ch["logprobs"]
        assert len(lp["tokens"]) == len(ids) + 1
        assert lp["token_logprobs"][1:-1] == pytest.approx(
            _reference_logprobs(engine, ids), abs=1e-5
        )
        # Greedy: the generated token is the best alternative at the last position.
        assert lp["token_logprobs"][-1] == max(lp["top_logprobs"][-1].values())
        assert ch["text"].startswith(engine.codec.decode(ids))
        assert lp["text_offset"][-1] == len(engine.codec.decode(ids))
    usage = r.json()["usage"]
    assert usage["prompt_tokens"] == sum(map(len, batch)) and usage["completion_tokens"] == 2
    summary = gateway["ledger"].summarize("acme")
    assert (summary.prompt_tokens, summary.completion_tokens) == (sum(map(len, batch)), 2)


def test_logprobs_of_generated_tokens(gateway) -> None:
    r = _client(gateway).completions.create(
        model="micro", prompt="Hello", logprobs=2, max_tokens=8, temperature=0
    )
    lp = r.choices[0].logprobs
    assert lp is not None and lp.token_logprobs is not None and lp.top_logprobs is not None
    assert r.usage is not None and len(lp.token_logprobs) == r.usage.completion_tokens
    assert lp.text_offset is not None and lp.text_offset[0] == 0
    assert lp.text_offset == sorted(lp.text_offset)
    for logprob, top in zip(lp.token_logprobs, lp.top_logprobs, strict=True):
        assert logprob == max(top.values())


def test_batch_of_text_prompts(gateway) -> None:
    prompts = ["Hello", "您好", "Refund"]
    r = _client(gateway).completions.create(
        model="micro", prompt=prompts, max_tokens=3, seed=7, echo=True
    )
    assert [ch.index for ch in r.choices] == [0, 1, 2]
    assert all(ch.text.startswith(p) for ch, p in zip(r.choices, prompts, strict=True))
    assert all(ch.logprobs is None for ch in r.choices)
    assert gateway["ledger"].summarize("acme").requests == 1


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    assert set(r.json()["error"]) == {"message", "type", "param", "code"}
    return r.json()["error"]


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"prompt": [1, 100_000]}, "prompt"),
        ({"prompt": [[1, 2], [-1]]}, "prompt"),
        ({"prompt": []}, "prompt"),
        ({"prompt": [[]]}, "prompt"),
        ({"prompt": [1, "a"]}, "prompt"),
        ({"prompt": [1.5]}, "prompt"),
        ({"prompt": ""}, "prompt"),
        ({"prompt": "x", "logprobs": 21}, "logprobs"),
        ({"prompt": "x", "logprobs": -1}, "logprobs"),
        ({"prompt": "x", "max_tokens": 0}, "max_tokens"),
        ({"prompt": "x", "stream": True, "echo": True}, "stream"),
        ({"prompt": ["x", "y"], "stream": True}, "stream"),
    ],
)
def test_bad_prompt_or_logprobs_is_400_naming_it(gateway, body: dict, param: str) -> None:
    err = _error(gateway["client"].post("/v1/completions", json={"model": "micro", **body}), 400)
    assert err["param"] == param and err["type"] == "invalid_request_error"
    assert gateway["ledger"].summarize("acme").requests == 0


def test_out_of_vocabulary_id_is_named(gateway) -> None:
    with pytest.raises(openai.BadRequestError) as e:
        _client(gateway).completions.create(model="micro", prompt=[5, 99_999], max_tokens=1)
    assert e.value.param == "prompt" and "99999" in e.value.message


def test_scoring_may_fill_the_context_but_generating_may_not(gateway) -> None:
    n = gateway["context_length"]
    ids = [10] * n
    c = gateway["client"]
    body = {"model": "micro", "prompt": ids, "echo": True, "logprobs": 0, "max_tokens": 0}
    r = c.post("/v1/completions", json=body)
    assert r.status_code == 200, r.text
    assert len(r.json()["choices"][0]["logprobs"]["tokens"]) == n
    err = _error(c.post("/v1/completions", json={**body, "max_tokens": 1}), 400)
    assert err["code"] == "context_length_exceeded"


def test_streamed_logprobs_equal_the_whole_answers(gateway) -> None:
    c = gateway["client"]
    body = {"model": "micro", "prompt": "您好", "max_tokens": 12, "seed": 3, "logprobs": 1}
    whole = c.post("/v1/completions", json=body).json()["choices"][0]
    r = c.post("/v1/completions", json={**body, "stream": True})
    events = [e[len("data: ") :] for e in r.text.split("\n\n") if e.startswith("data: ")]
    chunks = [json.loads(e)["choices"][0] for e in events[:-1]]
    assert "".join(ch["text"] for ch in chunks) == whole["text"]
    for field in ("tokens", "token_logprobs", "top_logprobs", "text_offset"):
        streamed = [v for ch in chunks for v in ch["logprobs"][field]]
        assert streamed == whole["logprobs"][field], field


def test_chat_logprobs_in_openais_shape(gateway) -> None:
    engine = _engine(gateway["client"])
    client = _client(gateway)
    messages = [{"role": "user", "content": "您好，我的订单什么时候发货？"}]
    r = client.chat.completions.create(
        model="micro", messages=messages, max_tokens=6, temperature=0, logprobs=True, top_logprobs=3
    )
    choice = r.choices[0]
    assert choice.logprobs is not None and choice.logprobs.content is not None
    content = choice.logprobs.content
    assert r.usage is not None and len(content) == r.usage.completion_tokens == 6
    # greedy: each chosen token is the best alternative, and the tokens spell the answer
    prompt_ids = engine.codec.encode(engine.codec.render_chat(messages))
    answer_ids = engine.codec.encode(choice.message.content or "")
    reference = _reference_logprobs(engine, prompt_ids + answer_ids)[len(prompt_ids) - 1 :]
    for t in content:
        assert len(t.top_logprobs) == 3
        assert t.top_logprobs[0].logprob == pytest.approx(t.logprob, abs=1e-6)
        assert [a.logprob for a in t.top_logprobs] == sorted(
            (a.logprob for a in t.top_logprobs), reverse=True
        )
        assert t.bytes == list(t.token.encode("utf-8"))
    if len(answer_ids) == 6:  # the answer re-encodes to the same tokens
        assert [t.logprob for t in content] == pytest.approx(reference, abs=1e-4)

    chunks = list(
        client.chat.completions.create(
            model="micro",
            messages=messages,
            max_tokens=6,
            temperature=0,
            logprobs=True,
            stream=True,
        )
    )
    streamed = [
        t for c in chunks for ch in c.choices if ch.logprobs for t in ch.logprobs.content or []
    ]
    assert [t.logprob for t in streamed] == pytest.approx([t.logprob for t in content], abs=1e-6)
    assert all(t.top_logprobs == [] for t in streamed)


def test_chat_top_logprobs_needs_logprobs(gateway) -> None:
    with pytest.raises(openai.BadRequestError, match="top_logprobs needs logprobs"):
        _client(gateway).chat.completions.create(
            model="micro", messages=[{"role": "user", "content": "Hi"}], top_logprobs=2
        )
