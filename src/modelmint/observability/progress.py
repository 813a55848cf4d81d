"""Stages report progress through a callback; the CLI draws it with rich, the console as
events. A stage never prints."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class ProgressEvent:
    task: str
    completed: float
    total: float | None = None
    info: dict[str, Any] = field(default_factory=dict)


ProgressFn = Callable[[ProgressEvent], None]


def no_progress(_event: ProgressEvent) -> None:
    """The default callback: stages called from plain Python report to nobody."""
