"""What an operator reads off the serving metrics: per model version, the time to first
token, inter-token latency and end-to-end latency at p50/p95/p99 (estimated from the
histograms), the finished requests by outcome and the error rate. Computed from a
``ServingMetrics`` registry since the process started (Prometheus would rate() over a
window; a single process has no history, so these are lifetime figures)."""

from __future__ import annotations

from dataclasses import dataclass, field

from modelmint.observability.histogram_quantile import (
    counter_values,
    histogram_buckets,
    histogram_quantile,
    histogram_sums,
)
from modelmint.observability.serving_metrics import ServingMetrics

QUANTILES = (0.5, 0.95, 0.99)
# outcomes that are our failure: the engine errored, timed out or was too full to queue
# (``cancelled`` is the client leaving; ``stop`` and ``length`` are normal endings)
ERROR_OUTCOMES = ("error", "timeout", "rejected")
HISTOGRAMS = {
    "ttft": "mint_time_to_first_token_seconds",
    "itl": "mint_inter_token_latency_seconds",
    "e2e": "mint_e2e_request_latency_seconds",
}


@dataclass(frozen=True)
class Latency:
    count: int
    mean_s: float | None
    p50_s: float | None
    p95_s: float | None
    p99_s: float | None


@dataclass(frozen=True)
class ModelServing:
    model: str  # name:version
    ttft: Latency
    itl: Latency
    e2e: Latency
    outcomes: dict[str, int] = field(default_factory=dict)  # reason -> finished requests

    @property
    def requests(self) -> int:
        return sum(self.outcomes.values())

    @property
    def errors(self) -> int:
        return sum(self.outcomes.get(r, 0) for r in ERROR_OUTCOMES)

    @property
    def error_rate(self) -> float | None:
        return self.errors / self.requests if self.requests else None


def _latency(buckets: list[tuple[float, float]], count_sum: tuple[float, float]) -> Latency:
    count, total = count_sum
    p50, p95, p99 = (histogram_quantile(q, buckets) if buckets else None for q in QUANTILES)
    return Latency(int(count), total / count if count else None, p50, p95, p99)


def serving_summary(metrics: ServingMetrics) -> list[ModelServing]:
    """One entry per model version the metrics have seen, by name."""
    registry = metrics.registry
    buckets = {k: histogram_buckets(registry, name, "model") for k, name in HISTOGRAMS.items()}
    sums = {k: histogram_sums(registry, name, "model") for k, name in HISTOGRAMS.items()}
    outcomes: dict[str, dict[str, int]] = {}
    for (model, reason), value in counter_values(
        registry, "mint_requests", ("model", "reason")
    ).items():
        outcomes.setdefault(model, {})[reason] = int(value)
    models = set(outcomes) | {m for per in buckets.values() for m in per}

    def latency(kind: str, model: str) -> Latency:
        return _latency(buckets[kind].get(model, []), sums[kind].get(model, (0.0, 0.0)))

    return [
        ModelServing(
            model,
            ttft=latency("ttft", model),
            itl=latency("itl", model),
            e2e=latency("e2e", model),
            outcomes=dict(sorted(outcomes.get(model, {}).items())),
        )
        for model in sorted(models)
    ]
