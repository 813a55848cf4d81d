import json

import pytest
from fastapi.testclient import TestClient


def _error(r, status: int) -> dict:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"message", "type", "param", "code"}
    return body["error"]


def _sse(r) -> list:
    events = [line[len("data: ") :] for line in r.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    return [json.loads(e) for e in events[:-1]]


def test_key_is_required(gateway) -> None:
    c: TestClient = gateway["client"]
    body = {"model": "micro", "prompt": "hi"}
    err = _error(c.post("/v1/completions", json=body, headers={"Authorization": ""}), 401)
    assert err["code"] == "invalid_api_key"
    wrong = "Bearer " + gateway["key"][:-2] + "zz"
    err = _error(c.post("/v1/completions", json=body, headers={"Authorization": wrong}), 401)
    assert gateway["key"] not in err["message"]
    _error(c.get("/v1/models", headers={"Authorization": "Bearer nope"}), 401)


def test_models_lists_the_served_model(gateway) -> None:
    r = gateway["client"].get("/v1/models")
    assert r.status_code == 200
    assert [m["id"] for m in r.json()["data"]] == ["micro"]
    assert gateway["client"].get("/v1/models/micro:1").json()["id"] == "micro"


def test_completion_usage_is_metered_exactly(gateway) -> None:
    c = gateway["client"]
    r = c.post(
        "/v1/completions",
        json={"model": "micro", "prompt": "您好", "max_tokens": 7, "temperature": 0},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "text_completion"
    assert body["choices"][0]["finish_reason"] in ("stop", "length")
    usage = body["usage"]
    assert 1 <= usage["completion_tokens"] <= 7
    summary = gateway["ledger"].summarize("acme")
    assert summary.requests == 1
    assert summary.prompt_tokens == usage["prompt_tokens"]
    assert summary.completion_tokens == usage["completion_tokens"]


def test_chat_stream_has_openai_chunks_usage_and_done(gateway) -> None:
    c = gateway["client"]
    r = c.post(
        "/v1/chat/completions",
        json={
            "model": "micro",
            "messages": [{"role": "user", "content": "我的订单在哪里？"}],
            "stream": True,
            "stream_options": {"include_usage": True},
            "max_tokens": 20,
            "seed": 3,
        },
    )
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/event-stream")
    chunks = _sse(r)
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    assert all(ch["object"] == "chat.completion.chunk" for ch in chunks)
    finals = [ch for ch in chunks if ch["choices"] and ch["choices"][0]["finish_reason"]]
    assert len(finals) == 1
    usage_chunk = chunks[-1]
    assert usage_chunk["choices"] == [] and usage_chunk["usage"]["completion_tokens"] >= 1
    "".join(ch["choices"][0]["delta"].get("content", "") for ch in chunks if ch["choices"])
    summary = gateway["ledger"].summarize("acme")
    assert summary.completion_tokens == usage_chunk["usage"]["completion_tokens"]
    assert summary.prompt_tokens == usage_chunk["usage"]["prompt_tokens"]


def test_stream_and_whole_answer_agree_for_the_same_seed(gateway) -> None:
    c = gateway["client"]
    body = {"model": "micro", "prompt": "Where is", "max_tokens": 15, "seed": 11}
    whole = c.post("/v1/completions", json=body).json()["choices"][0]["text"]
    chunks = _sse(c.post("/v1/completions", json={**body, "stream": True}))
    assert "".join(ch["choices"][0]["text"] for ch in chunks) == whole
    assert "usage" not in chunks[0]


def test_stop_sequence_ends_the_answer(gateway) -> None:
    c = gateway["client"]
    body = {"model": "micro", "prompt": "Hello", "max_tokens": 30, "seed": 5}
    free = c.post("/v1/completions", json=body).json()["choices"][0]["text"]
    if len(free) < 4:
        pytest.skip("the random model stopped too early to test a stop string")
    stop = free[2:4]
    cut = c.post("/v1/completions", json={**body, "stop": [stop]}).json()["choices"][0]
    assert cut["text"] == free[: free.find(stop)]
    assert cut["finish_reason"] == "stop"


def test_unknown_model_is_404(gateway) -> None:
    err = _error(
        gateway["client"].post("/v1/completions", json={"model": "gpt-9", "prompt": "x"}), 404
    )
    assert err["code"] == "model_not_found" and err["param"] == "model"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("temperature", 5),
        ("top_p", 0),
        ("max_tokens", 0),
        ("n", 17),
        ("presence_penalty", 3),
        ("stop", ["a", "b", "c", "d", "e"]),
    ],
)
def test_bad_parameter_is_400_naming_it(gateway, field: str, value) -> None:
    body = {"model": "micro", "prompt": "x", field: value}
    err = _error(gateway["client"].post("/v1/completions", json=body), 400)
    assert err["param"] == field
    assert field in err["message"]


def test_missing_field_is_400(gateway) -> None:
    err = _error(gateway["client"].post("/v1/chat/completions", json={"model": "micro"}), 400)
    assert err["param"] == "messages"


def test_malformed_json_is_400(gateway) -> None:
    r = gateway["client"].post(
        "/v1/chat/completions",
        content=b'{"model": "micro", ',
        headers={"Content-Type": "application/json"},
    )
    err = _error(r, 400)
    assert "JSON" in err["message"]


def test_prompt_longer_than_context_is_400_with_both_counts(gateway) -> None:
    n = gateway["context_length"]
    long_prompt = "订单 " * (n * 2)
    err = _error(
        gateway["client"].post(
            "/v1/completions", json={"model": "micro", "prompt": long_prompt, "max_tokens": 10}
        ),
        400,
    )
    assert err["code"] == "context_length_exceeded"
    assert f"maximum context length is {n} tokens" in err["message"]
    assert "in the prompt" in err["message"]
    assert gateway["ledger"].summarize("acme").requests == 0


def test_unknown_route_is_404_in_openai_shape(gateway) -> None:
    _error(gateway["client"].get("/v1/nothing"), 404)


def test_health_needs_no_key(gateway) -> None:
    r = gateway["client"].get("/health", headers={"Authorization": ""})
    assert r.json() == {"status": "ok", "models": ["micro"]}


def test_n_choices_each_draw_their_own_tokens(gateway) -> None:
    body = {"model": "micro", "prompt": "您好", "max_tokens": 12, "n": 3, "seed": 5}
    r = gateway["client"].post("/v1/completions", json=body)
    assert r.status_code == 200, r.text
    choices = r.json()["choices"]
    assert [c["index"] for c in choices] == [0, 1, 2]
    assert len({c["text"] for c in choices}) > 1
    again = gateway["client"].post("/v1/completions", json=body).json()["choices"]
    assert [c["text"] for c in again] == [c["text"] for c in choices]
    usage = r.json()["usage"]
    assert usage["completion_tokens"] <= 36 and usage["prompt_tokens"] < usage["completion_tokens"]


def test_n_choices_stream_with_their_index(gateway) -> None:
    body = {
        "model": "micro",
        "messages": [{"role": "user", "content": "您好"}],
        "max_tokens": 8,
        "n": 2,
        "seed": 1,
        "stream": True,
    }
    with gateway["client"].stream("POST", "/v1/chat/completions", json=body) as r:
        assert r.status_code == 200
        events = [line[6:] for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    finished = {c["choices"][0]["index"] for c in chunks if c["choices"][0]["finish_reason"]}
    assert finished == {0, 1}
