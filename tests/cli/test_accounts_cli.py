"""``mint channels|tenants|keys|admin-keys|prices|audit`` through typer's CliRunner, on a
fresh MINT_HOME each test."""

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.common import parse_duration
from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from modelmint.errors import UserError

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.setenv("COLUMNS", "250")
    return tmp_path / "home"


def ok(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 0, r.output
    return r.output


def refused(*args: str) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == 1, r.output
    return r.output


def test_channel_tenant_plan_and_prices() -> None:
    ok("channels", "create", "north")
    ok("prices", "create-book", "gold")
    ok("prices", "set", "gold", "demo", "--input", "0.50", "--output", "1.50")
    ok("channels", "set-book", "north", "gold")
    ok("prices", "create-book", "standard", "--as-channel", "north")
    ok(
        "prices", "set", "standard", "demo:2", "--input", "1", "--output", "2",
        "--as-channel", "north",
    )  # fmt: skip
    ok("tenants", "create", "n1", "--channel", "north", "--billing", "prepaid", "--rpm", "60")
    out = ok("tenants", "list")
    assert "n1" in out and "north" in out and "prepaid" in out and "60" in out
    out = ok("channels", "list")
    assert "gold" in out
    out = ok("prices", "list", "gold")
    assert "demo" in out and "0.50" in out and "1.50" in out
    out = ok("prices", "list")
    assert "gold" in out and "(platform)" in out and "north" in out
    assert "demo:2" in ok("prices", "list", "standard", "--as-channel", "north")

    rt = Runtime.open()
    t = rt.tenants.get(rt.scope(), "n1")
    q = rt.prices.quote(t.id, "demo", 2)
    assert (q.retail_input, q.retail_output, q.wholesale_input, q.wholesale_output) == (
        1_000_000,
        2_000_000,
        500_000,
        1_500_000,
    )


def test_tenant_update_suspend_and_resume() -> None:
    ok("prices", "create-book", "pro")
    ok("tenants", "create", "acme")
    out = ok("tenants", "update", "acme", "--plan", "pro", "--rpm", "10", "--tpm", "1000")
    assert "plan pro" in out and "rpm 10" in out
    out = ok("tenants", "update", "acme", "--default-plan", "--rpm", "none")
    assert "plan standard" in out and "rpm none" in out and "tpm 1000" in out
    key = ok("keys", "create", "--tenant", "acme").strip().splitlines()[-1]
    ok("tenants", "suspend", "acme")
    assert "suspended" in ok("tenants", "list")
    assert Runtime.open().keys.authenticate(key) is None
    ok("tenants", "resume", "acme")
    assert Runtime.open().keys.authenticate(key) is not None
    assert "not a whole number" in refused("tenants", "update", "acme", "--rpm", "lots")
    assert "nothing to change" in refused("tenants", "update", "acme")
    assert "no price book 'gold'" in refused("tenants", "update", "acme", "--plan", "gold")


def test_key_options_rotate_update_and_revoke() -> None:
    ok("tenants", "create", "acme")
    out = ok(
        "keys",
        "create",
        "--tenant",
        "acme",
        "--name",
        "ci",
        "--expires-in",
        "30d",
        "--models",
        "demo,demo:2",
        "--rpm",
        "5",
    )
    key = out.strip().splitlines()[-1]
    prefix = key.split("-")[1]
    rt = Runtime.open()
    p = rt.keys.authenticate(key)
    assert p is not None and p.allowed_models == ("demo", "demo:2") and p.key_rpm == 5
    listing = ok("keys", "list", "--tenant", "acme")
    assert prefix in listing and "demo,demo:2" in listing and key not in listing

    out = ok("keys", "rotate", prefix, "--grace", "1h")
    new_key = out.strip().splitlines()[-1]
    assert new_key.startswith("mm-") and new_key != key
    assert rt.keys.authenticate(key) is not None and rt.keys.authenticate(new_key) is not None
    new_prefix = new_key.split("-")[1]
    assert prefix in ok("keys", "list")  # shown as the new key's "from"

    out = ok("keys", "update", new_prefix, "--all-models", "--tpm", "99", "--expires-in", "never")
    assert "models all" in out and "tpm 99" in out and "expires never" in out
    ok("keys", "revoke", new_prefix)
    assert rt.keys.authenticate(new_key) is None
    assert "revoked" in ok("keys", "list")
    assert "not a duration" in refused("keys", "rotate", prefix, "--grace", "soon")
    assert "no key with prefix 'nope'" in refused("keys", "revoke", "nope")


def test_admin_keys() -> None:
    ok("channels", "create", "north")
    out = ok("admin-keys", "create", "--name", "ops")
    platform_key = out.strip().splitlines()[-1]
    out = ok("admin-keys", "create", "--as-channel", "north")
    north_key = out.strip().splitlines()[-1]
    assert platform_key.startswith("mma-") and north_key.startswith("mma-")
    rt = Runtime.open()
    p = rt.admin_keys.authenticate(north_key)
    assert p is not None and p.channel == "north"
    listing = ok("admin-keys", "list")
    assert "(platform)" in listing and "north" in listing and north_key not in listing
    ok("admin-keys", "revoke", p.prefix)
    assert rt.admin_keys.authenticate(north_key) is None
    assert "no channel 'ghost'" in refused("admin-keys", "create", "--as-channel", "ghost")


def test_audit_shows_who_changed_what() -> None:
    ok("channels", "create", "north")
    ok("tenants", "create", "acme", "--rpm", "3")
    ok("tenants", "update", "acme", "--rpm", "4")
    out = ok("audit", "--action", "tenant.update")
    assert "tenant:acme" in out and "rpm_limit: 3 -> 4" in out and "cli:" in out
    entries = json.loads(ok("audit", "--json", "--limit", "10"))
    assert [e["action"] for e in entries] == ["tenant.update", "tenant.create", "channel.create"]
    assert entries[0]["actor"].startswith("cli:")
    assert len(json.loads(ok("audit", "--json", "--as-channel", "north"))) == 1


def test_errors_are_one_clear_line() -> None:
    assert "no channel 'ghost'" in refused("tenants", "create", "x", "--channel", "ghost")
    assert "billing must be" in refused("tenants", "create", "x", "--billing", "weekly")
    assert "more than 6 decimals" in refused(
        "prices", "set", "standard", "demo", "--input", "0.0000001", "--output", "1"
    )
    ok("prices", "create-book", "standard")
    assert "is not a number" in refused(
        "prices", "set", "standard", "demo", "--input", "cheap", "--output", "1"
    )
    assert "no tenant 'ghost'" in refused("keys", "create", "--tenant", "ghost")
    assert "already exists" in refused("prices", "create-book", "standard")


def test_parse_duration() -> None:
    assert parse_duration("30d", "x").days == 30
    assert parse_duration("12h", "x").total_seconds() == 12 * 3600
    assert parse_duration("2w", "x").days == 14
    with pytest.raises(UserError, match=r"write e\.g\. 30d"):
        parse_duration("30 days", "--expires-in")
