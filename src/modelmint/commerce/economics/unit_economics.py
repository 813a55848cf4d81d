"""Unit economics from the ledger: what serving a model version costs per million output
tokens on our hardware, what it earned, and the margin, per model version, channel and
tenant.

- Cost per million output tokens = hourly hardware cost / (measured tokens/s * 3600) * 1e6,
  with the throughput measured under load (``mint economics --measure``).
- Compute cost of some usage = its output tokens at that rate: the hardware time those
  tokens take at full throughput. It is computed per (model version, tenant) and summed,
  so the model, channel and tenant figures add up to the same total.
- Platform revenue: the retail price of direct tenants' requests plus the wholesale price
  of channel tenants' requests (a channel's retail is the channel's revenue, not ours).
  Usage revenue, before credit notes.
- Break-even utilization = hourly cost / (revenue per output token * tokens/s * 3600): the
  share of the hour the hardware must be busy at this revenue per token to pay for itself
  (above 1: it cannot, at any load).

Money stays in integer micro-units (rounded half up once per tenant and model version);
ratios are floats, for display only."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any

from sqlalchemy import func, select

from modelmint.commerce.errors import CommerceError
from modelmint.commerce.ledger.billing_periods import parse_period
from modelmint.store import Channel, Store, Tenant, UsageEvent
from modelmint.store.catalog_tables import ModelVersion

SECONDS_PER_HOUR = 3600
# What the ledger is grouped by and summed over, for every report on it (this one and
# the console's time series): requests, prompt and completion tokens, retail, wholesale.
USAGE_GROUP = (UsageEvent.model_version_id, UsageEvent.tenant_id, UsageEvent.channel_id)
USAGE_TOTALS = (
    func.count(UsageEvent.id),
    func.sum(UsageEvent.prompt_tokens),
    func.sum(UsageEvent.completion_tokens),
    func.sum(UsageEvent.retail_micros),
    func.sum(UsageEvent.wholesale_micros),
)
MTOK = 1_000_000


def _round(x: Fraction) -> int:
    """Half up, the way an accountant rounds (Python's round() goes half to even)."""
    return int((x + Fraction(1, 2)).__floor__())


@dataclass(frozen=True)
class ModelEconomics:
    model: str  # name:version
    model_version_id: int
    requests: int
    input_tokens: int
    output_tokens: int
    revenue_micros: int
    tokens_per_s: float | None  # None: never measured, so no cost figures
    cost_per_mtok_micros: int | None
    compute_cost_micros: int | None
    break_even_utilization: float | None  # None: no revenue (or no throughput)

    @property
    def gross_margin_micros(self) -> int | None:
        if self.compute_cost_micros is None:
            return None
        return self.revenue_micros - self.compute_cost_micros

    @property
    def margin_percent(self) -> float | None:
        margin = self.gross_margin_micros
        if margin is None or not self.revenue_micros:
            return None
        return 100.0 * margin / self.revenue_micros


@dataclass(frozen=True)
class TenantEconomics:
    tenant: str
    channel: str | None
    requests: int
    output_tokens: int
    retail_micros: int  # what the tenant was billed (by us or by its channel)
    revenue_micros: int  # what the platform earned from its requests
    compute_cost_micros: int  # of the measured model versions

    @property
    def gross_margin_micros(self) -> int:
        return self.revenue_micros - self.compute_cost_micros


@dataclass(frozen=True)
class ChannelEconomics:
    channel: str
    requests: int
    output_tokens: int
    wholesale_micros: int  # the platform's revenue from this channel
    retail_micros: int  # what the channel billed its tenants
    compute_cost_micros: int

    @property
    def channel_margin_micros(self) -> int:
        """What the channel keeps: its retail less what it pays us."""
        return self.retail_micros - self.wholesale_micros

    @property
    def gross_margin_micros(self) -> int:
        """The platform's margin on the channel: wholesale less compute."""
        return self.wholesale_micros - self.compute_cost_micros


@dataclass(frozen=True)
class EconomicsReport:
    since: datetime | None
    until: datetime | None
    hardware_cost_per_hour_micros: int
    models: list[ModelEconomics]
    channels: list[ChannelEconomics]
    tenants: list[TenantEconomics]
    unmeasured: list[str] = field(default_factory=list)  # models with no throughput

    @property
    def revenue_micros(self) -> int:
        return sum(m.revenue_micros for m in self.models)

    @property
    def compute_cost_micros(self) -> int:
        return sum(m.compute_cost_micros or 0 for m in self.models)

    @property
    def gross_margin_micros(self) -> int:
        return self.revenue_micros - self.compute_cost_micros

    def to_json(self) -> dict[str, Any]:
        def with_props(obj: Any, *props: str) -> dict[str, Any]:
            return {**obj.__dict__, **{p: getattr(obj, p) for p in props}}

        return {
            "since": self.since.isoformat() if self.since else None,
            "until": self.until.isoformat() if self.until else None,
            "hardware_cost_per_hour_micros": self.hardware_cost_per_hour_micros,
            "revenue_micros": self.revenue_micros,
            "compute_cost_micros": self.compute_cost_micros,
            "gross_margin_micros": self.gross_margin_micros,
            "models": [with_props(m, "gross_margin_micros", "margin_percent") for m in self.models],
            "channels": [
                with_props(c, "channel_margin_micros", "gross_margin_micros") for c in self.channels
            ],
            "tenants": [with_props(t, "gross_margin_micros") for t in self.tenants],
            "unmeasured": self.unmeasured,
        }


def economics(
    store: Store,
    *,
    hardware_cost_per_hour_micros: int,
    throughput: dict[int, float],
    period: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> EconomicsReport:
    """The report over the usage in ``period`` (YYYY-MM), or in ``[since, until)``, or all
    of it. ``throughput``: model version id -> measured output tokens per second."""
    if hardware_cost_per_hour_micros < 0:
        raise CommerceError("the hardware cost per hour cannot be negative")
    if period is not None:
        if since is not None or until is not None:
            raise CommerceError("give a period or since/until, not both")
        p = parse_period(period)
        since, until = p.start, p.end
    hourly = hardware_cost_per_hour_micros
    # micro-units per output token, exact, per measured model version
    rate = {
        mid: Fraction(hourly) / (Fraction(tps) * SECONDS_PER_HOUR)
        for mid, tps in throughput.items()
        if tps > 0
    }
    q = select(*USAGE_GROUP, *USAGE_TOTALS).group_by(*USAGE_GROUP)
    if since is not None:
        q = q.where(UsageEvent.created_at >= since)
    if until is not None:
        q = q.where(UsageEvent.created_at < until)
    with store.session() as s:
        groups = [tuple(int(v) if v is not None else None for v in row) for row in s.execute(q)]
        labels = {
            mv.id: f"{mv.name}:{mv.version}"
            for mv in s.scalars(
                select(ModelVersion).where(ModelVersion.id.in_({g[0] for g in groups}))
            )
        }
        tenants = {t.id: t.name for t in s.scalars(select(Tenant))}
        channels = {c.id: c.name for c in s.scalars(select(Channel))}

    model_sum: dict[int, list[int]] = defaultdict(lambda: [0] * 6)
    tenant_sum: dict[tuple[int, int | None], list[int]] = defaultdict(lambda: [0] * 5)
    channel_sum: dict[int, list[int]] = defaultdict(lambda: [0] * 5)
    for mid, tid, cid, n, tin, tout, retail, wholesale in groups:
        assert mid is not None and tid is not None
        assert n is not None and tin is not None and tout is not None
        assert retail is not None and wholesale is not None
        revenue = retail if cid is None else wholesale
        cost = _round(tout * rate[mid]) if mid in rate else 0
        for acc, values in [
            (model_sum[mid], (n, tin, tout, revenue, cost, 0)),
            (tenant_sum[(tid, cid)], (n, tout, retail, revenue, cost)),
            *([(channel_sum[cid], (n, tout, wholesale, retail, cost))] if cid is not None else []),
        ]:
            for i, v in enumerate(values):
                acc[i] += v

    models = []
    for mid in sorted(model_sum, key=lambda i: labels[i]):
        n, tin, tout, revenue, cost, _ = model_sum[mid]
        tps = throughput.get(mid) if mid in rate else None
        break_even = None
        if mid in rate and revenue > 0 and tout > 0:
            break_even = float(rate[mid] * tout / revenue)
        models.append(
            ModelEconomics(
                labels[mid],
                mid,
                n,
                tin,
                tout,
                revenue,
                tps,
                _round(rate[mid] * MTOK) if mid in rate else None,
                cost if mid in rate else None,
                break_even,
            )
        )
    return EconomicsReport(
        since,
        until,
        hourly,
        models,
        [
            ChannelEconomics(channels[cid], *channel_sum[cid])
            for cid in sorted(channel_sum, key=lambda i: channels[i])
        ],
        [
            TenantEconomics(
                tenants[tid], channels[cid] if cid is not None else None, *tenant_sum[(tid, cid)]
            )
            for tid, cid in sorted(tenant_sum, key=lambda k: (tenants[k[0]], k[1] or 0))
        ],
        sorted(m.model for m in models if m.tokens_per_s is None),
    )
