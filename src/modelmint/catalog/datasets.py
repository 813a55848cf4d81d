"""Dataset versions: what a stage reads. A version is immutable and known by its content
hash, so registering the same content under the same name again finds the version it
already has (see ``Catalog.add_dataset``)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog.errors import CatalogError
from modelmint.config.clock import utc
from modelmint.store.catalog_tables import Dataset


@dataclass(frozen=True)
class DatasetRef:
    id: int
    name: str
    version: int
    path: Path
    content_hash: str
    num_records: int
    splits: dict[str, Any]
    source: str
    created_at: datetime = field(compare=False)

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


def dataset_ref(row: Dataset) -> DatasetRef:
    return DatasetRef(
        row.id,
        row.name,
        row.version,
        Path(row.path),
        row.content_hash,
        row.num_records,
        dict(row.splits),
        row.source or "",
        utc(row.created_at),
    )


def dataset_with_hash(s: Session, name: str, content_hash: str) -> Dataset | None:
    return s.scalar(
        select(Dataset).where(Dataset.name == name, Dataset.content_hash == content_hash)
    )


def find_dataset(s: Session, name: str, version: int | None) -> Dataset | None:
    """Version ``version`` of ``name``, or its newest when ``version`` is None (or 0)."""
    q = select(Dataset).where(Dataset.name == name)
    q = q.where(Dataset.version == version) if version else q.order_by(Dataset.version.desc())
    return s.scalars(q.limit(1)).first()


def all_datasets(s: Session) -> list[DatasetRef]:
    """Every version of every dataset, by name then version."""
    rows = s.scalars(select(Dataset).order_by(Dataset.name, Dataset.version))
    return [dataset_ref(r) for r in rows]


def dataset_labels(s: Session, ids: set[int]) -> dict[int, str]:
    """``NAME:VERSION`` of each of these dataset versions that exists."""
    if not ids:
        return {}
    rows = s.execute(select(Dataset.id, Dataset.name, Dataset.version).where(Dataset.id.in_(ids)))
    return {i: f"{n}:{v}" for i, n, v in rows}
