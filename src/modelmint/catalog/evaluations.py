"""Evaluations stored on model versions: what was measured, on what, with which options, and
where the per-example records are. The evaluation stage writes the files in a staging
directory; registering moves them to ``artifacts/evaluations/<id>/`` and records the row
(or, when it fails, removes them: see ``catalog.artifacts``).

A part of the catalog it is composed of (``Catalog.evaluations``), not a base class of it:
it imports nothing of ``catalog.catalog``."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select

from modelmint.catalog.artifacts import registering
from modelmint.catalog.errors import CatalogError
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Store
from modelmint.store.catalog_tables import Evaluation, ModelVersion

EXAMPLES_FILE = "examples.jsonl"


@dataclass(frozen=True)
class EvaluationRecord:
    id: int
    model_id: int
    model: str  # NAME:VERSION
    suite: str
    dataset: str | None  # NAME:VERSION of a dataset, or the path of a file
    dataset_id: int | None
    dataset_hash: str | None  # content hash of the dataset version or the file
    split: str | None
    options: dict[str, Any]
    metrics: dict[str, Any]
    path: Path
    created_at: datetime

    @property
    def examples_path(self) -> Path:
        return self.path / EXAMPLES_FILE

    @property
    def key(self) -> tuple[str, str | None, str | None, str]:
        """What makes two evaluations the same measurement (on any model version)."""
        return (self.suite, self.dataset, self.split, canonical_options(self.options))


def canonical_options(options: dict[str, Any]) -> str:
    return json.dumps(options, sort_keys=True, ensure_ascii=False)


def _record(row: Evaluation, mv: ModelVersion) -> EvaluationRecord:
    return EvaluationRecord(
        id=row.id,
        model_id=row.model_version_id,
        model=f"{mv.name}:{mv.version}",
        suite=row.suite,
        dataset=row.dataset,
        dataset_id=row.dataset_id,
        dataset_hash=row.dataset_hash,
        split=row.split,
        options=dict(row.options),
        metrics=dict(row.metrics),
        path=Path(row.path),
        created_at=row.created_at,
    )


# ``Evaluations.list`` hides the builtin inside the class
EvaluationRecords = list[EvaluationRecord]


class Evaluations:
    """The evaluations of model versions: registered with their files, listed, looked up."""

    def __init__(self, store: Store, artifacts_dir: Path, clock: Clock = utc_now) -> None:
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.clock = clock

    def add(
        self,
        model_id: int,
        staged: Path,
        *,
        suite: str,
        dataset: str | None,
        dataset_id: int | None,
        dataset_hash: str | None,
        split: str | None,
        options: dict[str, Any],
        metrics: dict[str, Any],
    ) -> EvaluationRecord:
        """Registers an evaluation of ``model_id`` whose files are staged in ``staged``."""
        with registering(staged) as place, self.store.session() as s:
            mv = s.get_one(ModelVersion, model_id)
            row = Evaluation(
                model_version_id=model_id,
                suite=suite,
                dataset=dataset,
                dataset_id=dataset_id,
                dataset_hash=dataset_hash,
                split=split,
                options=options,
                metrics=metrics,
                path="",
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()  # the id names the directory
            row.path = str(place(self.artifacts_dir / "evaluations" / str(row.id)))
            return _record(row, mv)

    def list(self, model_id: int | None = None) -> EvaluationRecords:
        """Evaluations of one model version (or of all), oldest first."""
        with self.store.session() as s:
            q = select(Evaluation, ModelVersion).join(
                ModelVersion, ModelVersion.id == Evaluation.model_version_id
            )
            if model_id is not None:
                q = q.where(Evaluation.model_version_id == model_id)
            return [_record(e, mv) for e, mv in s.execute(q.order_by(Evaluation.id)).all()]

    def get(self, evaluation_id: int) -> EvaluationRecord:
        with self.store.session() as s:
            row = s.get(Evaluation, evaluation_id)
            if row is None:
                raise CatalogError(f"no evaluation {evaluation_id}; see `mint eval list`")
            return _record(row, s.get_one(ModelVersion, row.model_version_id))


def latest_by_key(records: list[EvaluationRecord]) -> list[EvaluationRecord]:
    """The newest evaluation of each distinct measurement of each model version, in the
    order first measured."""
    latest: dict[tuple[Any, ...], EvaluationRecord] = {}
    for r in records:
        key = (r.model_id, *r.key)
        if key not in latest or r.id > latest[key].id:
            latest[key] = r
    return list(latest.values())
