"""The catalog's front door: datasets, runs and model versions with their lineage, and the
artifacts on disk; its parts hang off it (``evaluations``, ``aliases``, ``queries``).

The rows and the questions asked of them live in one module per concept (``datasets``,
``runs``, ``models``, ``aliases``, ``evaluations``); this class opens the unit of work and
registers what stages hand over (see ``catalog.artifacts``). Its parts import nothing of
it, so none of them can form an import cycle with it (a layers contract in pyproject.toml
holds that)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.catalog.aliases import Aliases
from modelmint.catalog.artifacts import make_staging_dir, registering
from modelmint.catalog.datasets import (
    DatasetRef,
    all_datasets,
    dataset_labels,
    dataset_ref,
    dataset_with_hash,
    find_dataset,
)
from modelmint.catalog.errors import CatalogError
from modelmint.catalog.evaluations import Evaluations
from modelmint.catalog.models import (
    ModelListing,
    ModelRef,
    lineage_of,
    listings,
    model_ref,
    resolve_spec,
)
from modelmint.catalog.names import check_name
from modelmint.catalog.queries import CatalogQueries
from modelmint.catalog.runs import RunInfo, metric_series, run_info
from modelmint.config.clock import Clock, utc_now
from modelmint.observability import ProgressFn, no_progress
from modelmint.store import Store
from modelmint.store.catalog_tables import Dataset, ModelVersion, Run, RunMetric

if TYPE_CHECKING:
    from modelmint.modeling import ImportOptions


def _next_version(s: Session, table: type[Dataset] | type[ModelVersion], name: str) -> int:
    return (s.scalar(select(func.max(table.version)).where(table.name == name)) or 0) + 1


class Catalog:
    def __init__(self, store: Store, artifacts_dir: Path, clock: Clock = utc_now) -> None:
        self.store = store
        self.artifacts_dir = artifacts_dir
        self.clock = clock
        self.evaluations = Evaluations(store, artifacts_dir, clock)
        self.aliases = Aliases(store, clock)
        self.queries = CatalogQueries(store)

    def staging_dir(self, kind: str) -> Path:
        """A fresh scratch directory on the same filesystem, so registering is a rename."""
        return make_staging_dir(self.artifacts_dir, self.clock, kind)

    def work_dir(self, name: str) -> Path:
        """A scratch directory that outlives a failed run, so the run's next try can reuse
        the finished part of the work; its owner removes it once the run has succeeded."""
        path = self.artifacts_dir / "work" / name
        path.mkdir(parents=True, exist_ok=True)
        return path

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
        with registering(staged) as place, self.store.session() as s:
            check_name(name)
            same = dataset_with_hash(s, name, content_hash)
            if same is not None:
                shutil.rmtree(staged, ignore_errors=True)
                return dataset_ref(same), False
            version = _next_version(s, Dataset, name)
            dest = place(self.artifacts_dir / "datasets" / name / f"v{version}")
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
            row = dataset_with_hash(s, name, content_hash)
            return dataset_ref(row) if row else None

    def get_dataset(self, name: str, version: int | None = None) -> DatasetRef:
        """Version ``version`` of ``name``, or its newest."""
        with self.store.session() as s:
            row = find_dataset(s, name, version)
            if row is None:
                what = f"{name}:{version}" if version else name
                raise CatalogError(f"no dataset {what}; see `mint data list`")
            return dataset_ref(row)

    def dataset_by_id(self, dataset_id: int) -> DatasetRef:
        with self.store.session() as s:
            row = s.get(Dataset, dataset_id)
            if row is None:
                raise CatalogError(f"no dataset with id {dataset_id}; see `mint data list`")
            return dataset_ref(row)

    def dataset_labels(self, ids: set[int]) -> dict[int, str]:
        """``NAME:VERSION`` of each of these dataset versions that exists."""
        with self.store.session() as s:
            return dataset_labels(s, ids)

    def list_datasets(self) -> list[DatasetRef]:
        """Every version of every dataset, by name then version."""
        with self.store.session() as s:
            return all_datasets(s)

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

    def reopen_run(self, run_id: int) -> None:
        """Marks a run as running again (resuming it after a crash or a kill)."""
        with self.store.session() as s:
            row = s.get_one(Run, run_id)
            row.status, row.error, row.finished_at = "running", None, None

    def run_dir(self, run_id: int) -> Path:
        """Where a run keeps its files (checkpoints, tokenizer, trained model before it is
        registered)."""
        return self.artifacts_dir / "runs" / str(run_id)

    def get_run(self, run_id: int) -> RunInfo:
        with self.store.session() as s:
            row = s.get(Run, run_id)
            if row is None:
                raise CatalogError(f"no run {run_id}; see `mint runs list`")
            return run_info(row)

    def list_runs(self, limit: int = 50) -> list[RunInfo]:
        with self.store.session() as s:
            rows = s.scalars(select(Run).order_by(Run.id.desc()).limit(limit))
            return [run_info(r) for r in rows]

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
        with self.store.session() as s:
            return metric_series(s, [run_id]).get(run_id, {})

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
        provenance: dict[str, Any] | None = None,
    ) -> ModelRef:
        with registering(staged) as place, self.store.session() as s:
            check_name(name)
            version = _next_version(s, ModelVersion, name)
            dest = place(self.artifacts_dir / "models" / name / f"v{version}")
            row = ModelVersion(
                name=name,
                version=version,
                run_id=run_id,
                parent_id=parent_id,
                kind=kind,
                path=str(dest),
                num_parameters=num_parameters,
                metrics=metrics,
                provenance=provenance,
                created_at=self.clock(),
            )
            s.add(row)
            s.flush()
            return model_ref(row)

    def import_model(
        self,
        name: str,
        source: Path,
        options: ImportOptions | None = None,
        *,
        progress: ProgressFn = no_progress,
    ) -> ModelRef:
        """Registers an open-weight checkpoint from outside (a Hugging Face directory or a
        .gguf file) as a new version of ``name``, a causal LM with no run, and its provenance.
        Whatever would refuse it is checked before a byte is copied."""
        from modelmint.modeling import ImportOptions
        from modelmint.modeling.checkpoints import inspect_checkpoint
        from modelmint.modeling.importing import stage_checkpoint

        check_name(name)
        checkpoint = inspect_checkpoint(source, options or ImportOptions())
        staged = self.staging_dir("model")
        try:
            imported = stage_checkpoint(
                checkpoint, staged, imported_at=self.clock(), progress=progress
            )
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return self.add_model_version(
            name,
            staged,
            run_id=None,
            kind="causal-lm",
            num_parameters=imported.num_parameters,
            metrics={},
            provenance=imported.provenance,
        )

    def update_model_metrics(self, model_id: int, metrics: dict[str, Any]) -> None:
        with self.store.session() as s:
            row = s.get_one(ModelVersion, model_id)
            row.metrics = {**row.metrics, **metrics}

    def resolve_model(self, spec: str) -> ModelRef:
        """``name`` (newest version), ``name:VERSION`` or ``name@ALIAS``."""
        with self.store.session() as s:
            return model_ref(resolve_spec(s, spec))

    def get_model(self, model_id: int) -> ModelRef:
        with self.store.session() as s:
            return model_ref(s.get_one(ModelVersion, model_id))

    def list_models(self) -> list[ModelListing]:
        with self.store.session() as s:
            return listings(s)

    def lineage(self, model: ModelRef) -> dict[str, Any]:
        """The chain that made a model: its run, the dataset version that run read, and the
        models it was made from, nearest first."""
        with self.store.session() as s:
            return lineage_of(s, model)

    def lineage_dataset(self, model: ModelRef) -> DatasetRef | None:
        """The dataset version this model, or the nearest model it was made from (a merged
        adapter, a compressed copy), was trained on; None when no run in the chain read one."""
        for current in self._and_its_parents(model):
            found = self.lineage(current)["dataset"]
            if found:
                return self.get_dataset(found["name"], found["version"])
        return None

    def recipe_that_made(self, model: ModelRef, recipe: str) -> dict[str, Any]:
        """The ``recipe`` (e.g. ``classify``) whose run made this model or the nearest model
        it was made from (a merged adapter, a compressed copy); {} when none is recorded."""
        for current in self._and_its_parents(model):
            if current.run_id is not None:
                try:
                    config = self.get_run(current.run_id).config.get("recipe") or {}
                except CatalogError:
                    config = {}
                if config.get("recipe") == recipe:
                    return dict(config)
        return {}

    def _and_its_parents(self, model: ModelRef) -> Iterator[ModelRef]:
        """The model, then each model it was made from, nearest first."""
        current: ModelRef | None = model
        while current is not None:
            yield current
            current = self.get_model(current.parent_id) if current.parent_id else None
