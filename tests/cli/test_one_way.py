"""One way to do each small thing in the command line: one option to act in a channel's
scope (its old spelling still works), one way to show a time, and each command group in the
module of its name."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

import modelmint.cli
from modelmint.cli.common import AS_CHANNEL, when, when_json
from modelmint.cli.main import app

runner = CliRunner()

SCOPED = {
    "wallets topup", "wallets credit", "wallets adjust", "wallets show", "wallets verify",
    "budgets set", "budgets list", "budgets delete", "alerts",
    "prices create-book", "prices set", "prices list", "audit", "admin-keys create",
    "invoices generate", "invoices list", "invoices show", "invoices credit",
    "invoices credit-notes",
}  # fmt: skip


def commands(group: Any, path: tuple[str, ...] = ()) -> dict[str, Any]:
    """Every command under ``group`` by the words that name it."""
    found = {}
    for name, command in group.commands.items():
        if hasattr(command, "commands"):
            found |= commands(command, (*path, name))
        else:
            found[" ".join((*path, name))] = command
    return found


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    return tmp_path / "home"


def test_every_command_acting_for_a_channel_takes_the_one_scope_option() -> None:
    scoped = {}
    for name, command in commands(typer.main.get_command(app)).items():
        for param in command.params:
            if "--as-channel" in param.opts:
                scoped[name] = param
    assert set(scoped) == SCOPED
    assert {(tuple(p.opts), p.help) for p in scoped.values()} == {
        (("--as-channel",), AS_CHANNEL.help)
    }


def test_the_old_spelling_of_the_scope_option_still_works_but_is_not_shown(home: Path) -> None:
    r = runner.invoke(app, ["wallets", "show", "acme", "--channel", "ghost"])
    assert r.exit_code == 1 and "no channel 'ghost'" in r.output
    r = runner.invoke(app, ["budgets", "list", "--channel=ghost"])
    assert r.exit_code == 1 and "no channel 'ghost'" in r.output
    shown = runner.invoke(app, ["wallets", "show", "--help"]).output
    assert "--as-channel" in shown and "--channel" not in shown.replace("--as-channel", "")
    # Where --channel names a channel as data, it keeps that meaning.
    r = runner.invoke(app, ["tenants", "create", "shop", "--channel", "ghost"])
    assert r.exit_code == 1 and "no channel 'ghost'" in r.output
    assert runner.invoke(app, ["channels", "create", "north"]).exit_code == 0
    r = runner.invoke(app, ["tenants", "create", "shop", "--channel", "north"])
    assert r.exit_code == 0 and "channel 'north'" in r.output


def test_a_time_is_shown_in_utc_to_the_minute_and_as_iso_in_json() -> None:
    stored = datetime(2025, 3, 1, 9, 30, 15, 123456)  # SQLite hands UTC back without a zone
    east = datetime(2025, 3, 1, 11, 30, 15, tzinfo=timezone(timedelta(hours=2)))
    assert when(stored) == when(east) == "2025-03-01 09:30"
    assert when_json(stored) == when_json(east) == "2025-03-01T09:30:15+00:00"
    assert when_json(stored.replace(tzinfo=UTC)) == "2025-03-01T09:30:15+00:00"
    assert when(None) == "" and when_json(None) is None


def test_no_command_formats_a_time_itself() -> None:
    folder = Path(modelmint.cli.__file__).parent
    for path in folder.glob("*.py"):
        if path.name != "common.py":
            text = path.read_text(encoding="utf-8")
            assert "strftime" not in text and "isoformat" not in text, path.name


def test_each_command_group_lives_in_the_module_of_its_name() -> None:
    root = typer.main.get_command(app)
    for name, group in root.commands.items():
        if not hasattr(group, "commands"):
            continue
        module = "modelmint.cli." + name.replace("-", "_")
        for command in commands(group).values():
            where = command.callback.__module__
            # label's extensions (label_review, label_suggest...) register on `mint label`
            assert where == module or where.startswith(module + "_"), (name, where)
