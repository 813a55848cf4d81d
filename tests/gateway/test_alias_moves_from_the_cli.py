"""An alias moved from the command line (``mint models alias``) is a promotion like one made
in the console: the console's alias history shows it, with the CLI user as the actor, and a
rollback in the console puts the alias back on the version it named before it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from modelmint.cli.main import app as cli
from modelmint.cli.runtime import Runtime, cli_actor
from support.admin import admin_app, bearer, platform_key

runner = CliRunner()


@pytest.fixture
def runtime(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Runtime:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    rt = Runtime.open()
    for _ in range(3):
        rt.catalog.add_model_version(
            "m",
            rt.catalog.staging_dir("model"),
            run_id=None,
            kind="causal-lm",
            num_parameters=1,
            metrics={},
        )
    return rt


def _alias(version: int) -> None:
    r = runner.invoke(cli, ["models", "alias", "m", str(version), "production"])
    assert r.exit_code == 0, r.output


def test_cli_promotions_are_in_the_console_history_and_roll_back(runtime: Runtime) -> None:
    _alias(1)
    _alias(3)
    client = TestClient(admin_app(runtime.store, runtime.settings.artifacts_dir))
    client.headers.update(bearer(platform_key(runtime.store)))

    detail = client.get("/admin/v1/models/m").json()
    history = [
        (e["action"], e["from_version"], e["to_version"], e["actor"])
        for e in detail["alias_history"]
    ]
    assert history == [("promote", 1, 3, cli_actor()), ("promote", None, 1, cli_actor())]
    assert [(a["alias"], a["version"], a["rollback_to"]) for a in detail["aliases"]] == [
        ("production", 3, 1)
    ]

    back = client.post("/admin/v1/models/m/aliases/production/rollback")
    assert back.status_code == 200, back.text
    assert (back.json()["previous"], back.json()["version"]) == (3, 1)
    assert runtime.catalog.resolve_model("m@production").version == 1


def test_the_same_version_again_is_no_new_history(runtime: Runtime) -> None:
    _alias(2)
    _alias(2)
    client = TestClient(admin_app(runtime.store, runtime.settings.artifacts_dir))
    client.headers.update(bearer(platform_key(runtime.store)))
    history = client.get("/admin/v1/models/m").json()["alias_history"]
    assert [(e["from_version"], e["to_version"]) for e in history] == [(None, 2)]


def test_a_rollback_after_a_cli_promotion_undoes_that_promotion(runtime: Runtime) -> None:
    client = TestClient(admin_app(runtime.store, runtime.settings.artifacts_dir))
    client.headers.update(bearer(platform_key(runtime.store)))
    for version in (1, 2):
        r = client.post("/admin/v1/models/m/aliases/production", json={"version": version})
        assert r.status_code == 200, r.text
    _alias(3)  # from the command line, after the console's promotions

    back = client.post("/admin/v1/models/m/aliases/production/rollback")
    assert back.status_code == 200, back.text
    assert (back.json()["previous"], back.json()["version"]) == (3, 2)
    assert runtime.catalog.resolve_model("m@production").version == 2


def test_a_console_promotion_rolls_back_from_the_cli_and_both_show_in_its_history(
    runtime: Runtime,
) -> None:
    _alias(1)
    client = TestClient(admin_app(runtime.store, runtime.settings.artifacts_dir))
    client.headers.update(bearer(platform_key(runtime.store)))
    assert client.post("/admin/v1/models/m/aliases/production", json={"version": 2}).is_success

    back = runner.invoke(cli, ["models", "rollback", "m", "production"])
    assert back.exit_code == 0, back.output
    assert "m@production -> m:1 (was m:2)" in back.output
    assert runtime.catalog.resolve_model("m@production").version == 1

    shown = runner.invoke(cli, ["models", "history", "m", "--json"])
    assert shown.exit_code == 0, shown.output
    moves = [(e["action"], e["from_version"], e["to_version"]) for e in json.loads(shown.output)]
    assert moves == [("rollback", 2, 1), ("promote", 1, 2), ("promote", None, 1)]
    again = runner.invoke(cli, ["models", "rollback", "m", "production"])
    assert again.exit_code == 1 and "no earlier version" in again.output
    assert "Traceback" not in again.output
