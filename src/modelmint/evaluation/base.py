"""What every suite is: its options, what it reads, how it runs, and how its metrics are
computed from per-example records (the same function scores a whole evaluation and each
bootstrap resample of it)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from modelmint.errors import UserError
from modelmint.observability import ProgressFn, no_progress

if TYPE_CHECKING:
    from modelmint.catalog import Catalog, ModelRef


class EvaluationError(UserError, ValueError):
    """An evaluation that cannot run: the message names the input and what to do."""


class SuiteOptions(BaseModel):
    """Options of a suite. A key that is not an option is an error; ``RUNTIME`` keys change
    how fast an evaluation runs, never its result, so they are not stored with it."""

    model_config = ConfigDict(extra="forbid")
    RUNTIME: ClassVar[frozenset[str]] = frozenset({"batch_size"})

    max_examples: int | None = Field(None, ge=1)  # the first N examples, in split/file order
    batch_size: int = Field(16, ge=1)

    def stored(self) -> dict[str, Any]:
        return self.model_dump(mode="json", exclude=set(self.RUNTIME))


@dataclass(frozen=True)
class SuiteInput:
    catalog: Catalog
    model: ModelRef
    options: Any  # the suite's SuiteOptions subclass
    records: list[dict[str, Any]] | None = None  # a dataset split, for dataset suites
    file: Path | None = None  # for file suites
    progress: ProgressFn = no_progress


@dataclass
class SuiteOutput:
    """Per-example records have ``key`` (pairs an example across models), ``input``,
    ``reference``, ``prediction``, ``lang``, ``scores`` (numbers per example) and ``stats``
    (what the suite's metrics are summed from)."""

    metrics: dict[str, float]
    examples: list[dict[str, Any]]
    options: dict[str, Any]  # resolved, as stored: enough to run the same evaluation again
    details: dict[str, Any] = field(default_factory=dict)  # confusion matrix, classes, ...


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    kinds: frozenset[str]  # model kinds it evaluates
    source: Literal["dataset", "file"]
    options: type[SuiteOptions]
    run: Callable[[SuiteInput], SuiteOutput]
    metrics: Callable[[Sequence[dict[str, Any]]], dict[str, float]]
    headline: tuple[str, ...]  # shown by `mint models list`, compared first
    lower_is_better: frozenset[str] = frozenset()
    histogram: tuple[str, ...] = ()  # per-example scores worth a histogram in the report
    # per-example scores that rank how much an example changed between two models, first
    # the most telling; names absent from a suite's records (custom: one kind or the other)
    # are skipped
    example_scores: tuple[str, ...] = ()


def take(items: list[Any], max_examples: int | None) -> list[Any]:
    return items if max_examples is None else items[:max_examples]
