"""POST /v1/feedback refuses what it could not store or should not keep: overlong or empty
tags, too many tags, NUL characters, a choice beyond any request's answers; each a 400 in
OpenAI's error shape naming the field, and nothing recorded."""

from modelmint.labeling.feedback import Feedback


def _request_id(client) -> str:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "micro",
            "messages": [{"role": "user", "content": "hi"}],
            "max_tokens": 2,
            "store": True,
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_feedback_fields_are_bounded(gateway) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    rid = _request_id(client)
    for extra, param in [
        ({"tags": ["x" * 101]}, "tags.0"),
        ({"tags": ["ok", "长" * 101]}, "tags.1"),
        ({"tags": [""]}, "tags.0"),
        ({"tags": [f"t{i}" for i in range(21)]}, "tags"),
        ({"tags": ["a\x00b"]}, "tags.0"),
        ({"comment": "a\x00b"}, "comment"),
        ({"corrected": "a\x00b"}, "corrected"),
        ({"choice": 2**40}, "choice"),
    ]:
        r = client.post("/v1/feedback", json={"request_id": rid, "rating": 3, **extra})
        assert r.status_code == 400, (extra, r.text)
        err = r.json()["error"]
        assert err["param"] == param, (extra, err)
        assert err["type"] == "invalid_request_error" and param in err["message"], err
    r = client.post("/v1/feedback", json={"request_id": "a\x00b", "rating": 3})
    assert r.status_code == 400 and r.json()["error"]["param"] == "request_id", r.text
    assert Feedback(store).list() == []

    # at the bounds: accepted
    r = client.post(
        "/v1/feedback",
        json={"request_id": rid, "rating": 3, "tags": ["长" * 100] + ["t"] * 19},
    )
    assert r.status_code == 201, r.text
    assert len(r.json()["tags"]) == 20


def test_the_bounds_are_documented(gateway) -> None:
    schema = gateway["client"].get("/openapi.json").json()
    tags = schema["components"]["schemas"]["FeedbackRequest"]["properties"]["tags"]
    assert tags["maxItems"] == 20 and tags["items"]["maxLength"] == 100
