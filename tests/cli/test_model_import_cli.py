"""``mint models import`` as a user runs it: the new version and its provenance printed,
shown again by ``models show`` and ``models list --json``; refusals as one ``error:`` line;
and a base model imported without a chat template, served, answers completions while the
chat route says why it does not chat."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.modeling import build_causal_lm, llama_config_for, load_tokenizer, stop_token_ids
from modelmint.serving import Engine
from support.gateway import gateway_settings
from support.helpers import build_micro_model
from support.open_weights import FAMILIES, build_checkpoint, write_pickled

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


def test_import_prints_the_version_and_its_provenance(tmp_path: Path) -> None:
    source = build_checkpoint("llama3", tmp_path / "llama3")
    r = runner.invoke(app, ["models", "import", str(source), "--name", "l3", "--alias", "prod"])
    assert r.exit_code == 0, r.output
    assert "imported l3:1 (@prod)" in r.output
    assert f"source          {source} (safetensors)" in r.output
    assert "architecture    llama: LlamaForCausalLM" in r.output
    assert "context         256 tokens, rope llama3 x8" in r.output
    assert "end tokens      <|end_of_text|> (1), <|eom_id|> (4), <|eot_id|> (5)" in r.output
    assert "warning: no license given or found" in r.output and "--license ID" in r.output

    shown = json.loads(runner.invoke(app, ["models", "show", "l3@prod"]).output)
    provenance = shown["provenance"]
    assert provenance["license"] == "unknown" and provenance["format"] == "safetensors"
    assert provenance["chat_template"] == FAMILIES["llama3"].chat_template
    assert f"weights sha256  {provenance['weights_sha256']}" in r.output
    listed = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert [(m["name"], m["provenance"]) for m in listed] == [("l3", provenance)]


def test_refusals_are_one_error_line_and_copy_nothing(tmp_path: Path, home: Path) -> None:
    source = write_pickled(build_checkpoint("qwen2", tmp_path / "qwen2"))
    r = runner.invoke(app, ["models", "import", str(source), "--name", "q"])
    assert r.exit_code == 1
    assert r.output.startswith("error: ") and "--trust-pickle" in r.output
    r = runner.invoke(app, ["models", "import", str(source), "--name", "q", "--alias", "no/pe"])
    assert r.exit_code == 1 and "invalid name 'no/pe'" in r.output
    assert not list((home / "artifacts").glob("models/*"))

    r = runner.invoke(
        app, ["models", "import", str(source), "--name", "q", "--trust-pickle", "--license", "mit"]
    )
    assert r.exit_code == 0, r.output
    assert "imported q:1" in r.output and "(pytorch-pickle)" in r.output
    assert "warning" not in r.output


def test_stop_ids_of_a_model_trained_here_are_unchanged(tmp_path: Path) -> None:
    """Its directory names only its own end of text, which its stop ids had already."""
    model_dir = build_micro_model(tmp_path / "micro")
    tok = load_tokenizer(model_dir)
    assert stop_token_ids(tok, model_dir) == stop_token_ids(tok)
    build_causal_lm(llama_config_for("tiny", tok)).save_pretrained(str(tmp_path / "plain"))
    assert stop_token_ids(tok, tmp_path / "plain") == stop_token_ids(tok)


def test_a_base_model_completes_and_its_chat_route_says_why_not(tmp_path: Path) -> None:
    source = build_checkpoint("smollm", tmp_path / "smollm")
    (source / "chat_template.jinja").unlink()
    r = runner.invoke(app, ["models", "import", str(source), "--name", "base"])
    assert r.exit_code == 1 and "--no-chat-template" in r.output
    r = runner.invoke(
        app, ["models", "import", str(source), "--name", "base", "--no-chat-template"]
    )
    assert r.exit_code == 0, r.output
    assert "chat template   none" in r.output and "/v1/chat/completions refuses it" in r.output

    rt = Runtime.open()
    ref = rt.catalog.resolve_model("base")
    Tenants(rt.store).create("acme")
    key = ApiKeys(rt.store, pepper=b"test").create("acme").key
    served = ServedModel("base", ref.label, ref.id, engine=Engine.load(ref.path))
    parts = build_gateway(
        gateway_settings(tmp_path, b"test"), models={"base": served}, store=rt.store
    )
    with TestClient(create_app(parts)) as client:
        client.headers["Authorization"] = f"Bearer {key}"
        chat = client.post(
            "/v1/chat/completions",
            json={"model": "base", "messages": [{"role": "user", "content": "hi"}]},
        )
        assert chat.status_code == 400, chat.text
        error = chat.json()["error"]
        assert error["code"] == "model_without_chat_template"
        assert "/v1/completions" in error["message"]
        done = client.post(
            "/v1/completions", json={"model": "base", "prompt": "hi", "max_tokens": 3}
        )
        assert done.status_code == 200, done.text
        assert done.json()["usage"]["completion_tokens"] >= 1
