"""Evaluation stage: how good a model is. Suites run on a model version and store their
metrics and per-example records on it; a comparison bootstraps the difference between two."""

from modelmint.evaluation.base import EvaluationError
from modelmint.evaluation.perplexity import perplexity, text_losses
from modelmint.evaluation.results import EvaluationResult
from modelmint.evaluation.runner import rerun_evaluations, run_evaluation
from modelmint.evaluation.suites import DEFAULT_SUITE, SUITES

__all__ = [
    "DEFAULT_SUITE",
    "SUITES",
    "EvaluationError",
    "EvaluationResult",
    "perplexity",
    "rerun_evaluations",
    "run_evaluation",
    "text_losses",
]
