import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from support.labeling import register_tiny

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    register_tiny(Runtime.open().catalog)
    return tmp_path / "home"


def _next(annotator: str) -> dict[str, object] | None:
    r = runner.invoke(app, ["label", "next", "intents", "--annotator", annotator])
    assert r.exit_code == 0, r.output
    item: dict[str, object] | None = json.loads(r.output)
    return item


def test_create_label_status_and_export(tmp_path: Path) -> None:
    guide = tmp_path / "guide.md"
    guide.write_text("选择意图 / choose the intent", encoding="utf-8")
    r = runner.invoke(
        app,
        [
            "label",
            "create",
            "intents",
            "--dataset",
            "tickets:1",
            "--labels",
            "refund,shipping,account",
            "--overlap",
            "1",
            "--guidelines",
            f"@{guide}",
        ],
    )
    assert r.exit_code == 0, r.output
    assert "6 items from tickets:1 train" in r.output
    labels = ["refund", "refund", "shipping", "shipping", "account", "account"]
    for value in labels:
        item = _next("李雷")
        assert item is not None and item["suggestion"] is None
        r = runner.invoke(
            app, ["label", "submit", "intents", str(item["id"]), value, "--annotator", "李雷"]
        )
        assert r.exit_code == 0 and "recorded label" in r.output, r.output
    assert _next("李雷") is None
    status = runner.invoke(app, ["label", "status", "intents"]).output
    assert "6 items, 6 labels, 6 finished" in status and "李雷" in status
    assert "intents" in runner.invoke(app, ["label", "list"]).output
    r = runner.invoke(app, ["label", "export", "intents", "--to", "intents-out"])
    assert r.exit_code == 0 and "intents-out:1 (new version): 6 labeled" in r.output, r.output
    rows = Runtime.open().catalog.get_dataset("intents-out").read_split("train")
    assert [row["label"] for row in rows] == labels
    assert rows[1]["text"] == "我想退款，订单号 12345"


def test_clear_errors_exit_1() -> None:
    r = runner.invoke(app, ["label", "create", "p", "--dataset", "tickets", "--kind", "vote"])
    assert r.exit_code == 1 and "kind 'vote' is not known" in r.output
    r = runner.invoke(app, ["label", "create", "p", "--dataset", "tickets", "--field", "text"])
    assert r.exit_code == 1 and "use SHOWN=SOURCE" in r.output
    r = runner.invoke(app, ["label", "next", "ghost"])
    assert r.exit_code == 1 and "no label project 'ghost'" in r.output
    runner.invoke(app, ["label", "create", "r", "--dataset", "tickets", "--kind", "rating"])
    r = runner.invoke(app, ["label", "submit", "r", "1", "7", "--annotator", "x"])
    assert r.exit_code == 1 and "1 to 5" in r.output
    r = runner.invoke(app, ["label", "export", "r", "--to", "out"])
    assert r.exit_code == 1 and "no finished labels" in r.output
