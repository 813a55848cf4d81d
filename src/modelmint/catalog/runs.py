"""Runs: one execution of a stage (tokenizer training, pretraining, compression...) that
read a dataset version, with the metrics it logged step by step."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.store.catalog_tables import Run, RunMetric

# name -> [(step, value)] in step order
Series = dict[str, list[tuple[int, float]]]


@dataclass(frozen=True)
class RunInfo:
    id: int
    kind: str
    status: str
    dataset_id: int | None
    config: dict[str, Any]
    metrics: dict[str, Any]
    output_path: Path | None
    error: str | None
    started_at: datetime
    finished_at: datetime | None


def run_info(row: Run) -> RunInfo:
    return RunInfo(
        id=row.id,
        kind=row.kind,
        status=row.status,
        dataset_id=row.dataset_id,
        config=dict(row.config or {}),
        metrics=dict(row.metrics or {}),
        output_path=Path(row.output_path) if row.output_path else None,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def metric_series(
    s: Session,
    run_ids: Collection[int],
    *,
    names: Collection[str] | None = None,
    after_step: int | None = None,
) -> dict[int, Series]:
    """Each run's logged metrics (only ``names``, only steps after ``after_step`` when
    given): run id -> name -> [(step, value)] in step order, names in the order first
    logged. A step logged twice (a resumed run repeating steps after its last checkpoint)
    keeps its latest value."""
    if not run_ids:
        return {}
    q = select(RunMetric.run_id, RunMetric.name, RunMetric.step, RunMetric.value).where(
        RunMetric.run_id.in_(run_ids)
    )
    if names is not None:
        q = q.where(RunMetric.name.in_(names))
    if after_step is not None:
        q = q.where(RunMetric.step > after_step)
    found: dict[int, dict[str, dict[int, float]]] = {}
    for run_id, name, step, value in s.execute(q.order_by(RunMetric.id)):
        found.setdefault(run_id, {}).setdefault(name, {})[step] = value
    return {
        run_id: {name: sorted(points.items()) for name, points in series.items()}
        for run_id, series in found.items()
    }


def last_value(s: Session, run_id: int, name: str) -> float | None:
    """The value of ``name`` at the run's highest logged step (the latest if logged twice)."""
    return s.scalar(
        select(RunMetric.value)
        .where(RunMetric.run_id == run_id, RunMetric.name == name)
        .order_by(RunMetric.step.desc(), RunMetric.id.desc())
        .limit(1)
    )


def step_time(s: Session, run_id: int, *, last: bool) -> tuple[int, datetime] | None:
    """(step, when it was logged) of the run's first or last logged step."""
    order = (RunMetric.step.desc(), RunMetric.id.desc()) if last else (RunMetric.step, RunMetric.id)
    row = s.execute(
        select(RunMetric.step, RunMetric.logged_at)
        .where(RunMetric.run_id == run_id)
        .order_by(*order)
        .limit(1)
    ).first()
    return (row[0], row[1]) if row else None


def last_steps(s: Session, run_ids: Collection[int]) -> dict[int, int]:
    """Each run's highest logged step (runs that logged none are left out)."""
    if not run_ids:
        return {}
    rows = s.execute(
        select(RunMetric.run_id, func.max(RunMetric.step))
        .where(RunMetric.run_id.in_(run_ids))
        .group_by(RunMetric.run_id)
    )
    return {rid: int(step) for rid, step in rows if step is not None}
