"""`mint train --recipe`, `mint runs list/show` and `mint models merge` as a user runs them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from support.training import MICRO_ARCH, curated_catalog

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "home"
    monkeypatch.setenv("MINT_HOME", str(home))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    curated_catalog(home)  # dataset "support" in this home's catalog
    return home


def write(path: Path, recipe: dict) -> str:
    path.write_text(yaml.safe_dump(recipe))
    return str(path)


def test_recipe_runs_show_and_merge(home: Path, tmp_path: Path) -> None:
    base = write(
        tmp_path / "base.yaml",
        {
            "recipe": "pretrain-clm",
            "name": "cli-base",
            "dataset": "support",
            "alias": "production",
            "architecture": MICRO_ARCH,
            "tokenizer": {"vocab_size": 1000},
            "block_size": 64,
            "training": {"max_steps": 30, "batch_size": 4},
        },
    )
    r = runner.invoke(app, ["train", "--recipe", base, "--set", "training.max_steps=12"])
    assert r.exit_code == 0, r.output
    assert "registered cli-base:1 (causal-lm" in r.output
    # the recipe's alias is moved by the run, audited like any move (the console's history)
    (moved,) = Runtime.open().catalog.aliases.history("cli-base")
    assert (moved.alias, moved.to_version, moved.actor) == ("production", 1, "run:1")

    shown = runner.invoke(app, ["runs", "show", "1"])
    assert shown.exit_code == 0, shown.output
    assert "loss by step" in shown.output and "•" in shown.output
    png = home / "artifacts" / "runs" / "1" / "loss.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    series = json.loads(runner.invoke(app, ["runs", "show", "1", "--json"]).output)
    assert len(series["metrics"]["loss"]) == 12  # the --set override took effect
    assert "train:pretrain-clm" in runner.invoke(app, ["runs", "list"]).output

    lora = write(
        tmp_path / "lora.yaml",
        {
            "recipe": "sft",
            "name": "cli-bot",
            "dataset": "support",
            "base": "cli-base@production",
            "method": "lora",
            "max_length": 96,
            "training": {"max_steps": 3, "batch_size": 4},
        },
    )
    r = runner.invoke(app, ["train", "--recipe", lora])
    assert r.exit_code == 0 and "registered cli-bot:1 (adapter" in r.output, r.output
    r = runner.invoke(app, ["models", "merge", "cli-bot:1", "--name", "cli-bot-merged"])
    assert r.exit_code == 0 and "cli-bot-merged:1" in r.output, r.output
    info = json.loads(runner.invoke(app, ["models", "show", "cli-bot-merged:1"]).output)
    parents = [p["model"] for p in info["lineage"]["parents"]]
    assert parents == ["cli-bot:1", "cli-base:1"]  # merged <- adapter <- base
    assert info["lineage"]["kind"] == "causal-lm"


def test_recipe_errors_are_one_clear_line(home: Path, tmp_path: Path) -> None:
    bad = write(
        tmp_path / "bad.yaml",
        {"recipe": "sft", "name": "x", "dataset": "support", "base": "nothing", "trainng": {}},
    )
    r = runner.invoke(app, ["train", "--recipe", bad])
    assert r.exit_code == 1 and "unknown key 'trainng'; did you mean 'training'?" in r.output
    r = runner.invoke(app, ["train", "resume", "99"])
    assert r.exit_code == 1 and "no run 99" in r.output
