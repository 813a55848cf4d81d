import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from modelmint.cli.main import app
from modelmint.cli.runtime import Runtime
from support.billing import BillingWorld
from support.helpers import build_micro_model

runner = CliRunner()


@pytest.fixture(autouse=True)
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MINT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("MINT_DATABASE_URL", raising=False)
    monkeypatch.delenv("MINT_HARDWARE_COST_PER_HOUR", raising=False)
    monkeypatch.setenv("COLUMNS", "200")
    return tmp_path / "home"


@pytest.fixture
def world() -> BillingWorld:
    rt = Runtime.open()
    return BillingWorld(rt.store, rt.settings.artifacts_dir)


def mint(*args: str, code: int = 0) -> str:
    r = runner.invoke(app, list(args))
    assert r.exit_code == code, r.output
    return r.output


def test_generate_credit_regenerate_show_and_channel_scope(world: BillingWorld, home: Path) -> None:
    chat = world.model("chat")
    resell = world.channel("resell")
    acme, shop = world.tenant("acme"), world.tenant("shop", resell)
    world.use(acme, chat, 1_000, 500, price=(1_000_000, 2_000_000))  # 2,000 micro-units
    world.use(shop, chat, 100, 100, price=(3_000_000, 3_000_000), wholesale=(1_000_000, 1_000_000))
    out = mint("invoices", "generate", "--period", "2025-01")
    numbers = [f"INV-202501-T{acme}", f"INV-202501-T{shop}", f"INV-202501-C{resell}"]
    assert all(n in out for n in numbers)
    folder = home / "artifacts" / "invoices" / "2025-01"
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        f"{n}.{e}" for n in numbers for e in ("csv", "html")
    )

    out = mint(
        "invoices", "credit", "--tenant", "acme", "--period", "2025-01", "--amount", "0.0005",
        "--reason", "slow responses",
    )  # fmt: skip
    assert "CN-202501-1" in out and "mint invoices generate --period 2025-01" in out
    mint("invoices", "generate", "--period", "2025-01")
    shown = json.loads(runner.invoke(app, ["invoices", "show", numbers[0], "--json"]).stdout)
    assert (shown["subtotal_micros"], shown["credits_micros"], shown["total_micros"]) == (
        2_000,
        500,
        1_500,
    )
    assert shown["lines"][-1]["item"] == "CN-202501-1: slow responses"
    assert "slow responses" in Path(shown["html"]).read_text()
    assert "CN-202501-1" in mint("invoices", "credit-notes", "--period", "2025-01")

    listing = mint("invoices", "list", "--as-channel", "resell")
    assert numbers[1] in listing and numbers[2] in listing and numbers[0] not in listing
    out = mint("invoices", "show", numbers[0], "--as-channel", "resell", code=1)
    assert f"no invoice '{numbers[0]}'" in out
    out = mint("invoices", "show", numbers[2])
    assert "shop" in out and "margin" in out  # the channel's margin per tenant
    out = mint(
        "invoices", "credit", "--channel", "resell", "--period", "2025-01", "--amount", "1",
        "--reason", "x", "--as-channel", "resell", code=1,
    )  # fmt: skip
    assert "no channel 'resell'" in out  # a channel cannot credit its own wholesale bill


def test_user_errors_are_one_line(world: BillingWorld) -> None:
    assert "YYYY-MM" in mint("invoices", "generate", "--period", "2025-13", code=1)
    out = mint(
        "invoices", "credit", "--tenant", "ghost", "--period", "2025-01", "--amount", "1",
        "--reason", "x", code=1,
    )  # fmt: skip
    assert "no tenant 'ghost'" in out
    out = mint(
        "invoices", "credit", "--tenant", "ghost", "--period", "2025-01", "--amount", "0.0000001",
        "--reason", "x", code=1,
    )  # fmt: skip
    assert "more than 6 decimals" in out
    assert "MINT_HARDWARE_COST_PER_HOUR" in mint("economics", code=1)
    assert "is not a number" in mint("economics", "--hardware-cost-per-hour", "abc", code=1)


def test_economics_json_and_cost_from_settings(
    world: BillingWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    chat = world.model("chat", metrics={"serving_tokens_per_s": 100.0})
    acme = world.tenant("acme")
    world.use(acme, chat, 0, 36_000, price=(0, 10_000_000))  # 360,000 micro-units
    r = runner.invoke(
        app, ["economics", "--period", "2025-01", "--hardware-cost-per-hour", "1.20", "--json"]
    )
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    (m,) = report["models"]
    assert (m["model"], m["cost_per_mtok_micros"], m["compute_cost_micros"]) == (
        "chat:1",
        3_333_333,
        120_000,
    )
    assert (m["revenue_micros"], m["gross_margin_micros"]) == (360_000, 240_000)
    assert report["hardware_cost_per_hour_micros"] == 1_200_000
    monkeypatch.setenv("MINT_HARDWARE_COST_PER_HOUR", "2.40")
    out = mint("economics")
    assert "chat:1" in out and "6.666667" in out  # $ per million output tokens at $2.40/h


def test_economics_measure_stores_the_throughput(world: BillingWorld, tmp_path: Path) -> None:
    staged = world.catalog.staging_dir("m")
    build_micro_model(staged)
    model = world.catalog.add_model_version(
        "micro", staged, run_id=None, kind="causal-lm", num_parameters=1, metrics={}
    )
    acme = world.tenant("acme")
    world.use(acme, model.id, 10, 1_000, price=(0, 1_000_000))
    r = runner.invoke(app, ["economics", "--hardware-cost-per-hour", "1", "--measure", "--json"])
    assert r.exit_code == 0, r.output
    (m,) = json.loads(r.stdout)["models"]
    stored = Runtime.open().catalog.get_model(model.id).metrics
    assert stored["serving_tokens_per_s"] == m["tokens_per_s"] > 0
    assert stored["serving_throughput"]["concurrency"] == 16
    assert stored["serving_throughput"]["output_tokens"] > 0
    assert m["compute_cost_micros"] is not None
