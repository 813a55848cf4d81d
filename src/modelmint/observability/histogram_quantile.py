"""Quantiles estimated from a Prometheus histogram, as PromQL's ``histogram_quantile``
does: find the bucket the rank falls in and interpolate linearly inside it (the first
bucket starts at 0; a rank in the +Inf bucket answers the highest finite bound). Pure
arithmetic on (upper bound, cumulative count) pairs, plus reading those pairs out of a
registry, so the gateway shows percentiles without doing any math itself."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence

from prometheus_client import CollectorRegistry

Buckets = list[tuple[float, float]]  # (upper bound "le", cumulative count), +Inf last


def histogram_quantile(q: float, buckets: Sequence[tuple[float, float]]) -> float | None:
    """The ``q`` quantile (0..1) of the observations counted in ``buckets``; None when
    there are none (Prometheus answers NaN) or the buckets lack the +Inf one."""
    if not 0 <= q <= 1:
        raise ValueError(f"a quantile is between 0 and 1, not {q}")
    ordered = sorted(buckets)
    if len(ordered) < 2 or not math.isinf(ordered[-1][0]):
        return None
    # counts scraped at slightly different moments can dip; Prometheus evens them out
    counts, highest = [], 0.0
    for _, count in ordered:
        highest = max(highest, count)
        counts.append(highest)
    total = counts[-1]
    if total == 0:
        return None
    rank = q * total
    # the first bucket the rank reaches; for q = 0 the first one holding anything (its
    # lower bound), where PromQL would divide 0 by 0
    b = next(i for i, c in enumerate(counts) if c >= rank and c > 0)
    if b == len(ordered) - 1:
        return ordered[-2][0]
    upper = ordered[b][0]
    if b == 0 and upper <= 0:
        return upper
    lower, below = (ordered[b - 1][0], counts[b - 1]) if b > 0 else (0.0, 0.0)
    in_bucket = counts[b] - below
    return lower + (upper - lower) * (rank - below) / in_bucket


def histogram_buckets(registry: CollectorRegistry, name: str, label: str) -> dict[str, Buckets]:
    """The buckets of histogram ``name`` per value of ``label`` (e.g. per model)."""
    out: dict[str, Buckets] = defaultdict(list)
    for family in registry.collect():
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_bucket":
                out[sample.labels[label]].append((float(sample.labels["le"]), sample.value))
    return {k: sorted(v) for k, v in out.items()}


def histogram_sums(
    registry: CollectorRegistry, name: str, label: str
) -> dict[str, tuple[float, float]]:
    """(count, sum) of histogram ``name`` per value of ``label``."""
    count: dict[str, float] = defaultdict(float)
    total: dict[str, float] = defaultdict(float)
    for family in registry.collect():
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_count":
                count[sample.labels[label]] = sample.value
            elif sample.name == f"{name}_sum":
                total[sample.labels[label]] = sample.value
    return {k: (count[k], total[k]) for k in count}


def counter_values(
    registry: CollectorRegistry, name: str, labels: tuple[str, ...]
) -> dict[tuple[str, ...], float]:
    """Counter ``name``'s values keyed by the given labels' values."""
    out: dict[tuple[str, ...], float] = {}
    for family in registry.collect():
        if family.name != name:
            continue
        for sample in family.samples:
            if sample.name == f"{name}_total":
                out[tuple(sample.labels[k] for k in labels)] = sample.value
    return out
