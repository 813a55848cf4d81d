import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


def test_key_is_printed_once_as_the_last_line_and_works() -> None:
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    r = runner.invoke(app, ["keys", "create", "--tenant", "acme"])
    assert r.exit_code == 0, r.output
    key = r.output.strip().splitlines()[-1]
    assert key.startswith("mm-")
    principal = Runtime.open().keys.authenticate(key)
    assert principal is not None and principal.tenant == "acme"
    listing = runner.invoke(app, ["keys", "list"]).output
    assert key not in listing and key.split("-")[1] in listing


def test_user_errors_are_one_clear_line_and_exit_1() -> None:
    r = runner.invoke(app, ["keys", "create", "--tenant", "ghost"])
    assert r.exit_code == 1 and "no tenant 'ghost'" in r.output
    r = runner.invoke(app, ["serve", "--model", "nothing"])
    assert r.exit_code == 1 and "no model nothing" in r.output
    assert runner.invoke(app, ["tenants", "create", "acme"]).exit_code == 0
    r = runner.invoke(app, ["tenants", "create", "acme"])
    assert r.exit_code == 1 and "already exists" in r.output


def test_usage_of_a_tenant_without_requests_is_zero() -> None:
    runner.invoke(app, ["tenants", "create", "acme"])
    r = runner.invoke(app, ["usage", "--tenant", "acme", "--json"])
    assert r.exit_code == 0
    assert json.loads(r.output)["requests"] == 0


def test_data_sample_and_ingest(tmp_path: Path) -> None:
    out = tmp_path / "s.jsonl"
    assert runner.invoke(app, ["data", "sample", str(out), "--n", "300"]).exit_code == 0
    r = runner.invoke(app, ["data", "ingest", str(out), "--name", "cs"])
    assert r.exit_code == 0 and "cs:1 (new version)" in r.output
    r = runner.invoke(app, ["data", "ingest", str(out), "--name", "cs"])
    assert "cs:1 (unchanged input" in r.output
    listing = runner.invoke(app, ["data", "list"]).output
    assert "cs" in listing and "validation" in listing
    stats = json.loads(runner.invoke(app, ["data", "stats", "cs", "--json"]).output)
    assert stats["read"] == 300 and stats["kept"] + stats["dropped"] == 300
    assert sum(stats["splits"].values()) == stats["kept"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"messages": oops}\n')
    r = runner.invoke(app, ["data", "ingest", str(bad), "--name", "bad"])
    assert r.exit_code == 1 and f"{bad}:1" in r.output
