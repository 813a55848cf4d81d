"""Evaluation stage: how good a model is. Suites run on a model version and store their
metrics and per-example records on it; a comparison bootstraps the difference between two."""

from typing import TYPE_CHECKING

from modelmint._lazy import lazy_exports

if TYPE_CHECKING:
    from modelmint.evaluation.base import EvaluationError
    from modelmint.evaluation.compare import (
        compare,
        compare_models,
        comparison_dir,
        paired_bootstrap,
    )
    from modelmint.evaluation.comparison import ChangedExample, Comparison, MetricDiff
    from modelmint.evaluation.perplexity import perplexity, text_losses
    from modelmint.evaluation.report import comparison_report
    from modelmint.evaluation.results import EvaluationResult
    from modelmint.evaluation.runner import rerun_evaluations, run_evaluation
    from modelmint.evaluation.suite_names import SUITE_NAMES
    from modelmint.evaluation.suites import DEFAULT_SUITE, SUITES, headline

__all__ = [
    "DEFAULT_SUITE",
    "SUITES",
    "SUITE_NAMES",
    "ChangedExample",
    "Comparison",
    "EvaluationError",
    "EvaluationResult",
    "MetricDiff",
    "compare",
    "compare_models",
    "comparison_dir",
    "comparison_report",
    "headline",
    "paired_bootstrap",
    "perplexity",
    "rerun_evaluations",
    "run_evaluation",
    "text_losses",
]

lazy_exports(__name__)
