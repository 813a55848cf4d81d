"""Dataset versions: what a stage reads. A version is immutable and known by its content
hash, so registering the same content under the same name again finds the version it
already has (see ``Catalog.add_dataset``)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
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

    def split_file(self, split: str) -> Path:
        """The Parquet file of one split, for readers that stream it or map it from disk."""
        path = self.path / f"{split}.parquet"
        if not path.exists():
            raise CatalogError(f"dataset {self.label} has no split {split!r}")
        return path

    def split_rows(self, split: str) -> int:
        """How many documents one split holds, from the file's footer alone."""
        import pyarrow.parquet as pq

        return int(pq.ParquetFile(self.split_file(split)).metadata.num_rows)

    def iter_split(
        self, split: str, columns: Sequence[str] | None = None, batch_rows: int = 1024
    ) -> Iterator[list[dict[str, Any]]]:
        """The documents of one split in order, ``batch_rows`` at a time, as ``read_split``
        gives them (only those of ``columns`` the split has, when named): memory holds one
        batch, however large the split. Training reads datasets this way."""
        import pyarrow.parquet as pq

        with pq.ParquetFile(self.split_file(split)) as file:
            have = file.schema_arrow.names
            wanted = None if columns is None else [c for c in columns if c in have]
            for batch in file.iter_batches(batch_size=batch_rows, columns=wanted):
                yield _decoded(batch.to_pylist(), columns is None or "labels" in columns)

    def read_split(self, split: str) -> list[dict[str, Any]]:
        """The documents of one split (see catalog.documents) as one list, for readers of
        small splits (evaluation sets, exports); stages read datasets through here or
        ``iter_split``, not through the data stage."""
        import pyarrow.parquet as pq

        return _decoded(pq.read_table(self.split_file(split)).to_pylist(), True)


def _decoded(rows: list[dict[str, Any]], labels: bool) -> list[dict[str, Any]]:
    """Rows with their ``labels`` JSON read into a mapping (empty when unset), when the
    reader asked for labels."""
    if labels:
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
