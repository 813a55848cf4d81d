"""POST /tokenize, POST /detokenize, GET /tokenizer_info at the server root (vLLM's shapes,
as lm-evaluation-harness's remote tokenizer calls them)."""

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from modelmint.catalog import Catalog
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.modeling import CHAT_TEMPLATE, END_OF_TEXT
from modelmint.serving import Engine
from modelmint.store import Store
from support.gateway import gateway_settings


def _engine(c: TestClient):
    return c.app.state.context.models["micro"].engine  # type: ignore[attr-defined]


def test_tokenize_counts_what_completions_will_see(gateway) -> None:
    c = gateway["client"]
    text = "您好 hello<|endoftext|>"
    r = c.post("/tokenize", json={"prompt": text, "add_special_tokens": False})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["tokens"] == _engine(c).codec.encode(text)
    assert body["count"] == len(body["tokens"]) and body["max_model_len"] == 128
    assert "token_strs" not in body
    # lm-eval finds the end-of-text id by tokenizing the eos string.
    assert body["tokens"][-1] == _engine(c).codec.tokenizer.eos_token_id
    usage = c.post(
        "/v1/completions",
        json={"model": "micro", "prompt": text, "max_tokens": 1, "echo": True},
    ).json()["usage"]
    assert usage["prompt_tokens"] == body["count"]


def test_tokenize_returns_token_strings_and_chats(gateway) -> None:
    c = gateway["client"]
    r = c.post("/tokenize", json={"model": "micro", "prompt": "Hi 您", "return_token_strs": True})
    body = r.json()
    assert len(body["token_strs"]) == body["count"]
    chat = c.post("/tokenize", json={"messages": [{"role": "user", "content": "Hi"}]}).json()
    rendered = "<|im_start|>user\nHi<|im_end|>\n<|im_start|>assistant\n"
    assert chat["tokens"] == _engine(c).codec.encode(rendered)


def test_detokenize_gives_the_text_back(gateway) -> None:
    c = gateway["client"]
    text = "退款已经处理<|im_end|> refund"
    tokens = c.post("/tokenize", json={"prompt": text}).json()["tokens"]
    r = c.post("/detokenize", json={"tokens": tokens})
    assert r.status_code == 200 and r.json() == {"prompt": text}


def test_tokenizer_info_has_the_special_tokens_and_template(gateway) -> None:
    r = gateway["client"].get("/tokenizer_info")
    assert r.status_code == 200
    info = r.json()
    assert info["eos_token"] == END_OF_TEXT and info["pad_token"] == "<|pad|>"
    assert info["chat_template"] == CHAT_TEMPLATE
    assert info["model_max_length"] == 128 and info["tokenizer_class"]
    assert gateway["client"].get("/tokenizer_info?model=micro:1").json() == info


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("post", "/tokenize", {"prompt": "x"}),
        ("post", "/detokenize", {"tokens": [1]}),
        ("get", "/tokenizer_info", None),
    ],
)
def test_tokenizer_routes_need_a_key(gateway, method: str, path: str, body) -> None:
    c = gateway["client"]
    kwargs = {"json": body} if body is not None else {}
    r = getattr(c, method)(path, headers={"Authorization": ""}, **kwargs)
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"
    assert gateway["ledger"].summarize("acme").requests == 0


@pytest.mark.parametrize(
    ("path", "body", "status", "param"),
    [
        ("/detokenize", {"tokens": [1, 10_000]}, 400, "tokens"),
        ("/detokenize", {"tokens": ["a"]}, 400, "tokens.0"),
        ("/tokenize", {}, 400, "prompt"),
        (
            "/tokenize",
            {"prompt": "x", "messages": [{"role": "user", "content": "y"}]},
            400,
            "prompt",
        ),
        ("/tokenize", {"prompt": "x", "model": "gpt-9"}, 404, "model"),
    ],
)
def test_bad_tokenizer_requests(gateway, path: str, body: dict, status: int, param: str) -> None:
    r = gateway["client"].post(path, json=body)
    assert r.status_code == status, r.text
    err = r.json()["error"]
    assert err["param"] == param and set(err) == {"message", "type", "param", "code"}


@pytest.fixture
def base_model_client(store: Store, tmp_path: Path, micro_model_dir: Path) -> Iterator[TestClient]:
    """A gateway serving the micro model as a base model imported without a chat template."""
    base = tmp_path / "base"
    shutil.copytree(micro_model_dir, base)
    (base / "chat_template.jinja").unlink(missing_ok=True)
    config = json.loads((base / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (base / "tokenizer_config.json").write_text(json.dumps(config))
    catalog = Catalog(store, tmp_path / "artifacts")
    ref = catalog.add_model_version(
        "base",
        catalog.staging_dir("model"),
        run_id=None,
        kind="causal-lm",
        num_parameters=1,
        metrics={},
    )
    Tenants(store).create("acme")
    key = ApiKeys(store, pepper=b"test").create("acme").key
    served = ServedModel("base", ref.label, ref.id, engine=Engine.load(base))
    parts = build_gateway(gateway_settings(tmp_path, b"test"), models={"base": served}, store=store)
    with TestClient(create_app(parts)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def test_tokenizing_a_chat_for_a_base_model_is_the_chat_routes_400(
    base_model_client: TestClient,
) -> None:
    c = base_model_client
    messages = [{"role": "user", "content": "Hi"}]
    r = c.post("/tokenize", json={"model": "base", "messages": messages})
    assert r.status_code == 400, r.text
    chat = c.post("/v1/chat/completions", json={"model": "base", "messages": messages})
    assert chat.status_code == 400, chat.text
    assert r.json() == chat.json()
    err = r.json()["error"]
    assert err["code"] == "model_without_chat_template" and err["param"] == "messages"
    assert err["type"] == "invalid_request_error" and "/v1/completions" in err["message"]
    # without a model named, the one the key may use is named in the message as well
    unnamed = c.post("/tokenize", json={"messages": messages})
    assert unnamed.status_code == 400 and "`base`" in unnamed.json()["error"]["message"]
    prompt = c.post("/tokenize", json={"model": "base", "prompt": "Hi"})
    assert prompt.status_code == 200 and prompt.json()["count"] >= 1
