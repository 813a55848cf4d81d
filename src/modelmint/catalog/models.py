"""Model versions: what a run made (or a compression, a merge, an import), with the version
it was made from, and how a spec (``NAME``, ``NAME:VERSION``, ``NAME@ALIAS``) names one."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog.errors import CatalogError
from modelmint.catalog.names import MODEL_SPEC_RE
from modelmint.config.clock import utc
from modelmint.store.catalog_tables import Dataset, ModelAlias, ModelVersion, Run


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
    created_at: datetime | None = field(default=None, compare=False)
    # Where an imported version came from (``modeling.importing`` says what it holds); None
    # for versions made here, whose lineage is their run.
    provenance: dict[str, Any] | None = field(default=None, compare=False)

    @property
    def label(self) -> str:
        return f"{self.name}:{self.version}"


@dataclass(frozen=True)
class ModelListing:
    model: ModelRef
    aliases: list[str]
    dataset: str | None


def model_ref(row: ModelVersion) -> ModelRef:
    return ModelRef(
        row.id,
        row.name,
        row.version,
        Path(row.path),
        row.kind,
        row.num_parameters,
        dict(row.metrics or {}),
        row.run_id,
        row.parent_id,
        utc(row.created_at),
        dict(row.provenance) if row.provenance is not None else None,
    )


def version_row(s: Session, name: str, version: int) -> ModelVersion | None:
    return s.scalar(
        select(ModelVersion).where(ModelVersion.name == name, ModelVersion.version == version)
    )


def resolve_spec(s: Session, spec: str) -> ModelVersion:
    """``name`` (newest version), ``name:VERSION`` or ``name@ALIAS``."""
    m = MODEL_SPEC_RE.match(spec)
    if not m:
        raise CatalogError(f"invalid model {spec!r}: use NAME, NAME:VERSION or NAME@ALIAS")
    name, version, alias = m["name"], m["version"], m["alias"]
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
    return row


def listings(s: Session) -> list[ModelListing]:
    """Every version by name then version, with its aliases and the dataset its run read."""
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
            model_ref(mv), aliases.get(mv.id, []), f"{ds.name}:{ds.version}" if ds else None
        )
        for mv, ds in rows
    ]


def lineage_of(s: Session, model: ModelRef) -> dict[str, Any]:
    """The chain that made a model: its run, the dataset version that run read, and the
    models it was made from (an adapter's base, a fine-tune's starting point), nearest
    first."""
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
