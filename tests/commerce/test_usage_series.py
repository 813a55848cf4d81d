"""Usage over time: hour and day buckets over a range, split by model, channel or tenant,
revenue and cost as the platform and as a channel see them, compute cost rounded so every
split adds up to the same total."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from modelmint.commerce import PLATFORM, CommerceError, Scope
from modelmint.commerce.economics import UsageSeries, usage_series
from modelmint.commerce.economics.series import DIRECT
from modelmint.store import Store
from support.billing import BillingWorld

HOURLY = 1_200_000  # $1.20 an hour: at 100 output tokens/s, 3.33 micro-units a token
DAY = datetime(2025, 1, 15, tzinfo=UTC)


def at(hour: int, minute: int = 0, second: int = 0, day: int = 15) -> datetime:
    return datetime(2025, 1, day, hour, minute, second, tzinfo=UTC)


class World:
    def __init__(self, store: Store, tmp_path: Path) -> None:
        w = BillingWorld(store, tmp_path / "artifacts")
        self.chat1, self.chat2 = w.model("chat"), w.model("chat")
        self.resell = w.channel("resell")
        self.other = w.channel("other")
        acme, shop = w.tenant("acme"), w.tenant("shop", self.resell)
        # 12:05 acme chat:1: retail 1,000 * 1 + 36,000 * 10 = 361,000; compute 120,000
        w.use(acme, self.chat1, 1_000, 36_000, price=(1_000_000, 10_000_000), at=at(12, 5))
        # 12:55 shop chat:1: retail 364,000, wholesale 92,000; compute 60,000
        w.use(
            shop,
            self.chat1,
            2_000,
            18_000,
            price=(2_000_000, 20_000_000),
            wholesale=(1_000_000, 5_000_000),
            at=at(12, 55),
        )
        # 13:10 acme chat:2 (never measured): retail 20
        w.use(acme, self.chat2, 10, 10, price=(1_000_000, 1_000_000), at=at(13, 10))
        # 15:00 shop chat:1: retail 36,000, wholesale 18,000; compute 12,000
        w.use(
            shop, self.chat1, 0, 3_600, price=(0, 10_000_000), wholesale=(0, 5_000_000), at=at(15)
        )
        # outside [12:00, 16:00): just before and exactly at the end
        w.use(acme, self.chat1, 5, 5, price=(1_000_000, 1_000_000), at=at(11, 59, 59))
        w.use(shop, self.chat1, 5, 5, price=(1_000_000, 1_000_000), at=at(16))
        self.store = store

    def series(self, scope: Scope = PLATFORM, **kw: object) -> UsageSeries:
        args: dict = {
            "since": at(12, 30),
            "until": at(16),
            "bucket": "hour",
            "hardware_cost_per_hour_micros": HOURLY,
            "throughput": {self.chat1: 100.0},
            **kw,
        }
        return usage_series(self.store, scope, **args)


def rows(series: UsageSeries, *keys: str) -> list[tuple]:
    return [tuple(getattr(p, k) for k in keys) for p in series.totals]


def test_platform_hours_by_model(store: Store, tmp_path: Path) -> None:
    s = World(store, tmp_path).series(group="model")
    # since 12:30 widens to the whole 12:00 hour; an empty hour is still a bucket
    assert s.buckets == [at(12), at(13), at(14), at(15)]
    assert (s.since, s.until, s.perspective, s.expense_basis) == (
        at(12),
        at(16),
        "platform",
        "compute",
    )
    assert rows(s, "requests", "prompt_tokens", "completion_tokens") == [
        (2, 3_000, 54_000),
        (1, 10, 10),
        (0, 0, 0),
        (1, 0, 3_600),
    ]
    # platform revenue: acme's retail plus the channel's wholesale (not shop's retail)
    assert rows(s, "revenue_micros", "cost_micros", "margin_micros") == [
        (361_000 + 92_000, 180_000, 273_000),
        (20, 0, 20),
        (0, 0, 0),
        (18_000, 12_000, 6_000),
    ]
    t = s.total
    assert (t.requests, t.total_tokens, t.revenue_micros, t.cost_micros) == (
        4,
        3_010 + 57_610,
        471_020,
        192_000,
    )
    assert t.margin_micros == 279_020
    assert [(g.name, g.total.requests, g.total.revenue_micros) for g in s.groups] == [
        ("chat:1", 3, 471_000),
        ("chat:2", 1, 20),
    ]
    chat1 = s.groups[0]
    assert [p.cost_micros for p in chat1.points] == [180_000, 0, 0, 12_000]
    assert s.unmeasured == ["chat:2"]


def test_platform_by_channel_and_tenant_add_up(store: Store, tmp_path: Path) -> None:
    w = World(store, tmp_path)
    by_channel, by_tenant = w.series(group="channel"), w.series(group="tenant")
    assert [(g.name, g.total.revenue_micros, g.total.cost_micros) for g in by_channel.groups] == [
        (DIRECT, 361_020, 120_000),
        ("resell", 110_000, 72_000),
    ]
    assert [(g.name, g.total.requests) for g in by_tenant.groups] == [("acme", 2), ("shop", 2)]
    assert [g.points[1].revenue_micros for g in by_channel.groups] == [20, 0]
    for s in (by_channel, by_tenant):
        assert s.total == w.series(group="model").total


def test_no_hourly_cost_means_cost_unknown(store: Store, tmp_path: Path) -> None:
    s = World(store, tmp_path).series(hardware_cost_per_hour_micros=None)
    assert s.expense_basis == "unknown" and s.unmeasured == []
    assert all(p.cost_micros is None and p.margin_micros is None for p in s.totals)
    assert s.total.revenue_micros == 471_020 and s.total.cost_micros is None
    assert all(g.total.cost_micros is None for g in s.groups)


def test_a_channel_sees_its_tenants_retail_and_its_wholesale(store: Store, tmp_path: Path) -> None:
    w = World(store, tmp_path)
    s = w.series(Scope(channel_id=w.resell), group="tenant")
    assert (s.perspective, s.expense_basis) == ("channel", "wholesale")
    assert [g.name for g in s.groups] == ["shop"]
    assert rows(s, "requests", "revenue_micros", "cost_micros", "margin_micros") == [
        (1, 364_000, 92_000, 272_000),
        (0, 0, 0, 0),
        (0, 0, 0, 0),
        (1, 36_000, 18_000, 18_000),
    ]
    # the platform's compute cost and unmeasured models are not the channel's business
    assert s.unmeasured == []
    by_model = w.series(Scope(channel_id=w.resell), group="channel")
    assert [g.name for g in by_model.groups] == ["resell"]
    nothing = w.series(Scope(channel_id=w.other), group="model")
    assert nothing.groups == [] and nothing.total.requests == 0
    assert len(nothing.totals) == 4


def test_days(store: Store, tmp_path: Path) -> None:
    s = World(store, tmp_path).series(since=at(10, day=14), until=at(0, day=16), bucket="day")
    assert s.buckets == [datetime(2025, 1, 14, tzinfo=UTC), DAY]
    assert [p.requests for p in s.totals] == [0, 6]  # 11:59:59 and 16:00 count on the 15th
    assert s.until == datetime(2025, 1, 16, tzinfo=UTC)


def test_compute_cost_rounds_half_up_per_bucket_model_and_tenant(
    store: Store, tmp_path: Path
) -> None:
    """$0.0036 an hour at 2 tokens/s: exactly half a micro-unit per output token."""
    w = BillingWorld(store, tmp_path / "artifacts")
    m = w.model("tiny")
    a, b = w.tenant("a"), w.tenant("b")
    w.use(a, m, 0, 1, price=(0, 1_000_000), at=at(12))  # 0.5 -> 1
    w.use(b, m, 0, 3, price=(0, 1_000_000), at=at(12, 30))  # 1.5 -> 2
    w.use(a, m, 0, 1, price=(0, 1_000_000), at=at(13))  # 0.5 -> 1
    for group in ("model", "tenant", "channel"):
        s = usage_series(
            store,
            PLATFORM,
            since=at(12),
            until=at(14),
            group=group,  # type: ignore[arg-type]
            hardware_cost_per_hour_micros=3_600,
            throughput={m: 2.0},
        )
        assert [p.cost_micros for p in s.totals] == [3, 1], group
        assert sum(g.total.cost_micros or 0 for g in s.groups) == 4


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"since": at(13), "until": at(12)}, "until must be after since"),
        ({"since": at(12), "until": at(12)}, "until must be after since"),
        ({"since": datetime(2025, 1, 1, 12), "until": at(12)}, "time zone"),
        ({"since": datetime(2024, 1, 1, tzinfo=UTC), "until": at(12)}, "at most 1000"),
        ({"bucket": "week"}, "hour or day"),
        ({"group": "key"}, "model, channel or tenant"),
        ({"hardware_cost_per_hour_micros": -1}, "negative"),
    ],
)
def test_bad_requests(store: Store, kw: dict, message: str) -> None:
    args: dict = {"since": at(12), "until": at(13), **kw}
    with pytest.raises(CommerceError, match=message):
        usage_series(store, PLATFORM, **args)
