"""Prometheus metrics of the serving engine and the gateway, labelled by model version.

One registry per app (not the process-wide default), so two apps in one test process
never share counts. Names follow vLLM's where one exists, with a ``mint_`` prefix."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

# Seconds: fine steps where a CPU engine lives (tens of ms per token), wide enough for queues.
_LATENCY = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30, 60)
_FIRST_TOKEN = (0.01, 0.025, 0.05, 0.1, 0.2, 0.4, 0.8, 1.5, 3, 6, 12, 30, 60, 120)
_E2E = (0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300)


class ServingMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r, model = self.registry, ["model"]
        self.ttft = Histogram(
            "mint_time_to_first_token_seconds",
            "From arrival to the first generated token",
            model,
            buckets=_FIRST_TOKEN,
            registry=r,
        )
        self.itl = Histogram(
            "mint_inter_token_latency_seconds",
            "Between consecutive generated tokens of one request",
            model,
            buckets=_LATENCY,
            registry=r,
        )
        self.e2e = Histogram(
            "mint_e2e_request_latency_seconds",
            "From arrival to the last token",
            model,
            buckets=_E2E,
            registry=r,
        )
        self.waiting = Gauge("mint_requests_waiting", "Requests in the queue", model, registry=r)
        self.running = Gauge("mint_requests_running", "Sequences decoding", model, registry=r)
        self.prompt_tokens = Counter(
            "mint_prompt_tokens", "Prompt tokens prefilled", model, registry=r
        )
        self.generation_tokens = Counter(
            "mint_generation_tokens", "Tokens generated", model, registry=r
        )
        self.requests = Counter(
            "mint_requests",
            "Finished requests by outcome (stop, length, cancelled, timeout, rejected, error)",
            ["model", "reason"],
            registry=r,
        )

        self.engine_restarts = Counter(
            "mint_engine_restarts",
            "Engine processes started again after one died",
            model,
            registry=r,
        )
        self.engine_restart_seconds = Histogram(
            "mint_engine_restart_seconds",
            "From an engine process's death to its successor serving",
            model,
            buckets=_E2E,
            registry=r,
        )

    def observer(self, model: str) -> EngineMetrics:
        return EngineMetrics(self, model)

    def exposition(self) -> bytes:
        return generate_latest(self.registry)


class EngineMetrics:
    """The engine's observer for one model version."""

    def __init__(self, metrics: ServingMetrics, model: str) -> None:
        self.m, self.model = metrics, model
        self._ttft = metrics.ttft.labels(model)
        self._itl = metrics.itl.labels(model)
        self._generated = metrics.generation_tokens.labels(model)

    def queue(self, waiting: int, running: int) -> None:
        self.m.waiting.labels(self.model).set(waiting)
        self.m.running.labels(self.model).set(running)

    def first_token(self, seconds: float, prompt_tokens: int) -> None:
        self._ttft.observe(seconds)
        self.m.prompt_tokens.labels(self.model).inc(prompt_tokens)
        self._generated.inc()

    def next_token(self, seconds: float) -> None:
        self._itl.observe(seconds)
        self._generated.inc()

    def finished(self, reason: str, seconds: float, completion_tokens: int) -> None:
        self.m.requests.labels(self.model, reason).inc()
        if completion_tokens:
            self.m.e2e.labels(self.model).observe(seconds)

    def restarted(self, seconds: float) -> None:
        self.m.engine_restarts.labels(self.model).inc()
        self.m.engine_restart_seconds.labels(self.model).observe(seconds)
