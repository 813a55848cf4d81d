"""What a comparison of two model versions finds: per-metric differences with their
confidence intervals, and the examples that changed most.

Plain records, apart from the code that makes them (:mod:`modelmint.evaluation.compare`,
which runs evaluations) and the code that shows them (:mod:`modelmint.evaluation.report`,
which the runner calls): both import them from here, so the imports point one way."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from modelmint.evaluation.results import EvaluationResult


@dataclass(frozen=True)
class MetricDiff:
    name: str
    a: float
    b: float
    low: float  # bounds of the confidence interval of b - a
    high: float
    lower_is_better: bool

    @property
    def diff(self) -> float:
        return self.b - self.a

    @property
    def significant(self) -> bool:
        return self.low > 0 or self.high < 0

    @property
    def verdict(self) -> str:
        """``better`` or ``worse`` for b when the interval excludes 0."""
        if not self.significant:
            return "no clear change"
        return "better" if (self.diff < 0) == self.lower_is_better else "worse"


@dataclass(frozen=True)
class ChangedExample:
    key: str
    input: str
    reference: Any
    prediction_a: Any
    prediction_b: Any
    score: str
    score_a: float
    score_b: float


@dataclass(frozen=True)
class Comparison:
    a: EvaluationResult
    b: EvaluationResult
    metrics: list[MetricDiff]
    changed: list[ChangedExample]
    paired: int  # examples both evaluations scored
    resamples: int
    seed: int
