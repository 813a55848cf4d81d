"""Comparing two model versions on the same measurements: per-metric differences with
paired bootstrap confidence intervals, and the examples that changed most.

The bootstrap is paired: one resample draws example positions with replacement, and both
models' metrics are computed on those same examples, so the spread reflects which examples
were drawn, not the difference between two independent draws. Each metric is recomputed
from the resampled per-example records by the suite's own metric function (corpus BLEU
from summed statistics, perplexity from summed losses), never averaged from per-example
values it is not the mean of."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from modelmint.catalog import Catalog, ModelRef, latest_by_key
from modelmint.evaluation.base import EvaluationError
from modelmint.evaluation.comparison import ChangedExample, Comparison, MetricDiff
from modelmint.evaluation.results import EvaluationResult
from modelmint.evaluation.runner import repeat_on, run_evaluation
from modelmint.evaluation.suites import DEFAULT_SUITE, suite_named
from modelmint.observability import ProgressEvent, ProgressFn, no_progress

RESAMPLES = 1000
SEED = 0
CONFIDENCE = 0.95


def paired_bootstrap(
    examples_a: Sequence[dict[str, Any]],
    examples_b: Sequence[dict[str, Any]],
    metric_fn: Callable[[Sequence[dict[str, Any]]], dict[str, float]],
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    confidence: float = CONFIDENCE,
) -> dict[str, tuple[float, float]]:
    """Percentile interval of metric(b) - metric(a) for every metric, over ``resamples``
    paired resamples; examples_a[i] and examples_b[i] are the same example."""
    if len(examples_a) != len(examples_b) or not examples_a:
        raise EvaluationError("a paired bootstrap needs the same, non-empty list of examples")
    rng = np.random.default_rng(seed)
    n = len(examples_a)
    diffs: dict[str, list[float]] = {}
    for _ in range(resamples):
        idx = rng.integers(0, n, n)
        ma = metric_fn([examples_a[i] for i in idx])
        mb = metric_fn([examples_b[i] for i in idx])
        for name in ma:
            diffs.setdefault(name, []).append(mb[name] - ma[name])
    tail = (1 - confidence) / 2 * 100
    return {
        name: (float(np.percentile(v, tail)), float(np.percentile(v, 100 - tail)))
        for name, v in diffs.items()
    }


def compare(
    a: EvaluationResult,
    b: EvaluationResult,
    *,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    top: int = 10,
) -> Comparison:
    """Two evaluations of the same measurement on two models."""
    if (a.suite, a.dataset, a.split, a.options) != (b.suite, b.dataset, b.split, b.options):
        raise EvaluationError(
            f"evaluations {a.id} and {b.id} measure different things (suite, dataset, split "
            "or options differ); compare evaluations of the same measurement"
        )
    suite = suite_named(a.suite)
    by_key = {e["key"]: e for e in b.examples()}
    pairs = [(e, by_key[e["key"]]) for e in a.examples() if e["key"] in by_key]
    if not pairs:
        raise EvaluationError(f"evaluations {a.id} and {b.id} share no example")
    ea, eb = [p[0] for p in pairs], [p[1] for p in pairs]
    full_a, full_b = suite.metrics(ea), suite.metrics(eb)
    intervals = paired_bootstrap(ea, eb, suite.metrics, resamples=resamples, seed=seed)
    metrics = [
        MetricDiff(
            name, full_a[name], full_b[name], *intervals[name], name in suite.lower_is_better
        )
        for name in full_a
    ]
    return Comparison(
        a, b, metrics, most_changed(pairs, suite.example_scores, top), len(pairs), resamples, seed
    )


def most_changed(
    pairs: list[tuple[dict[str, Any], dict[str, Any]]], scores: Sequence[str], top: int
) -> list[ChangedExample]:
    """Examples ranked by how much their first per-example score moved, ties broken by the
    next ones (a classifier's right/wrong, then its confidence)."""
    names = [s for s in scores if pairs and s in pairs[0][0]["scores"]]
    if not names:
        return []

    def moved(pair: tuple[dict[str, Any], dict[str, Any]]) -> tuple[float, ...]:
        return tuple(abs(pair[1]["scores"][s] - pair[0]["scores"][s]) for s in names)

    ranked = sorted(pairs, key=moved, reverse=True)[:top]
    return [
        ChangedExample(
            key=ea["key"],
            input=ea["input"],
            reference=ea["reference"],
            prediction_a=ea["prediction"],
            prediction_b=eb["prediction"],
            score=names[0],
            score_a=ea["scores"][names[0]],
            score_b=eb["scores"][names[0]],
        )
        for ea, eb in ranked
        if any(moved((ea, eb)))
    ]


def compare_models(
    catalog: Catalog,
    a: ModelRef,
    b: ModelRef,
    *,
    suite: str | None = None,
    resamples: int = RESAMPLES,
    seed: int = SEED,
    progress: ProgressFn = no_progress,
) -> list[Comparison]:
    """Compares ``b`` against ``a`` on every measurement either has (their latest of each;
    one missing on a model is run on it first). Neither measured: the default suite of
    ``a``'s kind (or ``suite``) is run on both."""
    latest_a = _latest(catalog, a, suite)
    latest_b = _latest(catalog, b, suite)
    pairs: list[tuple[EvaluationResult, EvaluationResult]] = []
    for key, ea in latest_a.items():
        eb = latest_b.pop(key, None) or repeat_on(catalog, ea, b, progress=progress)
        pairs.append((ea, eb))
    for eb in latest_b.values():
        pairs.append((repeat_on(catalog, eb, a, progress=progress), eb))
    if not pairs:
        name = suite or DEFAULT_SUITE.get(a.kind)
        if name is None:
            raise EvaluationError(f"{a.label} is a {a.kind}; name a suite with --suite")
        ea = run_evaluation(catalog, a, name, progress=progress)
        pairs.append((ea, repeat_on(catalog, ea, b, progress=progress)))
    out = []
    for n, (ea, eb) in enumerate(pairs, 1):
        progress(ProgressEvent("bootstrap", n - 1, len(pairs)))
        out.append(compare(ea, eb, resamples=resamples, seed=seed))
    progress(ProgressEvent("bootstrap", len(pairs), len(pairs)))
    return out


def _latest(
    catalog: Catalog, model: ModelRef, suite: str | None
) -> dict[tuple[Any, ...], EvaluationResult]:
    records = [r for r in catalog.evaluations.list(model.id) if suite in (None, r.suite)]
    return {r.key: EvaluationResult.from_record(r) for r in latest_by_key(records)}


def comparison_dir(catalog: Catalog, comparisons: Sequence[Comparison]) -> Path:
    """Where a comparison's report goes: named by the evaluations it compares."""
    ids = "_".join(f"{c.a.id}-{c.b.id}" for c in comparisons)
    return catalog.artifacts_dir / "comparisons" / ids[:120]
