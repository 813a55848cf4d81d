"""Quantiles from histogram buckets, as PromQL's histogram_quantile computes them: checked
by hand on known buckets, against numpy on observations spread evenly inside their
buckets (where linear interpolation is exact), and read back from a real registry."""

from __future__ import annotations

import math

import numpy as np
import pytest

from modelmint.observability.histogram_quantile import histogram_quantile
from modelmint.observability.serving_metrics import ServingMetrics
from modelmint.observability.serving_summary import serving_summary

INF = math.inf


def test_by_hand() -> None:
    # 3 observations in (0.025, 0.05], 1 in (0.2, 0.4]: cumulative counts
    buckets = [(0.025, 0), (0.05, 3), (0.1, 3), (0.2, 3), (0.4, 4), (INF, 4)]
    # p50: rank 2 of 4 is 2/3 of the way into (0.025, 0.05]
    assert histogram_quantile(0.5, buckets) == pytest.approx(0.025 + 0.025 * 2 / 3)
    # p99: rank 3.96 is 0.96 of the way into (0.2, 0.4]
    assert histogram_quantile(0.99, buckets) == pytest.approx(0.2 + 0.2 * 0.96)
    # p0 and p100 land on the edges of the occupied buckets
    assert histogram_quantile(0.0, buckets) == pytest.approx(0.025)
    assert histogram_quantile(1.0, buckets) == pytest.approx(0.4)
    # the first bucket starts at zero
    assert histogram_quantile(0.5, [(1.0, 10), (INF, 10)]) == pytest.approx(0.5)


def test_rank_in_the_inf_bucket_answers_the_highest_finite_bound() -> None:
    assert histogram_quantile(0.9, [(1.0, 1), (2.0, 2), (INF, 10)]) == 2.0


def test_no_observations_or_no_inf_bucket_is_none() -> None:
    assert histogram_quantile(0.5, [(1.0, 0), (INF, 0)]) is None
    assert histogram_quantile(0.5, [(1.0, 3), (2.0, 5)]) is None
    assert histogram_quantile(0.5, [(INF, 3)]) is None
    with pytest.raises(ValueError):
        histogram_quantile(1.5, [(1.0, 1), (INF, 1)])


def test_unordered_and_non_monotonic_counts_are_evened_out() -> None:
    # counts scraped a moment apart can dip; Prometheus takes the running maximum
    shuffled = [(INF, 10), (1.0, 5), (2.0, 4), (3.0, 10)]
    assert histogram_quantile(0.5, shuffled) == pytest.approx(1.0)


@pytest.mark.parametrize("q", [0.1, 0.25, 0.5, 0.9, 0.95, 0.99])
def test_matches_numpy_on_evenly_spread_observations(q: float) -> None:
    """Observations spaced evenly across each bucket are what linear interpolation
    assumes, so the estimate equals numpy's quantile up to one spacing."""
    bounds = [0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8]
    per_bucket = [0, 400, 1200, 800, 300, 200, 100]
    values, lower = [], 0.0
    for upper, n in zip(bounds, per_bucket, strict=True):
        values += list(lower + (upper - lower) * (np.arange(n) + 0.5) / n) if n else []
        lower = upper
    cumulative = np.cumsum(per_bucket)
    buckets = [*zip(bounds, cumulative.tolist(), strict=True), (INF, int(cumulative[-1]))]
    expected = float(np.quantile(values, q))
    spacing = max(
        (u - lo) / n for lo, u, n in zip([0, *bounds[:-1]], bounds, per_bucket, strict=True) if n
    )
    assert histogram_quantile(q, buckets) == pytest.approx(expected, abs=spacing)


def test_serving_summary_reads_the_registry() -> None:
    metrics = ServingMetrics()
    obs = metrics.observer("chat:1")
    for ttft in (0.03, 0.03, 0.03, 0.3):
        obs.first_token(ttft, prompt_tokens=5)
    obs.next_token(0.02)
    for reason, seconds in (("stop", 0.5), ("stop", 0.7), ("length", 3.0), ("error", 0.0)):
        obs.finished(reason, seconds, completion_tokens=0 if reason == "error" else 4)
    metrics.observer("idle:1")  # seen but never used

    chat, idle = serving_summary(metrics)
    assert chat.model == "chat:1"
    assert chat.ttft.count == 4
    assert chat.ttft.p50_s == pytest.approx(0.025 + 0.025 * 2 / 3)
    assert chat.ttft.p99_s == pytest.approx(0.2 + 0.2 * 0.96)
    assert chat.ttft.mean_s == pytest.approx((0.09 + 0.3) / 4)
    # itl 0.02 is in (0.01, 0.025]: the median is halfway
    assert chat.itl.count == 1 and chat.itl.p50_s == pytest.approx(0.01 + 0.015 * 0.5)
    # e2e counts finished requests that generated something: 0.5, 0.7 in (0.25, 0.5],
    # (0.5, 1]; 3.0 in (2, 4]
    assert chat.e2e.count == 3
    assert chat.e2e.p50_s == pytest.approx(0.5 + 0.5 * 0.5)
    assert chat.outcomes == {"error": 1, "length": 1, "stop": 2}
    assert (chat.requests, chat.errors, chat.error_rate) == (4, 1, 0.25)
    assert idle.model == "idle:1" and idle.requests == 0 and idle.error_rate is None
    assert idle.ttft.count == 0 and idle.ttft.p50_s is None
