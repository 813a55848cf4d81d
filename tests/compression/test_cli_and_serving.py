"""`mint compress` as a user runs it, and a compressed version served by `mint serve`."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from modelmint.catalog import Catalog, ModelRef
from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.compression import quantize
from modelmint.config import Settings
from support.helpers import mint_serve_process

runner = CliRunner()
pytestmark = pytest.mark.slow
MINT = str(Path(sys.executable).with_name("mint"))


@pytest.fixture
def mint_home(home: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(home))  # the same catalog: home/mint.db, home/artifacts
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return home


def test_quantize_prints_the_table_against_the_parent(
    mint_home: Path, catalog: Catalog, base: ModelRef
) -> None:
    r = runner.invoke(
        app, ["compress", "quantize", base.label, "--name", "cli-int8", "--rounds", "1"]
    )
    assert r.exit_code == 0, r.output
    assert "registered cli-int8:1" in r.output
    for row in ("size on disk", "parameters", "decode tokens/s, batch 1", "batch 16"):
        assert row in r.output
    assert "perplexity" in r.output  # the parent's suite, run on both
    model = catalog.resolve_model("cli-int8:1")
    assert model.parent_id == base.id
    assert model.metrics["decode_tokens_per_s_batch16"] > 0
    assert catalog.evaluations.list(model.id)  # the evaluation is stored on the new version


def test_structured_prune_without_evaluation(mint_home: Path, base: ModelRef) -> None:
    r = runner.invoke(
        app,
        [
            "compress",
            "prune",
            base.label,
            "--sparsity",
            "0.5",
            "--structured",
            "--name",
            "cli-pruned",
            "--no-eval",
            "--rounds",
            "0",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "registered cli-pruned:1" in r.output and "size on disk" in r.output
    assert "perplexity" not in r.output


def test_int4_is_refused_with_the_reason(mint_home: Path, base: ModelRef) -> None:
    r = runner.invoke(app, ["compress", "quantize", base.label, "--method", "int4-weight-only"])
    assert r.exit_code == 1
    assert "no working CPU path" in r.output


@pytest.fixture
def served_int8(home: Path, catalog: Catalog, base: ModelRef) -> Iterator[dict]:
    model = quantize(catalog, base, "int8-dynamic", name="served-int8").model
    rt = Runtime.open(Settings(home=home))
    rt.tenants.ensure("acme")
    key = rt.keys.create("acme").key
    env = {k: v for k, v in os.environ.items() if not k.startswith("MINT_")}
    args = ["--model", model.label, "--log-level", "warning"]
    with mint_serve_process(args, {**env, "MINT_HOME": str(home)}) as (_, base_url):
        yield {"url": base_url, "key": key, "model": model, "runtime": rt}


def test_mint_serve_serves_and_meters_the_int8_version(served_int8: dict) -> None:
    model = served_int8["model"]
    r = httpx.post(
        f"{served_int8['url']}/v1/completions",
        headers={"Authorization": f"Bearer {served_int8['key']}"},
        json={
            "model": model.label,
            "prompt": "Where is my order?",
            "max_tokens": 8,
            "temperature": 0,
        },
        timeout=120,
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["choices"][0]["text"] and 1 <= body["usage"]["completion_tokens"] <= 8
    usage = served_int8["runtime"].ledger.summarize("acme")
    assert [m.model for m in usage.by_model] == [model.label]
