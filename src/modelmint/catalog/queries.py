"""What the console asks of the catalog, answered as plain records (never table rows), each in
one unit of work: every model version with its run, dataset, parent and aliases, and the
tree they make; the runs with their progress and logged metrics; the names and metrics of
model versions by id. The admin routes shape these into their responses; they never query
the catalog's tables themselves (an import contract in pyproject.toml holds that)."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog.datasets import dataset_labels
from modelmint.catalog.errors import CatalogError
from modelmint.catalog.models import ModelRef, model_ref
from modelmint.catalog.runs import (
    RunInfo,
    Series,
    last_steps,
    last_value,
    metric_series,
    run_info,
    step_time,
)
from modelmint.config.clock import utc
from modelmint.store import Store
from modelmint.store.catalog_tables import ModelAlias, ModelVersion, Run


@dataclass(frozen=True)
class RunBrief:
    id: int
    kind: str
    status: str


@dataclass(frozen=True)
class VersionNode:
    """A model version with what is shown beside it."""

    model: ModelRef
    created_at: datetime
    run: RunBrief | None
    dataset: str | None  # NAME:VERSION its run read
    parent: str | None  # NAME:VERSION it was made from
    aliases: list[str]


class ModelGraph:
    """Every model version, and which were made from which (children by name, version)."""

    def __init__(self, versions: dict[int, VersionNode]) -> None:
        self.versions = versions
        self.children: dict[int, list[int]] = {}
        for v in sorted(versions.values(), key=lambda v: (v.model.name, v.model.version)):
            if v.model.parent_id is not None:
                self.children.setdefault(v.model.parent_id, []).append(v.model.id)

    def of_name(self, name: str) -> list[VersionNode]:
        """The versions of model ``name``, oldest first."""
        return sorted(
            (v for v in self.versions.values() if v.model.name == name),
            key=lambda v: v.model.version,
        )

    def ancestors(self, model_id: int) -> list[int]:
        """The versions ``model_id`` was made from, nearest first."""
        out: list[int] = []
        seen, current = {model_id}, self.versions[model_id].model.parent_id
        while current is not None and current in self.versions and current not in seen:
            out.append(current)
            seen.add(current)
            current = self.versions[current].model.parent_id
        return out

    def descendants(self, model_id: int) -> set[int]:
        """Every version made from ``model_id``, directly or not."""
        out: set[int] = set()
        todo = [model_id]
        while todo:
            for child in self.children.get(todo.pop(), []):
                if child not in out:
                    out.add(child)
                    todo.append(child)
        return out


@dataclass(frozen=True)
class RunProgress:
    run: RunInfo
    dataset: str | None  # NAME:VERSION it read
    model: str | None  # NAME:VERSION it made
    last_step: int | None  # the highest logged step
    loss: float | None  # the training loss logged at that step


@dataclass(frozen=True)
class RunTimeline:
    """A run's progress with what its pace is estimated from, and its logged points."""

    progress: RunProgress
    first: tuple[int, datetime] | None  # (step, logged at) of the first logged step
    last: tuple[int, datetime] | None  # and of the last
    epoch: float | None  # the last logged ``epoch``
    points: Series  # name -> [(step, value)] after the step asked for


def _made(s: Session, run_ids: list[int]) -> dict[int, str]:
    rows = s.execute(
        select(ModelVersion.run_id, ModelVersion.name, ModelVersion.version).where(
            ModelVersion.run_id.in_(run_ids)
        )
    )
    return {rid: f"{n}:{v}" for rid, n, v in rows if rid is not None}


def _progress(s: Session, rows: list[Run]) -> list[RunProgress]:
    ids = [r.id for r in rows]
    made, steps = _made(s, ids), last_steps(s, ids)
    datasets = dataset_labels(s, {r.dataset_id for r in rows if r.dataset_id})
    return [
        RunProgress(
            run=run_info(r),
            dataset=datasets.get(r.dataset_id) if r.dataset_id else None,
            model=made.get(r.id),
            last_step=steps.get(r.id),
            loss=last_value(s, r.id, "loss"),
        )
        for r in rows
    ]


class CatalogQueries:
    def __init__(self, store: Store) -> None:
        self.store = store

    def model_graph(self) -> ModelGraph:
        with self.store.session() as s:
            versions = {mv.id: mv for mv in s.scalars(select(ModelVersion))}
            runs = {r.id: r for r in s.scalars(select(Run))}
            datasets = dataset_labels(s, {r.dataset_id for r in runs.values() if r.dataset_id})
            aliases: dict[int, list[str]] = {}
            for a in s.scalars(select(ModelAlias).order_by(ModelAlias.alias)):
                aliases.setdefault(a.model_version_id, []).append(a.alias)
        nodes = {}
        for mid, mv in versions.items():
            run = runs.get(mv.run_id) if mv.run_id is not None else None
            parent = versions.get(mv.parent_id) if mv.parent_id is not None else None
            nodes[mid] = VersionNode(
                model=model_ref(mv),
                created_at=utc(mv.created_at),
                run=RunBrief(run.id, run.kind, run.status) if run else None,
                dataset=datasets.get(run.dataset_id) if run and run.dataset_id else None,
                parent=f"{parent.name}:{parent.version}" if parent else None,
                aliases=aliases.get(mid, []),
            )
        return ModelGraph(nodes)

    def metric_series(
        self,
        run_ids: Collection[int],
        *,
        names: Collection[str] | None = None,
        after_step: int | None = None,
    ) -> dict[int, Series]:
        """See ``catalog.runs.metric_series``."""
        with self.store.session() as s:
            return metric_series(s, run_ids, names=names, after_step=after_step)

    def runs(self, limit: int, status: str | None = None) -> list[RunProgress]:
        """The newest ``limit`` runs (with ``status``, if given), newest first."""
        with self.store.session() as s:
            q = select(Run).order_by(Run.id.desc()).limit(limit)
            if status:
                q = q.where(Run.status == status)
            return _progress(s, list(s.scalars(q)))

    def run_timeline(self, run_id: int, after_step: int) -> RunTimeline:
        """One run's progress, with its points logged after ``after_step``."""
        with self.store.session() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise CatalogError(f"no run {run_id}; see `mint runs list`")
            (progress,) = _progress(s, [row])
            return RunTimeline(
                progress=progress,
                first=step_time(s, run_id, last=False),
                last=step_time(s, run_id, last=True),
                epoch=last_value(s, run_id, "epoch"),
                points=metric_series(s, [run_id], after_step=after_step).get(run_id, {}),
            )

    def model_labels(self, ids: Collection[int]) -> dict[int, tuple[str, int]]:
        """(name, version) of each of these model versions that exists."""
        if not ids:
            return {}
        with self.store.session() as s:
            rows = s.execute(
                select(ModelVersion.id, ModelVersion.name, ModelVersion.version).where(
                    ModelVersion.id.in_(ids)
                )
            )
            return {i: (n, v) for i, n, v in rows}

    def version_metrics(self) -> dict[int, dict[str, Any]]:
        """Every model version's stored metrics, by id."""
        with self.store.session() as s:
            rows = s.execute(select(ModelVersion.id, ModelVersion.metrics)).all()
        return {mid: dict(metrics or {}) for mid, metrics in rows}
