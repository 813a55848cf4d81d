from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelmint.commerce import CommerceError
from modelmint.commerce.economics import economics
from modelmint.store import Store
from support.billing import BillingWorld

HOURLY = 1_200_000  # $1.20 per hour of hardware


def test_worked_example(store: Store, tmp_path: Path) -> None:
    """By hand: 100 output tokens/s is 360,000 tokens an hour, so at $1.20 an hour one
    output token costs 1,200,000 / 360,000 = 3.33 micro-units: $3.333333 per million."""
    w = BillingWorld(store, tmp_path / "artifacts")
    chat1, chat2 = w.model("chat"), w.model("chat")
    resell = w.channel("resell")
    acme, shop = w.tenant("acme"), w.tenant("shop", resell)
    # acme (direct), chat:1: 1,000 in at $1/M + 36,000 out at $10/M = 1,000 + 360,000
    assert w.use(acme, chat1, 1_000, 36_000, price=(1_000_000, 10_000_000)) == (361_000, 0)
    # shop (channel), chat:1: retail 2,000 * 2 + 18,000 * 20 = 364,000;
    # wholesale 2,000 * 1 + 18,000 * 5 = 92,000
    assert w.use(
        shop, chat1, 2_000, 18_000, price=(2_000_000, 20_000_000), wholesale=(1_000_000, 5_000_000)
    ) == (364_000, 92_000)
    # chat:2 was never measured: revenue counts, cost is unknown
    assert w.use(acme, chat2, 10, 10, price=(1_000_000, 1_000_000)) == (20, 0)
    # outside the period
    w.use(acme, chat1, 10**6, 10**6, price=(1, 1), at=datetime(2025, 2, 1, tzinfo=UTC))

    r = economics(
        store, hardware_cost_per_hour_micros=HOURLY, throughput={chat1: 100.0}, period="2025-01"
    )

    m1, m2 = r.models
    assert (m1.model, m1.requests, m1.input_tokens, m1.output_tokens) == (
        "chat:1",
        2,
        3_000,
        54_000,
    )
    assert m1.cost_per_mtok_micros == 3_333_333
    # compute: acme 36,000 tokens = a tenth of an hour = 120,000; shop 18,000 = 60,000
    assert m1.compute_cost_micros == 180_000
    # our revenue: acme's retail plus the channel's wholesale, not the channel's retail
    assert m1.revenue_micros == 361_000 + 92_000 == 453_000
    assert m1.gross_margin_micros == 273_000
    assert m1.margin_percent == pytest.approx(100 * 273_000 / 453_000)  # 60.26%
    # break-even: 1.20 / (453,000 / 54,000 micro-units per token * 100 * 3600) = 0.39735
    assert m1.break_even_utilization == pytest.approx(180_000 / 453_000)
    assert (m2.model, m2.revenue_micros, m2.tokens_per_s) == ("chat:2", 20, None)
    assert m2.compute_cost_micros is None and m2.gross_margin_micros is None
    assert m2.break_even_utilization is None and r.unmeasured == ["chat:2"]

    (c,) = r.channels
    assert (c.channel, c.requests, c.output_tokens) == ("resell", 1, 18_000)
    assert (c.wholesale_micros, c.retail_micros, c.compute_cost_micros) == (92_000, 364_000, 60_000)
    assert c.channel_margin_micros == 364_000 - 92_000 == 272_000
    assert c.gross_margin_micros == 92_000 - 60_000

    t_acme, t_shop = r.tenants
    assert (t_acme.tenant, t_acme.channel, t_acme.requests) == ("acme", None, 2)
    assert (t_acme.retail_micros, t_acme.revenue_micros) == (361_020, 361_020)
    assert (t_acme.compute_cost_micros, t_acme.gross_margin_micros) == (120_000, 241_020)
    assert (t_shop.tenant, t_shop.channel) == ("shop", "resell")
    assert (t_shop.retail_micros, t_shop.revenue_micros) == (364_000, 92_000)
    assert (t_shop.compute_cost_micros, t_shop.gross_margin_micros) == (60_000, 32_000)

    assert (r.revenue_micros, r.compute_cost_micros, r.gross_margin_micros) == (
        453_020,
        180_000,
        273_020,
    )
    assert r.to_json()["models"][0]["gross_margin_micros"] == 273_000

    # all time includes February's request (2 million tokens at 1 micro per million: 2)
    everything = economics(store, hardware_cost_per_hour_micros=HOURLY, throughput={})
    assert everything.revenue_micros == 453_020 + 2
    assert everything.compute_cost_micros == 0 and everything.unmeasured == ["chat:1", "chat:2"]


def test_costs_are_rounded_half_up_per_tenant_and_model(store: Store, tmp_path: Path) -> None:
    """$0.0036 an hour at 2 tokens/s: exactly half a micro-unit per output token."""
    w = BillingWorld(store, tmp_path / "artifacts")
    m = w.model("tiny")
    a, b = w.tenant("a"), w.tenant("b")
    w.use(a, m, 0, 1, price=(0, 1_000_000))  # cost 0.5 -> 1
    w.use(b, m, 0, 3, price=(0, 1_000_000))  # cost 1.5 -> 2
    r = economics(store, hardware_cost_per_hour_micros=3_600, throughput={m: 2.0})
    assert [t.compute_cost_micros for t in r.tenants] == [1, 2]
    assert r.models[0].compute_cost_micros == 3  # the sum of the tenants' costs
    assert r.models[0].cost_per_mtok_micros == 500_000


def test_bad_arguments(store: Store) -> None:
    with pytest.raises(CommerceError, match="negative"):
        economics(store, hardware_cost_per_hour_micros=-1, throughput={})
    with pytest.raises(CommerceError, match="not both"):
        economics(
            store,
            hardware_cost_per_hour_micros=1,
            throughput={},
            period="2025-01",
            since=datetime(2025, 1, 1, tzinfo=UTC),
        )
    empty = economics(store, hardware_cost_per_hour_micros=1, throughput={}, period="2025-01")
    assert (empty.models, empty.channels, empty.tenants, empty.revenue_micros) == ([], [], [], 0)
