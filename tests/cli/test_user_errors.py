"""An error the user can fix ends a command with its message in one line and exit code 1;
any other error is a bug, and its traceback shows. Both as a user sees them, in a process of
their own, and through the real ``mint`` app."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.catalog import CatalogError
from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.commerce import CommerceError
from modelmint.data import DataError
from modelmint.errors import UserError
from modelmint.evaluation import EvaluationError
from modelmint.labeling import LabelingError
from modelmint.training import RecipeError

runner = CliRunner()

# A test-local app on the same group as `mint`: one command refuses as a user error would,
# the other fails as a bug would.
SCRIPT = textwrap.dedent(
    """
    import typer
    from modelmint.cli.common import MintGroup
    from modelmint.errors import UserError

    app = typer.Typer(cls=MintGroup, pretty_exceptions_enable=False)

    @app.command()
    def refuse() -> None:
        raise UserError("no model 'ghost': see `mint models list`")

    @app.command()
    def crash() -> None:
        raise RuntimeError("fake bug in a command")

    app()
    """
)


def run_script(command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", SCRIPT, command], capture_output=True, text=True, timeout=120
    )


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    return tmp_path / "home"


def test_a_user_error_is_one_red_line_without_a_traceback() -> None:
    done = run_script("refuse")
    assert done.returncode == 1
    assert done.stderr.strip() == "error: no model 'ghost': see `mint models list`"
    assert "Traceback" not in done.stderr and done.stdout == ""


def test_any_other_error_shows_its_traceback() -> None:
    done = run_script("crash")
    assert done.returncode == 1
    assert "Traceback (most recent call last)" in done.stderr
    assert done.stderr.rstrip().endswith("RuntimeError: fake bug in a command")
    assert "error:" not in done.stderr


def test_each_package_error_is_a_user_error_and_still_a_value_error() -> None:
    for error in (
        CatalogError,
        CommerceError,
        DataError,
        EvaluationError,
        LabelingError,
        RecipeError,
    ):
        assert issubclass(error, UserError) and issubclass(error, ValueError), error


def test_mint_ends_a_refused_command_with_exit_code_1(home: Path) -> None:
    r = runner.invoke(app, ["keys", "create", "--tenant", "ghost"])
    assert r.exit_code == 1 and isinstance(r.exception, SystemExit)
    assert "error: no tenant 'ghost'" in r.output


def test_mint_lets_a_bug_through(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def fake_broken_open(cls: type[Runtime]) -> Runtime:
        raise RuntimeError("fake: the store is broken")

    monkeypatch.setattr(Runtime, "open", classmethod(fake_broken_open))
    r = runner.invoke(app, ["channels", "list"])
    assert r.exit_code == 1
    assert isinstance(r.exception, RuntimeError) and "fake" in str(r.exception)
    assert "error:" not in r.output
    # ValueError was once caught as a user error; now only UserError is.
    monkeypatch.setattr(Runtime, "open", classmethod(lambda cls: int("not a number")))
    r = runner.invoke(app, ["channels", "list"])
    assert isinstance(r.exception, ValueError) and "error:" not in r.output
