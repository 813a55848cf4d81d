"""Usage over time for the console's overview: requests, tokens, revenue, cost and margin
per hour or day, split by model version, channel or tenant, as one scope sees them.

What revenue and cost mean depends on who looks:
- the platform: revenue is what the platform earns (retail of direct tenants, wholesale
  of channel tenants, as in ``commerce.economics``); cost is the compute cost of the
  output tokens at the hardware's hourly cost and each model version's measured
  throughput (None when no hourly cost is known; a model version never measured costs
  nothing and is listed in ``unmeasured``);
- a channel: revenue is what its tenants were billed (retail); cost is what the channel
  pays the platform (wholesale). It sees only its own tenants.

Buckets are UTC hours or days; a range is ``[since, until)`` widened to whole buckets.
Compute cost is rounded half up per (bucket, model version, tenant) and summed, so the
same range adds up to the same total whichever way it is grouped. Money stays in integer
micro-units."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from fractions import Fraction
from typing import Literal, NamedTuple

from sqlalchemy import ColumnElement, func, select

from modelmint.commerce.accounts.tenants import QUALIFIER
from modelmint.commerce.economics.unit_economics import SECONDS_PER_HOUR, USAGE_GROUP, USAGE_TOTALS
from modelmint.commerce.errors import CommerceError
from modelmint.commerce.scope import Scope
from modelmint.store import Channel, Store, Tenant, UsageEvent
from modelmint.store.catalog_tables import ModelVersion

Bucket = Literal["hour", "day"]
Group = Literal["model", "channel", "tenant"]
BUCKETS: dict[str, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
MAX_BUCKETS = 1000  # about six weeks of hours, or almost three years of days
DIRECT = "direct"  # the channel group of the platform's own tenants


@dataclass
class Point:
    """One bucket of one group (or of everything)."""

    requests: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    revenue_micros: int = 0
    cost_micros: int | None = 0  # None: unknown (no hourly hardware cost given)

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def margin_micros(self) -> int | None:
        return None if self.cost_micros is None else self.revenue_micros - self.cost_micros

    def add(self, n: int, tin: int, tout: int, revenue: int, cost: int | None) -> None:
        self.requests += n
        self.prompt_tokens += tin
        self.completion_tokens += tout
        self.revenue_micros += revenue
        if self.cost_micros is not None and cost is not None:
            self.cost_micros += cost
        else:
            self.cost_micros = None


@dataclass(frozen=True)
class GroupSeries:
    name: str  # model label, channel name (``direct``) or tenant name
    points: list[Point]  # one per bucket, in order
    total: Point


@dataclass(frozen=True)
class UsageSeries:
    since: datetime
    until: datetime
    bucket: Bucket
    group: Group
    perspective: Literal["platform", "channel"]  # whose revenue the figures are
    expense_basis: Literal["compute", "wholesale", "unknown"]
    buckets: list[datetime]  # the start of each bucket
    totals: list[Point]  # per bucket, every group together
    total: Point
    groups: list[GroupSeries] = field(default_factory=list)  # biggest revenue first
    unmeasured: list[str] = field(default_factory=list)  # models costed at zero


class _Row(NamedTuple):
    """One group of events: a bucket, model version, tenant and channel."""

    bucket: str
    model_version_id: int
    tenant_id: int
    channel_id: int | None
    requests: int
    prompt_tokens: int
    completion_tokens: int
    retail_micros: int
    wholesale_micros: int


def bucket_start(at: datetime, bucket: Bucket) -> datetime:
    at = at.astimezone(UTC)
    if bucket == "hour":
        return at.replace(minute=0, second=0, microsecond=0)
    return at.replace(hour=0, minute=0, second=0, microsecond=0)


def _bucket_key(store: Store, bucket: Bucket) -> ColumnElement[str]:
    """The bucket of an event as text (``YYYY-MM-DD HH`` or ``YYYY-MM-DD``), computed by
    the database so only the grouped rows come back."""
    column = UsageEvent.created_at
    if store.engine.dialect.name == "postgresql":
        pattern = "YYYY-MM-DD HH24" if bucket == "hour" else "YYYY-MM-DD"
        return func.to_char(func.timezone("UTC", column), pattern)
    # SQLite keeps the UTC time as text "YYYY-MM-DD HH:MM:SS.ffffff"
    return func.strftime("%Y-%m-%d %H" if bucket == "hour" else "%Y-%m-%d", column)


def _parse_key(text: str, bucket: Bucket) -> datetime:
    fmt = "%Y-%m-%d %H" if bucket == "hour" else "%Y-%m-%d"
    return datetime.strptime(text, fmt).replace(tzinfo=UTC)


def _range(since: datetime, until: datetime, bucket: Bucket) -> tuple[list[datetime], datetime]:
    """The start of every bucket covering ``[since, until)``, and the end of the last."""
    if since.tzinfo is None or until.tzinfo is None:
        raise CommerceError("since and until need a time zone")
    if until <= since:
        raise CommerceError("until must be after since")
    step = BUCKETS[bucket]
    try:
        first, end = bucket_start(since, bucket), until.astimezone(UTC)
        count = -(-(end - first) // step)  # whole buckets covering [since, until)
        if count > MAX_BUCKETS:
            raise CommerceError(
                f"that range has {count} {bucket}s; at most {MAX_BUCKETS} fit in one series "
                "(use day buckets or a shorter range)"
            )
        starts = [first + i * step for i in range(count + 1)]  # the last one ends the range
        return starts[:-1], starts[-1]
    except OverflowError:  # a time at the very edge of what a datetime holds
        raise CommerceError("since and until must be between the years 1 and 9999") from None


def usage_series(
    store: Store,
    scope: Scope,
    *,
    since: datetime,
    until: datetime,
    bucket: Bucket = "hour",
    group: Group = "model",
    hardware_cost_per_hour_micros: int | None = None,
    throughput: dict[int, float] | None = None,
) -> UsageSeries:
    """The series of ``scope``'s usage in ``[since, until)`` widened to whole buckets.
    ``throughput``: model version id -> measured output tokens per second (platform cost)."""
    if bucket not in BUCKETS:
        raise CommerceError(f"bucket must be hour or day, not {bucket!r}")
    if group not in ("model", "channel", "tenant"):
        raise CommerceError(f"group must be model, channel or tenant, not {group!r}")
    if hardware_cost_per_hour_micros is not None and hardware_cost_per_hour_micros < 0:
        raise CommerceError("the hardware cost per hour cannot be negative")
    starts, hi = _range(since, until, bucket)
    lo = starts[0]
    key = _bucket_key(store, bucket)
    q = (
        select(key, *USAGE_GROUP, *USAGE_TOTALS)
        .where(UsageEvent.created_at >= lo, UsageEvent.created_at < hi)
        .group_by(key, *USAGE_GROUP)
    )
    if scope.channel_id is not None:
        q = q.where(UsageEvent.channel_id == scope.channel_id)
    with store.session() as s:
        rows = [
            _Row(str(b), mid, tid, cid, int(n), *(int(v or 0) for v in (tin, tout, ret, whole)))
            for b, mid, tid, cid, n, tin, tout, ret, whole in s.execute(q)
        ]
        model_ids, tenant_ids = {r.model_version_id for r in rows}, {r.tenant_id for r in rows}
        models = {
            mv.id: f"{mv.name}:{mv.version}"
            for mv in s.scalars(select(ModelVersion).where(ModelVersion.id.in_(model_ids)))
        }
        channels = {c.id: c.name for c in s.scalars(select(Channel))}
        found = list(s.scalars(select(Tenant).where(Tenant.id.in_(tenant_ids))))
        # names are unique per owner only: where two owners' tenants share one (the
        # platform's view), a channel's tenant is named CHANNEL/NAME, as the platform names it
        shared = {n for n, k in Counter(t.name for t in found).items() if k > 1}
        tenants = {
            t.id: f"{channels[t.channel_id]}{QUALIFIER}{t.name}"
            if t.name in shared and t.channel_id is not None
            else t.name
            for t in found
        }

    platform = scope.channel_id is None
    hourly = hardware_cost_per_hour_micros
    rate = {
        mid: Fraction(hourly) / (Fraction(tps) * SECONDS_PER_HOUR)
        for mid, tps in (throughput or {}).items()
        if tps > 0 and hourly is not None
    }
    index = {start: i for i, start in enumerate(starts)}
    by_group: dict[str, list[Point]] = defaultdict(
        lambda: [_empty(platform, hourly) for _ in starts]
    )
    totals = [_empty(platform, hourly) for _ in starts]
    unmeasured: set[str] = set()
    for row in rows:
        mid, tid, cid = row.model_version_id, row.tenant_id, row.channel_id
        tout, retail, wholesale = row.completion_tokens, row.retail_micros, row.wholesale_micros
        i = index.get(_parse_key(row.bucket, bucket))
        if i is None:  # cannot happen: the query kept to the buckets' range
            continue
        if platform:
            revenue = retail if cid is None else wholesale
            cost: int | None = None
            if hourly is not None:
                cost = _half_up(tout * rate[mid]) if mid in rate else 0
                if mid not in rate:
                    unmeasured.add(models[mid])
        else:
            revenue, cost = retail, wholesale
        name = {
            "model": models[mid],
            "channel": channels[cid] if cid is not None else DIRECT,
            "tenant": tenants[tid],
        }[group]
        for point in (by_group[name][i], totals[i]):
            point.add(row.requests, row.prompt_tokens, tout, revenue, cost)
    groups = [
        GroupSeries(name, points, _sum(points, platform, hourly))
        for name, points in by_group.items()
    ]
    groups.sort(key=lambda g: (-g.total.revenue_micros, -g.total.requests, g.name))
    return UsageSeries(
        since=lo,
        until=hi,
        bucket=bucket,
        group=group,
        perspective="platform" if platform else "channel",
        expense_basis=("compute" if hourly is not None else "unknown") if platform else "wholesale",
        buckets=starts,
        totals=totals,
        total=_sum(totals, platform, hourly),
        groups=groups,
        unmeasured=sorted(unmeasured),
    )


def _empty(platform: bool, hourly: int | None) -> Point:
    return Point(cost_micros=None if platform and hourly is None else 0)


def _sum(points: Iterable[Point], platform: bool, hourly: int | None) -> Point:
    total = _empty(platform, hourly)
    for p in points:
        total.add(p.requests, p.prompt_tokens, p.completion_tokens, p.revenue_micros, p.cost_micros)
    return total


def _half_up(x: Fraction) -> int:
    return int((x + Fraction(1, 2)).__floor__())
