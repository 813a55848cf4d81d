"""``mint wallets verify``: the running balances against the ledger, and ``--rebuild``."""

from pathlib import Path

import pytest
from sqlalchemy import update
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.store import WalletRunningBalance

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path / "home"


def run(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == code, r.output
    return r.output


def test_verify_reports_a_drifted_balance_and_rebuild_fixes_it() -> None:
    run("tenants", "create", "acme", "--billing", "prepaid")
    run("wallets", "topup", "acme", "25")
    assert "acme: ok" in run("wallets", "verify")
    with Runtime.open().store.session() as s:
        s.execute(update(WalletRunningBalance).values(paid_micros=1))
    out = run("wallets", "verify", "acme", code=1)
    assert "acme: DIFFERS" in out and "the ledger gives paid 25000000" in out
    assert "mint wallets verify TENANT --rebuild" in out
    assert "rebuilt from the ledger" in run("wallets", "verify", "--rebuild")
    assert "acme: ok" in run("wallets", "verify")
    assert "25.00" in run("wallets", "show", "acme")
