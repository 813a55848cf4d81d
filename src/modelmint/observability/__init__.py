"""Progress reporting, logging and metrics."""

from modelmint.observability.progress import ProgressEvent, ProgressFn, no_progress

__all__ = ["ProgressEvent", "ProgressFn", "no_progress"]
