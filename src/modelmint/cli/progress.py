"""Draws stage progress events as rich progress bars."""

from __future__ import annotations

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from modelmint.observability import ProgressEvent


class RichProgress:
    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[info]}"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(
        self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        info = "  ".join(
            f"{k.replace('_', ' ')} {v:,.3g}" if isinstance(v, float) else f"{k} {v}"
            for k, v in event.info.items()
            if v is not None
        )
        if event.task not in self.tasks:
            self.tasks[event.task] = self.progress.add_task(event.task, total=event.total, info="")
        self.progress.update(
            self.tasks[event.task], completed=event.completed, total=event.total, info=info
        )
