"""The Files API through the official ``openai`` client, unmodified: upload, list, retrieve,
content and delete in OpenAI's shapes; Chinese content back byte for byte; a bad line named
with its field and nothing kept; the size limit; and another tenant's files answered 404."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest
from fastapi.testclient import TestClient

from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import build_gateway, create_app
from modelmint.gateway.body_limit import FORM_ALLOWANCE
from modelmint.store import Store
from support.gateway import gateway_settings

FILE_KEYS = {"id", "object", "bytes", "created_at", "filename", "purpose", "status"}


def _client(http: TestClient, key: str) -> openai.OpenAI:
    # The TestClient is an httpx.Client, so the official client talks to the app in-process.
    return openai.OpenAI(
        base_url="http://testserver/v1", api_key=key, http_client=http, max_retries=0
    )


def _line(*turns: tuple[str, str]) -> str:
    messages = [{"role": r, "content": c} for r, c in turns]
    return json.dumps({"messages": messages}, ensure_ascii=False) + "\n"


CHINESE = (
    _line(
        ("system", "你是一家网店的客服。"),
        ("user", "我的订单什么时候发货？"),
        ("assistant", "您好！明天发货。🙂"),
    )
    + _line(("user", "可以开发票吗？\u2028换行"), ("assistant", "可以，请提供抬头和税号。"))
).encode()


def _files_dir(gateway: dict) -> Path:
    path: Path = gateway["client"].app.state.context.files.dir
    return path


def _other_tenant(gateway: dict) -> str:
    store = gateway["ledger"].store
    Tenants(store).create("globex")
    return ApiKeys(store, pepper=b"test").create("globex").key


def test_upload_list_retrieve_content_delete(gateway: dict) -> None:
    client = _client(gateway["client"], gateway["key"])
    f = client.files.create(file=("客服.jsonl", CHINESE), purpose="fine-tune")
    assert f.id.startswith("file-") and f.object == "file"
    assert (f.bytes, f.filename, f.purpose, f.status) == (
        len(CHINESE),
        "客服.jsonl",
        "fine-tune",
        "processed",
    )
    assert client.files.retrieve(f.id) == f
    assert [x.id for x in client.files.list()] == [f.id]
    assert [x.id for x in client.files.list(purpose="fine-tune")] == [f.id]
    assert list(client.files.list(purpose="batch")) == []
    content = client.files.content(f.id)
    assert content.content == CHINESE  # byte for byte
    assert content.text.splitlines()[0] == CHINESE.decode().splitlines()[0]
    assert (_files_dir(gateway) / f.id).read_bytes() == CHINESE

    deleted = client.files.delete(f.id)
    assert (deleted.id, deleted.object, deleted.deleted) == (f.id, "file", True)
    assert list(client.files.list()) == []
    assert not (_files_dir(gateway) / f.id).exists()
    for call in (client.files.retrieve, client.files.content, client.files.delete):
        with pytest.raises(openai.NotFoundError):
            call(f.id)


def test_responses_are_in_openais_exact_shapes(gateway: dict) -> None:
    http = gateway["client"]
    r = http.post(
        "/v1/files",
        files={"file": ("a.jsonl", CHINESE, "application/jsonl")},
        data={"purpose": "fine-tune"},
    )
    assert r.status_code == 200, r.text
    created = r.json()
    assert set(created) == FILE_KEYS and created["object"] == "file"
    assert isinstance(created["created_at"], int) and created["status"] == "processed"
    listed = http.get("/v1/files").json()
    assert listed["object"] == "list" and listed["data"] == [created]
    assert (listed["has_more"], listed["first_id"], listed["last_id"]) == (
        False,
        created["id"],
        created["id"],
    )
    r = http.get(f"/v1/files/{created['id']}/content")
    assert r.headers["content-type"] == "application/octet-stream" and r.content == CHINESE
    assert http.delete(f"/v1/files/{created['id']}").json() == {
        "id": created["id"],
        "object": "file",
        "deleted": True,
    }


def test_the_client_pages_through_every_file(gateway: dict) -> None:
    client = _client(gateway["client"], gateway["key"])
    ids = [
        client.files.create(file=(f"{i}.jsonl", CHINESE), purpose="fine-tune").id for i in range(5)
    ]
    page = client.files.list(limit=2)
    assert [f.id for f in page.data] == ids[::-1][:2] and page.has_more
    assert [f.id for f in client.files.list(limit=2)] == ids[::-1]  # follows `after`
    assert [f.id for f in client.files.list(limit=3, order="asc")] == ids


BAD = (
    _line(("user", "你好"), ("assistant", "您好！"))
    + _line(("system", "规则"), ("user", "在吗？"), ("assistant", "在的。"))
    + _line(("user", "退货"), ("bot", "可以退。"))
).encode()


def test_a_bad_line_is_named_with_its_field_and_nothing_is_kept(gateway: dict) -> None:
    client = _client(gateway["client"], gateway["key"])
    with pytest.raises(openai.BadRequestError) as e:
        client.files.create(file=("bad.jsonl", BAD), purpose="fine-tune")
    assert e.value.status_code == 400
    error = e.value.body
    assert isinstance(error, dict)
    assert error["message"].startswith(
        "line 3: messages[1].role must be one of system, user, assistant"
    )
    assert (error["param"], error["type"]) == ("file", "invalid_request_error")
    with pytest.raises(openai.BadRequestError, match="line 1: is not valid UTF-8"):
        client.files.create(
            file=("gbk.jsonl", _line(("user", "你好")).encode("gbk")), purpose="fine-tune"
        )
    with pytest.raises(
        openai.BadRequestError, match="line 1: messages must include at least one assistant"
    ):
        client.files.create(file=("q.jsonl", _line(("user", "你好")).encode()), purpose="fine-tune")
    assert list(client.files.list()) == []
    assert not _files_dir(gateway).exists() or list(_files_dir(gateway).iterdir()) == []


def test_the_form_is_checked(gateway: dict) -> None:
    http = gateway["client"]
    r = http.post("/v1/files", files={"file": ("a.jsonl", CHINESE)}, data={"purpose": "batch"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "purpose"
    assert "fine-tune" in r.json()["error"]["message"]
    r = http.post("/v1/files", files={"file": ("a.jsonl", CHINESE)})
    assert r.status_code == 400 and r.json()["error"]["param"] == "purpose"
    r = http.post("/v1/files", data={"purpose": "fine-tune"})
    assert r.status_code == 400 and r.json()["error"]["param"] == "file"
    r = http.post("/v1/files", content=b"{}", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and "error" in r.json()
    r = http.get("/v1/files", params={"after": "file-" + "0" * 24})
    assert r.status_code == 400 and r.json()["error"]["param"] == "after"
    r = http.get("/v1/files", headers={"Authorization": ""})
    assert r.status_code == 401


def test_another_tenants_files_are_not_found(gateway: dict) -> None:
    http = gateway["client"]
    ours = _client(http, gateway["key"])
    theirs = _client(http, _other_tenant(gateway))
    f = theirs.files.create(file=("g.jsonl", CHINESE), purpose="fine-tune")
    assert list(ours.files.list()) == []
    for call in (ours.files.retrieve, ours.files.content, ours.files.delete):
        with pytest.raises(openai.NotFoundError) as e:
            call(f.id)
        assert e.value.status_code == 404 and f.id in e.value.message
    # the same answer as for an id that never existed
    with pytest.raises(openai.NotFoundError) as never:
        ours.files.retrieve("file-" + "0" * 24)
    assert never.value.body == {
        **e.value.body,  # type: ignore[dict-item]
        "message": f"No such File object: file-{'0' * 24}.",
    }
    assert theirs.files.retrieve(f.id) == f  # still theirs, whole
    assert theirs.files.content(f.id).content == CHINESE


@pytest.fixture
def small_limit(store: Store, tmp_path: Path) -> Iterator[openai.OpenAI]:
    """A gateway whose uploads may be at most 4,096 bytes."""
    Tenants(store).create("acme")
    key = ApiKeys(store, pepper=b"test").create("acme").key
    settings = gateway_settings(tmp_path, b"test").model_copy(update={"files_max_bytes": 4096})
    with TestClient(create_app(build_gateway(settings, models={}, store=store))) as http:
        yield _client(http, key)


def test_the_size_limit_names_itself_and_what_to_do(small_limit: openai.OpenAI) -> None:
    line = _line(("user", "你好"), ("assistant", "您好！")).encode()
    lines = line * (4096 // len(line))
    at_limit = lines[:-1] + b" " * (4096 - len(lines)) + b"\n"  # spaces end the last line
    assert len(at_limit) == 4096
    assert small_limit.files.create(file=("ok.jsonl", at_limit), purpose="fine-tune").bytes == 4096
    # a byte over: measured as the file is kept
    with pytest.raises(openai.APIStatusError) as e:
        small_limit.files.create(file=("big.jsonl", at_limit + line), purpose="fine-tune")
    assert e.value.status_code == 413
    body = e.value.body
    assert isinstance(body, dict) and body["param"] == "file" and body["code"] == "file_too_large"
    assert "4,096 bytes" in body["message"] and "MINT_FILES_MAX_BYTES" in body["message"]
    # far over: refused before the body is read
    with pytest.raises(openai.APIStatusError) as e:
        small_limit.files.create(
            file=("huge.jsonl", b"x" * (FORM_ALLOWANCE + 8192)), purpose="fine-tune"
        )
    assert e.value.status_code == 413 and "MINT_FILES_MAX_BYTES" in e.value.message
    assert [f.bytes for f in small_limit.files.list()] == [4096]
