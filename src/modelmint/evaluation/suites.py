"""The suites by name, and turning user options into a suite's validated options."""

from __future__ import annotations

import difflib
from typing import Any

from pydantic import ValidationError

from modelmint.evaluation import (
    suite_classification,
    suite_custom,
    suite_generation,
    suite_perplexity,
)
from modelmint.evaluation.base import EvaluationError, Suite, SuiteOptions

SUITES: dict[str, Suite] = {
    s.name: s
    for s in (
        suite_perplexity.SUITE,
        suite_classification.SUITE,
        suite_generation.SUITE,
        suite_custom.SUITE,
    )
}
# What `rerun_evaluations` measures on a model that has no evaluation yet.
DEFAULT_SUITE = {"causal-lm": "perplexity", "classifier": "classification"}


def suite_named(name: str) -> Suite:
    if name not in SUITES:
        close = difflib.get_close_matches(name, SUITES, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise EvaluationError(f"unknown suite {name!r}{hint}; suites: {', '.join(SUITES)}")
    return SUITES[name]


def parse_options(suite: Suite, options: dict[str, Any] | None) -> SuiteOptions:
    """The suite's options from a dict (strings from the command line are converted); an
    unknown key or a bad value names the key and the suite's options."""
    known = sorted(suite.options.model_fields)
    for key in options or {}:
        if key not in suite.options.model_fields:
            close = difflib.get_close_matches(key, known, n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise EvaluationError(
                f"suite {suite.name} has no option {key!r}{hint}; its options: {', '.join(known)}"
            )
    try:
        return suite.options.model_validate(options or {})
    except ValidationError as e:
        problems = "; ".join(
            f"option {'.'.join(str(x) for x in err['loc'])}: {err['msg']}" for err in e.errors()
        )
        raise EvaluationError(f"suite {suite.name}: {problems}") from None


def headline(suite: str, metrics: dict[str, float]) -> str:
    """A suite's headline metrics in a few characters: ``perplexity 4.07``,
    ``classification accuracy 0.912 macro_f1 0.897``."""
    spec = SUITES.get(suite)
    names = [n for n in (spec.headline if spec else ()) if n in metrics] or list(metrics)[:2]
    text = " ".join(f"{n} {metrics[n]:.4g}" for n in names)
    return text if names and names[0] == suite else f"{suite} {text}"
