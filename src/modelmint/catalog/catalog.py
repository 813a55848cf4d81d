"""Datasets, runs and model versions with their lineage, and the artifacts on disk.

A dataset or model is staged in a scratch directory by the stage that makes it, then
handed to the catalog, which moves it into ``artifacts/`` and records it in one step. From
that hand-over the staged directory is the catalog's: registered, or, when registering
fails (a bad name, the database), removed with whatever was moved into ``artifacts/``, so
a failure leaves neither a half-registered version nor an orphaned directory behind."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.catalog.errors import CatalogError
from modelmint.catalog.evaluations import EvaluationsMixin
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Dataset, ModelAlias, ModelVersion, Run, RunMetric, Store

NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")
MODEL_SPEC_RE = re.compile(r"^(?P<name>[^:@]+)(?::(?P<version>\d+)|@(?P<alias>[A-Za-z0-9._-]+))?$")


@dataclass(frozen=True)
class DatasetRef:
    id: int
    name: str
    version: int
    path: Path
    content_hash: str
    num_records: int
    splits: dict[str, Any]

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"

    def read_split(self, split: str) -> list[dict[str, Any]]:
        """The documents of one split (see catalog.documents); stages read datasets through
        here, not through the data stage."""
        import pyarrow.parquet as pq

        path = self.path / f"{split}.parquet"
        if not path.exists():
            raise CatalogError(f"dataset {self.label} has no split {split!r}")
        rows = pq.read_table(path).to_pylist()
        for r in rows:
            r["labels"] = json.loads(r["labels"]) if r.get("labels") else {}
        return rows


@dataclass(frozen=True)
class ModelRef:
    id: int
    name: str
    version: int
    path: Path
    kind: str
    num_parameters: int
    metrics: dict[str, Any]
    run_id: int | None
    parent_id: int | None = None

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ModelListing:
    model: ModelRef
    aliases: list[str]
    dataset: str | None


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


def _run_info(row: Run) -> RunInfo:
    return RunInfo(
        id=row.id,
        kind=row.kind,
        status=row.status,
        dataset_id=row.dataset_id,
        config=dict(row.config),
        metrics=dict(row.metrics),
        output_path=Path(row.output_path) if row.output_path else None,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def _check_name(name: str) -> None:
    if not NAME_RE.match(name):
        raise CatalogError(
            f"invalid name {name!r}: use letters, digits, '.', '_' or '-' (at most 100)"
        )


def dataset_ref(row: Dataset) -> DatasetRef:
    return DatasetRef(
        row.id,
        row.name,
        row.version,
        Path(row.path),
        row.content_hash,
        row.num_records,
        dict(row.splits),
    )


def _model_ref(row: ModelVersion) -> ModelRef:
    return ModelRef(
        row.id,
        row.name,
        row.version,
        Path(row.path),
        row.kind,
        row.num_parameters,
        dict(row.metrics),
        row.run_id,
        row.parent_id,
    )


def _next_version(s: Session, table: type[Dataset] | type[ModelVersion], name: str) -> int:
    return (s.scalar(select(func.max(table.version)).where(table.name == name)) or 0) + 1


def _dataset_with_hash(s: Session, name: str, content_hash: str) -> Dataset | None:
    return s.scalar(
        select(Dataset).where(Dataset.name == name, Dataset.content_hash == content_hash)
    )


class Catalog(EvaluationsMixin):
    def __init__(self, store: Store, artifacts_dir: Path, clock: Clock = utc_now) -> None:
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.clock = clock

    def staging_dir(self, kind: str) -> Path:
        """A fresh scratch directory on the same filesystem, so registering is a rename."""
        base = self.artifacts_dir / "staging"
        base.mkdir(parents=True, exist_ok=True)
        n = 0
        while True:
            path = base / f"{kind}-{self.clock().strftime('%Y%m%d%H%M%S')}-{n}"
            try:
                path.mkdir()
                return path
            except FileExistsError:
                n += 1

    @contextmanager
    def _registering(self, staged: Path) -> Iterator[list[Path]]:
        """Runs a registration of ``staged``; if it fails, removes ``staged`` and each
        directory the body appended to the yielded list (what it moved into artifacts/)."""
        adopted: list[Path] = []
        try:
            yield adopted
        except BaseException:
            for path in (staged, *adopted):
                shutil.rmtree(path, ignore_errors=True)
            raise

    def _adopt(self, staged: Path, dest: Path) -> Path:
        """Moves a staged directory to its place in artifacts/. Nothing there is ever
        deleted: a directory left by a crashed or concurrent registration of the same
        version keeps its content, and this one gets a name of its own beside it."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        if dest.exists():
            dest = dest.with_name(f"{dest.name}-{staged.name}")
        staged.rename(dest)
        return dest

    # datasets ------------------------------------------------------------------------------
    def add_dataset(
        self,
        name: str,
        staged: Path,
        *,
        content_hash: str,
        num_records: int,
        splits: dict[str, Any],
        source: str = "",
    ) -> tuple[DatasetRef, bool]:
        """Registers a staged dataset. Returns (ref, created); the same content under the same
        name returns the existing version and discards the staged copy."""
        with self._registering(staged) as adopted, self.store.session() as s:
            _check_name(name)
            same = _dataset_with_hash(s, name, content_hash)
            if same is not None:
                shutil.rmtree(staged, ignore_errors=True)
                return dataset_ref(same), False
            version = _next_version(s, Dataset, name)
            dest = self._adopt(staged, self.artifacts_dir / "datasets" / name / f"v{version}")
            adopted.append(dest)
            row = Dataset(
                name=name,
                version=version,
                content_hash=content_hash,
                path=str(dest),
                num_records=num_records,
                splits=splits,
                source=source,
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()
            return dataset_ref(row), True

    def find_dataset(self, name: str, content_hash: str) -> DatasetRef | None:
        """The version of ``name`` with exactly this content, if there is one."""
        with self.store.session() as s:
            row = _dataset_with_hash(s, name, content_hash)
            return dataset_ref(row) if row else None

    def get_dataset(self, name: str, version: int | None = None) -> DatasetRef:
        with self.store.session() as s:
            q = select(Dataset).where(Dataset.name == name)
            q = (
                q.where(Dataset.version == version)
                if version
                else q.order_by(Dataset.version.desc())
            )
            row = s.scalars(q.limit(1)).first()
            if row is None:
                what = f"{name}:{version}" if version else name
                raise CatalogError(f"no dataset {what}; see `mint data list`")
            return dataset_ref(row)

    def list_datasets(self) -> list[DatasetRef]:
        with self.store.session() as s:
            rows = s.scalars(select(Dataset).order_by(Dataset.name, Dataset.version))
            return [dataset_ref(r) for r in rows]

    # runs ----------------------------------------------------------------------------------
    def start_run(self, kind: str, *, dataset_id: int | None, config: dict[str, Any]) -> int:
        with self.store.session() as s:
            row = Run(
                kind=kind,
                status="running",
                dataset_id=dataset_id,
                config=config,
                metrics={},
                started_at=self.clock(),
            )
            s.add(row)
            s.flush()
            return row.id

    def finish_run(self, run_id: int, *, metrics: dict[str, Any], output_path: Path | None) -> None:
        with self.store.session() as s:
            row = s.get_one(Run, run_id)
            row.status = "succeeded"
            row.metrics = metrics
            row.output_path = str(output_path) if output_path else None
            row.finished_at = self.clock()

    def fail_run(self, run_id: int, error: str) -> None:
        with self.store.session() as s:
            row = s.get_one(Run, run_id)
            row.status = "failed"
            row.error = error
            row.finished_at = self.clock()

    def run_dir(self, run_id: int) -> Path:
        """Where a run keeps its files (checkpoints, tokenizer, trained model before it is
        registered)."""
        return self.artifacts_dir / "runs" / str(run_id)

    def get_run(self, run_id: int) -> RunInfo:
        with self.store.session() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise CatalogError(f"no run {run_id}; see `mint runs list`")
            return _run_info(row)

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        with self.store.session() as s:
            rows = s.scalars(select(Run).order_by(Run.id.desc()).limit(limit))
            return [_run_info(r) for r in rows]

    def reopen_run(self, run_id: int) -> None:
        """Marks a run as running again (resuming it after a crash or a kill)."""
        with self.store.session() as s:
            row = s.get_one(Run, run_id)
            row.status, row.error, row.finished_at = "running", None, None

    def log_metrics(self, run_id: int, step: int, values: dict[str, float]) -> None:
        now = self.clock()
        with self.store.session() as s:
            s.add_all(
                RunMetric(run_id=run_id, step=step, name=k, value=float(v), logged_at=now)
                for k, v in values.items()
            )

    def run_metrics(self, run_id: int) -> dict[str, list[tuple[int, float]]]:
        """name -> [(step, value)] in step order; a step logged twice (a resumed run
        repeating steps after its last checkpoint) keeps its latest value."""
        out: dict[str, dict[int, float]] = {}
        with self.store.session() as s:
            q = select(RunMetric).where(RunMetric.run_id == run_id).order_by(RunMetric.id)
            for m in s.scalars(q):
                out.setdefault(m.name, {})[m.step] = m.value
        return {k: sorted(v.items()) for k, v in out.items()}

    # models --------------------------------------------------------------------------------
    def add_model_version(
        self,
        name: str,
        staged: Path,
        *,
        run_id: int | None,
        kind: str,
        num_parameters: int,
        metrics: dict[str, Any],
        parent_id: int | None = None,
    ) -> ModelRef:
        with self._registering(staged) as adopted, self.store.session() as s:
            _check_name(name)
            version = _next_version(s, ModelVersion, name)
            dest = self._adopt(staged, self.artifacts_dir / "models" / name / f"v{version}")
            adopted.append(dest)
            row = ModelVersion(
                name=name,
                version=version,
                run_id=run_id,
                parent_id=parent_id,
                kind=kind,
                path=str(dest),
                num_parameters=num_parameters,
                metrics=metrics,
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()
            return _model_ref(row)

    def update_model_metrics(self, model_id: int, metrics: dict[str, Any]) -> None:
        with self.store.session() as s:
            row = s.get_one(ModelVersion, model_id)
            row.metrics = {**row.metrics, **metrics}

    def set_alias(self, name: str, alias: str, version: int) -> None:
        _check_name(alias)
        with self.store.session() as s:
            target = s.scalar(
                select(ModelVersion).where(
                    ModelVersion.name == name, ModelVersion.version == version
                )
            )
            if target is None:
                raise CatalogError(f"no model {name}:{version}")
            row = s.scalar(
                select(ModelAlias).where(ModelAlias.name == name, ModelAlias.alias == alias)
            )
            if row is None:
                s.add(
                    ModelAlias(
                        name=name, alias=alias, model_version_id=target.id, updated_at=self.clock()
                    )
                )
            else:
                row.model_version_id = target.id
                row.updated_at = self.clock()

    def resolve_model(self, spec: str) -> ModelRef:
        """``name`` (newest version), ``name:VERSION`` or ``name@ALIAS``."""
        m = MODEL_SPEC_RE.match(spec)
        if not m:
            raise CatalogError(f"invalid model {spec!r}: use NAME, NAME:VERSION or NAME@ALIAS")
        name, version, alias = m["name"], m["version"], m["alias"]
        with self.store.session() as s:
            q = select(ModelVersion).where(ModelVersion.name == name)
            if version:
                q = q.where(ModelVersion.version == int(version))
            elif alias:
                q = q.join(ModelAlias, ModelAlias.model_version_id == ModelVersion.id).where(
                    ModelAlias.name == name, ModelAlias.alias == alias
                )
            row = s.scalars(q.order_by(ModelVersion.version.desc()).limit(1)).first()
            if row is None:
                raise CatalogError(f"no model {spec}; see `mint models list`")
            return _model_ref(row)

    def list_models(self) -> list[ModelListing]:
        with self.store.session() as s:
            rows = s.execute(
                select(ModelVersion, Dataset)
                .outerjoin(Run, Run.id == ModelVersion.run_id)
                .outerjoin(Dataset, Dataset.id == Run.dataset_id)
                .order_by(ModelVersion.name, ModelVersion.version)
            ).all()
            aliases: dict[int, list[str]] = {}
            for a in s.scalars(select(ModelAlias).order_by(ModelAlias.alias)):
                aliases.setdefault(a.model_version_id, []).append(a.alias)
            return [
                ModelListing(
                    _model_ref(mv),
                    aliases.get(mv.id, []),
                    f"{ds.name}:{ds.version}" if ds else None,
                )
                for mv, ds in rows
            ]

    def recipe_that_made(self, model: ModelRef, recipe: str) -> dict[str, Any]:
        """The ``recipe`` (e.g. ``classify``) whose run made this model or the nearest model
        it was made from (a merged adapter, a compressed copy); {} when none is recorded."""
        current: ModelRef | None = model
        while current is not None:
            if current.run_id is not None:
                try:
                    config = self.get_run(current.run_id).config.get("recipe") or {}
                except CatalogError:
                    config = {}
                if config.get("recipe") == recipe:
                    return dict(config)
            current = self.get_model(current.parent_id) if current.parent_id else None
        return {}

    def get_model(self, model_id: int) -> ModelRef:
        with self.store.session() as s:
            return _model_ref(s.get_one(ModelVersion, model_id))

    def lineage(self, model: ModelRef) -> dict[str, Any]:
        """The chain that made a model: its run, the dataset version that run read, and the
        models it was made from (an adapter's base, a fine-tune's starting point), nearest
        first."""
        with self.store.session() as s:
            run = s.get(Run, model.run_id) if model.run_id else None
            ds = s.get(Dataset, run.dataset_id) if run and run.dataset_id else None
            parents, parent_id = [], model.parent_id
            while parent_id is not None:
                parent = s.get_one(ModelVersion, parent_id)
                parents.append({"model": f"{parent.name}:{parent.version}", "kind": parent.kind})
                parent_id = parent.parent_id
            return {
                "model": model.label,
                "kind": model.kind,
                "parents": parents,
                "run": {"id": run.id, "kind": run.kind, "status": run.status} if run else None,
                "dataset": {"name": ds.name, "version": ds.version, "content_hash": ds.content_hash}
                if ds
                else None,
            }
