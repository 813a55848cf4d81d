"""The open-weight path as a user walks it, for every supported family, on SQLite and on
PostgreSQL: import a published checkpoint, LoRA-tune it on chat data, merge, evaluate,
serve it (its own chat template, its own end tokens, Chinese streamed whole), and take it
out as GGUF that loads back with the same logits.

The checkpoints are tiny and random (tests/support/open_weights.py). The tuning teaches
one fixed bilingual reply, so that what the served model says can be asserted exactly: the
reply, then the family's end-of-turn token, which serving must stop at and never show."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.commerce.accounts import ApiKeys, Tenants
from modelmint.gateway import ServedModel, build_gateway, create_app
from modelmint.modeling import load_tokenizer
from modelmint.serving import Engine
from support.gateway import gateway_settings
from support.gguf_roundtrip import load_back, logits, reference, rounded_as_stored
from support.open_weights import FAMILIES, build_checkpoint

pytestmark = pytest.mark.slow

REPLY = "好的，订单已发货。OK, it shipped."
OPENINGS = [
    "我的订单到哪了？",
    "请问什么时候发货？",
    "快递单号是多少？",
    "包裹还没到，怎么回事？",
    "Where is my order?",
    "When will it ship?",
    "Has my parcel left the warehouse?",
    "Can you check my delivery?",
]
runner = CliRunner()


def _mint(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, f"mint {' '.join(args)}:\n{r.output}\n{r.exception!r}"
    return r.output


@pytest.fixture
def home(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MINT_HOME", str(home))
    monkeypatch.setenv("MINT_DATABASE_URL", store_url)
    monkeypatch.setenv("COLUMNS", "200")
    corpus = tmp_path / "chat.jsonl"
    with corpus.open("w", encoding="utf-8") as f:
        for n, opening in enumerate(OPENINGS * 2):
            messages = [
                {"role": "user", "content": opening},
                {"role": "assistant", "content": REPLY},
            ]
            f.write(json.dumps({"id": f"c{n}", "messages": messages}, ensure_ascii=False) + "\n")
    _mint(
        "data", "ingest", str(corpus), "--name", "chat", "--quality", "off",
        "--languages", "all", "--no-pii", "--no-dedup", "--no-decontaminate",
        "--validation", "0.25", "--stratify-by", "none", "--num-proc", "1",
    )  # fmt: skip
    return home


def _served(spec: str, home: Path) -> tuple[TestClient, str]:
    rt = Runtime.open()
    ref = rt.catalog.resolve_model(spec)
    Tenants(rt.store).create("acme")
    key = ApiKeys(rt.store, pepper=b"test").create("acme").key
    served = ServedModel("tuned", ref.label, ref.id, engine=Engine.load(ref.path))
    parts = build_gateway(gateway_settings(home, b"test"), models={"tuned": served}, store=rt.store)
    return TestClient(create_app(parts)), key


def _stream(client: TestClient, key: str, body: dict[str, Any]) -> tuple[list[str], dict]:
    pieces: list[str] = []
    last: dict[str, Any] = {}
    with client.stream(
        "POST", "/v1/chat/completions", json=body, headers={"Authorization": f"Bearer {key}"}
    ) as r:
        assert r.status_code == 200, r.read()
        for line in r.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[len("data: ") :])
            if chunk.get("usage"):
                last["usage"] = chunk["usage"]
            for choice in chunk["choices"]:
                pieces.append(choice["delta"].get("content") or "")
                if choice.get("finish_reason"):
                    last["finish_reason"] = choice["finish_reason"]
    return pieces, last


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_import_tune_merge_evaluate_serve_and_export(
    family: str, home: Path, tmp_path: Path
) -> None:
    fam = FAMILIES[family]
    source = build_checkpoint(family, tmp_path / family)
    out = _mint("models", "import", str(source), "--name", "base", "--license", "apache-2.0")
    assert "imported base:1" in out

    _mint(
        "train", "--recipe", "recipes/sft-lora.yaml",
        "--set", "name=tuned-lora", "--set", "base=base", "--set", "dataset=chat",
        "--set", "training.max_steps=150", "--set", "training.batch_size=8",
        "--set", "training.learning_rate=1.0e-2", "--set", "training.eval_every=null",
        *[f"--set=chat_template_kwargs.{k}={v}" for k, v in fam.template_kwargs.items()],
    )  # fmt: skip
    _mint("models", "merge", "tuned-lora", "--name", "tuned")
    rt = Runtime.open()
    tuned = rt.catalog.resolve_model("tuned")
    assert rt.catalog.lineage(tuned)  # the merged version descends from the import
    base = rt.catalog.resolve_model("base")
    assert tuned.provenance is None and base.provenance["license"] == "apache-2.0"

    out = _mint("eval", "tuned")
    assert "perplexity" in out

    client, key = _served("tuned", home)
    tokenizer = load_tokenizer(tuned.path)
    question = [{"role": "user", "content": "订单什么时候到？"}]
    with client:
        pieces, last = _stream(
            client,
            key,
            {
                "model": "tuned",
                "messages": question,
                "max_tokens": 48,
                "temperature": 0,
                "stream": True,
                "stream_options": {"include_usage": True},
            },
        )
    # The reply it was taught, every piece decoded whole: a Chinese character split across
    # tokens is held back until it is complete, never sent as a replacement character.
    assert "".join(pieces) == REPLY, pieces
    assert all("\ufffd" not in p for p in pieces), pieces
    assert last["finish_reason"] == "stop"  # at the family's own end-of-turn token
    prompt = tokenizer.apply_chat_template(
        question, add_generation_prompt=True, return_dict=False, **fam.template_kwargs
    )
    assert last["usage"]["prompt_tokens"] == len(prompt)  # rendered by its own template

    gguf_dir = tmp_path / "gguf"
    _mint("models", "export", "tuned", "--format", "gguf", "--quant", "f16", "--out", str(gguf_dir))
    (gguf,) = gguf_dir.glob("*.gguf")
    assert "PARAMETER stop" in (gguf_dir / "Modelfile").read_text()
    _logits_match(tuned.path, gguf, family, tokenizer.encode(REPLY))


def _logits_match(model_dir: Path, gguf: Path, family: str, ids: list[int]) -> None:
    """The GGUF, read back, computes what the model with f16 matrices does."""
    ours = rounded_as_stored(reference(model_dir, family), "f16")
    theirs = load_back(gguf, ours)
    diff = (logits(ours, ids) - logits(theirs, ids)).abs().max().item()
    assert diff <= 1e-5, diff
