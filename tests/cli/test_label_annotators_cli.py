import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.labeling import LabelProjects
from modelmint.labeling.annotators import Annotators
from support.labeling import register_tiny

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MINT_KEY_PEPPER", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    rt = Runtime.open()
    register_tiny(rt.catalog)
    LabelProjects(rt.store, rt.catalog).create(
        "intents", "tickets", kind="classification", labels=["refund", "shipping"]
    )
    return tmp_path / "home"


def test_add_prints_the_token_once_list_and_revoke() -> None:
    r = runner.invoke(
        app, ["label", "annotators", "add", "李雷", "--language", "zh", "--project", "intents"]
    )
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    assert token.startswith("mml-")
    assert "http://127.0.0.1:8000/label" in r.output and "only now" in r.output
    rt = Runtime.open()
    annotators = Annotators(rt.store, rt.keys.pepper)
    signed = annotators.authenticate(token)  # the printed token works with the server's pepper
    assert signed is not None and signed.name == "李雷" and signed.projects == ("intents",)

    listed = runner.invoke(app, ["label", "annotators", "list", "--json"])
    assert listed.exit_code == 0, listed.output
    [row] = json.loads(listed.output)
    assert row["name"] == "李雷" and row["language"] == "zh" and row["revoked_at"] is None
    assert token not in listed.output and token.split("-", 2)[2] not in listed.output
    table = runner.invoke(app, ["label", "annotators", "list"]).output
    assert "李雷" in table and "active" in table

    r = runner.invoke(app, ["label", "annotators", "revoke", "李雷"])
    assert r.exit_code == 0 and "revoked" in r.output
    assert annotators.authenticate(token) is None
    assert "revoked" in runner.invoke(app, ["label", "annotators", "list"]).output


def test_errors_name_what_to_fix() -> None:
    r = runner.invoke(app, ["label", "annotators", "add", "x", "--project", "nope"])
    assert r.exit_code == 1 and "no label project 'nope'" in r.output
    r = runner.invoke(app, ["label", "annotators", "add", "x", "--language", "fr"])
    assert r.exit_code == 1 and "language 'fr'" in r.output
    r = runner.invoke(app, ["label", "annotators", "revoke", "nobody"])
    assert r.exit_code == 1 and "mint label annotators list" in r.output
