"""`mint eval`, `mint eval compare`, `mint eval list` and `mint models list` as a user runs
them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.training import parse_recipe, start_training
from support.training import curated_catalog, micro_clm

runner = CliRunner()
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    home = tmp_path_factory.mktemp("cli-home")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MINT_HOME", str(home))
        mp.delenv("MINT_DATABASE_URL", raising=False)
        mp.setenv("COLUMNS", "220")
        catalog = curated_catalog(home)
        start_training(catalog, parse_recipe(micro_clm("bot", steps=12)))
        start_training(catalog, parse_recipe(micro_clm("bot", steps=1)))
        yield home


def test_eval_prints_metrics_stores_them_and_writes_a_report(home: Path) -> None:
    r = runner.invoke(app, ["eval", "bot:1", "--suite", "perplexity", "--set", "max_examples=12"])
    assert r.exit_code == 0, r.output
    assert "perplexity" in r.output and "evaluation 1 stored on bot:1" in r.output
    report = home / "artifacts" / "evaluations" / "1" / "report.html"
    assert f"report: {report}" in r.output
    page = report.read_text()
    assert "data:image/png;base64," in page and "By language" in page
    assert "http://" not in page and "https://" not in page  # self-contained

    listed = runner.invoke(app, ["models", "list"])
    assert listed.exit_code == 0 and "evaluations" in listed.output
    ppl = json.loads(runner.invoke(app, ["eval", "list", "--json"]).output)[0]["metrics"]
    assert f"perplexity {ppl['perplexity']:.4g}" in listed.output
    models = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert models[0]["evaluations"][0]["metrics"] == ppl and models[1]["evaluations"] == []


def test_compare_runs_the_missing_evaluation_and_shows_intervals(home: Path) -> None:
    r = runner.invoke(app, ["eval", "compare", "bot:1", "bot:2", "--resamples", "200"])
    assert r.exit_code == 0, r.output
    assert "95% interval" in r.output and "12 paired examples" in r.output
    assert "worse" in r.output  # one training step against twelve
    assert "changed most" in r.output
    page = Path(r.output.split("report: ")[-1].strip()).read_text()
    assert "bot:2 against bot:1" in page and "Examples that changed most" in page
    listed = runner.invoke(app, ["eval", "list", "bot:2"])
    assert "bot:2" in listed.output and "perplexity" in listed.output
    models = json.loads(runner.invoke(app, ["models", "list", "--json"]).output)
    assert [len(m["evaluations"]) for m in models] == [1, 1]  # each its own latest


def test_custom_file_errors_reach_the_user(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "items.jsonl"
    bad.write_text('{"prompt": "Hi", "reference": "Hello"}\n{"prompt": "Hi"}\n')
    r = runner.invoke(app, ["eval", "bot:1", "--file", str(bad)])
    assert r.exit_code == 1
    assert "line 2, field 'reference': missing" in " ".join(r.output.split())
    r = runner.invoke(app, ["eval", "bot:1", "--suite", "perplexity", "--set", "nope=1"])
    assert r.exit_code == 1 and "no option 'nope'" in r.output
