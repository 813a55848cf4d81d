"""POST /v1/feedback through the in-process app, transcripts for store:true, and the export
of reviewed feedback as SFT and preference datasets (Chinese and English)."""

import json
from pathlib import Path

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.labeling.feedback import Feedback
from modelmint.labeling.transcripts import Transcripts


def _chat(client, text: str, store: bool) -> str:
    r = client.post(
        "/v1/chat/completions",
        json={
            "model": "micro",
            "messages": [{"role": "user", "content": text}],
            "max_tokens": 4,
            "store": store,
        },
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


def test_transcript_only_with_store(gateway) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    kept = _chat(client, "你好", store=True)
    not_kept = _chat(client, "hello", store=False)
    t = Transcripts(store).get(kept)
    assert t is not None and t.request["messages"] == [{"role": "user", "content": "你好"}]
    assert len(t.choices) == 1 and t.request["params"]["max_tokens"] == 4
    assert Transcripts(store).get(not_kept) is None


def test_stream_writes_the_streamed_text(gateway) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    body = {"model": "micro", "prompt": "abc", "max_tokens": 5, "stream": True, "store": True}
    with client.stream("POST", "/v1/completions", json=body) as r:
        lines = [x for x in r.iter_lines() if x.startswith("data: {")]
    chunks = [json.loads(x[6:]) for x in lines]
    text = "".join(c["choices"][0]["text"] for c in chunks if c["choices"])
    t = Transcripts(store).get(chunks[0]["id"])
    assert t is not None and t.choices == [text] and t.request["prompts"] == ["abc"]


def test_feedback_own_tenant_update_and_other_tenant(gateway) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    rid = _chat(client, "hi", store=True)
    r = client.post("/v1/feedback", json={"request_id": rid, "rating": 2, "tags": ["wrong"]})
    assert r.status_code == 201, r.text
    first = r.json()
    assert first["status"] == "new" and first["rating"] == 2 and first["model"].startswith("micro")
    r = client.post("/v1/feedback", json={"request_id": rid, "corrected": "Hello!"})
    assert r.status_code == 200 and r.json()["id"] == first["id"]
    assert r.json()["corrected"] == "Hello!" and r.json()["rating"] is None

    Tenants(store).create("other")
    other = ApiKeys(store, pepper=b"test").create("other").key
    r = client.post(
        "/v1/feedback",
        json={"request_id": rid, "rating": 5},
        headers={"Authorization": f"Bearer {other}"},
    )
    assert r.status_code == 404 and r.json()["error"]["param"] == "request_id"
    r = client.post("/v1/feedback", json={"request_id": "chatcmpl-never", "rating": 5})
    assert r.status_code == 404
    assert Feedback(store).get(first["id"]).corrected == "Hello!"  # unchanged by the 404


def test_feedback_validation_errors(gateway) -> None:
    client = gateway["client"]
    schema = client.get("/openapi.json").json()
    assert "FeedbackRequest" in str(schema["paths"]["/v1/feedback"]["post"]["requestBody"])
    rid = _chat(client, "hi", store=True)
    for body, param in [
        ({"request_id": rid}, None),
        ({"request_id": rid, "rating": 6}, "rating"),
        ({"request_id": rid, "rating": 3, "choice": 1}, "choice"),
        ({"request_id": rid, "rating": 3, "stars": 1}, "stars"),
    ]:
        r = client.post("/v1/feedback", json=body)
        assert r.status_code == 400, (body, r.text)
        err = r.json()["error"]
        assert err["message"] and err["type"] == "invalid_request_error"
        if param:
            assert param in (err["param"] or "") or param in err["message"], err


def test_export_sft_and_preference(gateway, tmp_path: Path) -> None:
    client, store = gateway["client"], gateway["ledger"].store
    zh = _chat(client, "把这句话翻译成英文", store=True)
    en = _chat(client, "Say hello", store=True)
    good = _chat(client, "Tell me a joke", store=True)
    bare = _chat(client, "not kept", store=False)
    client.post("/v1/feedback", json={"request_id": zh, "corrected": "翻译：你好"})
    client.post("/v1/feedback", json={"request_id": en, "corrected": "Hello!", "rating": 1})
    client.post("/v1/feedback", json={"request_id": good, "rating": 5})
    client.post("/v1/feedback", json={"request_id": bare, "rating": 5})
    fb = Feedback(store)
    ids = {r.request_id: r.id for r in fb.list(status="new", model="micro")}
    assert len(ids) == 4
    fb.review(ids[zh], "accept", "ann")
    fb.review(ids[en], "reject", "ann")
    fb.review(ids[good], "accept", "ann")
    fb.review(ids[bare], "accept", "ann")
    catalog = Catalog(store, tmp_path / "artifacts")
    out = fb.export(catalog, "micro", name="fb")
    assert out.skipped_no_transcript == [ids[bare]]
    assert out.sft is not None and out.preference is not None
    sft = out.sft.read_split("train")
    assert len(sft) == 2 and sft[0]["messages"][-1]["content"] == "翻译：你好"
    assert sft[0]["lang"] == "zh"  # the tiny model's own answer may hold any characters
    assert sft[0]["messages"][0] == {"role": "user", "content": "把这句话翻译成英文"}
    t_good = Transcripts(store).get(good)
    assert t_good is not None and sft[1]["messages"][-1]["content"] == t_good.choices[0]
    pref = out.preference.read_split("train")
    t_zh = Transcripts(store).get(zh)
    assert t_zh is not None
    assert [(p["chosen"], p["rejected"]) for p in pref] == [("翻译：你好", t_zh.choices[0])]
    assert "micro:1" in sft[0]["source"] and f"feedback:{ids[zh]}" in sft[0]["source"]
    # the rejected English correction is never exported; there is no other unreviewed one
    both = fb.export(catalog, "micro", name="fb2", include_unreviewed=True)
    assert both.sft_rows == 2
