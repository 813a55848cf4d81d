"""``mint models export`` on catalog versions, registered as the catalog registers any model
(``add_model_version``), resolved by NAME, NAME:VERSION and NAME@ALIAS."""

from __future__ import annotations

import shutil
from pathlib import Path

import gguf
import pytest
import torch
from transformers import AutoModelForCausalLM, GPT2Config, GPT2LMHeadModel
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from support.open_weights import build_checkpoint

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    monkeypatch.chdir(tmp_path)
    return tmp_path / "home"


def register(name: str, checkpoint: Path, kind: str = "causal-lm") -> str:
    rt = Runtime.open()
    staged = rt.catalog.staging_dir("model")
    shutil.copytree(checkpoint, staged, dirs_exist_ok=True)
    model = rt.catalog.add_model_version(
        name, staged, run_id=None, kind=kind, num_parameters=1, metrics={}
    )
    rt.catalog.aliases.promote(name, "prod", model.version, actor="test")
    return model.label


def test_gguf_export_of_a_catalog_version_with_its_modelfile(tmp_path: Path) -> None:
    register("support-bot", build_checkpoint("qwen2", tmp_path / "ckpt"))
    r = runner.invoke(
        app, ["models", "export", "support-bot@prod", "--format", "gguf", "--quant", "q8_0"]
    )
    assert r.exit_code == 0, r.output
    out = tmp_path / "support-bot-v1-q8_0"
    assert sorted(p.name for p in out.iterdir()) == ["Modelfile", "support-bot-v1-q8_0.gguf"]
    reader = gguf.GGUFReader(str(out / "support-bot-v1-q8_0.gguf"))
    assert reader.fields["general.name"].contents() == "support-bot"
    assert reader.fields["general.file_type"].contents() == gguf.LlamaFileType.MOSTLY_Q8_0
    assert "FROM ./support-bot-v1-q8_0.gguf" in (out / "Modelfile").read_text()
    assert "ollama create support-bot" in r.output

    again = runner.invoke(
        app, ["models", "export", "support-bot", "--format", "gguf", "--quant", "q8_0"]
    )
    assert again.exit_code == 1 and "exists; pass --force" in again.output
    forced = ["models", "export", "support-bot:1", "--format", "gguf", "--quant", "q8_0", "--force"]
    assert runner.invoke(app, forced).exit_code == 0
    assert sorted(p.name for p in out.iterdir()) == ["Modelfile", "support-bot-v1-q8_0.gguf"]

    file = tmp_path / "elsewhere" / "bot.gguf"
    r = runner.invoke(
        app, ["models", "export", "support-bot", "--format", "gguf", "--out", str(file)]
    )
    assert r.exit_code == 0, r.output
    assert file.exists() and (file.parent / "Modelfile").exists()
    assert (
        gguf.GGUFReader(str(file)).fields["general.file_type"].contents()
        == gguf.LlamaFileType.MOSTLY_F16
    )


def test_hf_export_of_a_catalog_version_loads_on_its_own(tmp_path: Path) -> None:
    checkpoint = build_checkpoint("gemma3", tmp_path / "ckpt")
    register("helper", checkpoint)
    out = tmp_path / "hf"
    r = runner.invoke(app, ["models", "export", "helper", "--format", "hf", "--out", str(out)])
    assert r.exit_code == 0, r.output
    assert "Hugging Face, float32" in r.output
    exported = AutoModelForCausalLM.from_pretrained(str(out), local_files_only=True).eval()
    original = AutoModelForCausalLM.from_pretrained(str(checkpoint)).eval()
    ids = torch.tensor([[2, 5, 100, 200, 300]])
    with torch.no_grad():
        assert torch.equal(exported(ids).logits, original(ids).logits)
    assert not list(tmp_path.glob(".*partial*"))
    refused = runner.invoke(
        app,
        [
            "models",
            "export",
            "helper",
            "--format",
            "hf",
            "--out",
            str(out),
            "--quant",
            "q8_0",
            "--force",
        ],
    )
    assert refused.exit_code == 1 and "GGUF type" in refused.output
    assert (out / "config.json").exists()  # a refused export leaves the old one in place


def test_exports_that_cannot_work_say_what_to_do(tmp_path: Path) -> None:
    register("tuned", build_checkpoint("smollm", tmp_path / "ckpt"), kind="adapter")
    r = runner.invoke(app, ["models", "export", "tuned", "--format", "gguf"])
    assert r.exit_code == 1 and "mint models merge tuned:1" in r.output
    gpt2 = tmp_path / "gpt2"
    GPT2LMHeadModel(GPT2Config(n_layer=1, n_embd=32, n_head=2, vocab_size=64)).save_pretrained(gpt2)
    register("old", gpt2)
    r = runner.invoke(app, ["models", "export", "old", "--format", "gguf"])
    assert r.exit_code == 1 and "'gpt2'" in r.output and "supported:" in r.output
    assert not (tmp_path / "old-v1-f16").exists()  # nothing left behind
    r = runner.invoke(app, ["models", "export", "missing", "--format", "hf"])
    assert r.exit_code == 1 and "no model missing" in r.output
