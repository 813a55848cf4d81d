"""``mint label suggest`` from the command line: neighbours, a re-run with --refresh, the
status line with suggestion accuracy, and clear errors."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from support.labeling import TEXTS, register_tiny

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MINT_API_KEY", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    register_tiny(Runtime.open().catalog)
    return tmp_path / "home"


def _invoke(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def _label_next(value_of: dict[str, str]) -> dict[str, object]:
    item = json.loads(_invoke("label", "next", "t", "--annotator", "ann"))
    assert item is not None
    _invoke(
        "label", "submit", "t", str(item["id"]), value_of[item["external_id"]], "--annotator", "ann"
    )
    return dict(item)


def test_suggest_with_neighbours_then_refresh_and_status() -> None:
    truth = {rid: intent for rid, _, _, intent in TEXTS}
    _invoke("label", "create", "t", "--dataset", "tickets", "--labels", "refund,shipping,account")
    for _ in range(3):  # r1, r2, r3 in dataset order: no suggestions yet
        _label_next(truth)
    out = _invoke("label", "suggest", "t", "--source", "neighbours", "--k", "2")
    assert "3 of 3 unfinished items got a suggestion from neighbours:k2" in out
    assert "confidence of the suggestions" in out and "0.9-1.0" in out
    out = _invoke("label", "suggest", "t", "--refresh")
    assert "from neighbours:k2" in out  # the stored settings, k included
    correct = 0
    for _ in range(3):
        item = _label_next(truth)
        assert item["suggestion"] is not None and item["suggestion_source"] == "neighbours:k2"
        correct += item["suggestion"] == truth[str(item["external_id"])]
    status = _invoke("label", "status", "t")
    assert "suggestions: shown 3" in status
    assert f"accuracy {correct / 3:.0%} ({correct}/3 finished items)" in status


def test_suggest_errors_exit_1() -> None:
    _invoke("label", "create", "t", "--dataset", "tickets", "--labels", "refund,shipping,account")
    r = runner.invoke(app, ["label", "suggest", "t"])
    assert r.exit_code == 1 and "give --source" in r.output
    r = runner.invoke(app, ["label", "suggest", "t", "--refresh"])
    assert r.exit_code == 1 and "has no suggester yet" in r.output
    r = runner.invoke(app, ["label", "suggest", "t", "--source", "classifier"])
    assert r.exit_code == 1 and "needs --model" in r.output
    r = runner.invoke(app, ["label", "suggest", "t", "--source", "magic"])
    assert r.exit_code == 1 and "use one of classifier, neighbours, zero-shot" in r.output
    r = runner.invoke(app, ["label", "suggest", "t", "--source", "neighbours"])
    assert r.exit_code == 1 and "no labeled items" in r.output
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    args = ["label", "suggest", "t", "--source", "zero-shot", "--base-url", url, "--model", "m"]
    r = runner.invoke(app, args)
    assert r.exit_code == 1 and f"cannot reach {url}/v1/chat/completions" in r.output
