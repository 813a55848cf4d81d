"""The catalog's tables: dataset versions, the runs that read them and their logged metrics,
the model versions they made, evaluations of those versions and the aliases naming them, and
the files tenants upload through the Files API. Every arrow of the loop is a foreign key:
dataset -> run -> model version -> usage event.

The catalog owns these: it writes them, and it answers the questions the console and the
command line ask of them. They are kept apart from ``modelmint.store``'s front door so that
the entry points (gateway, cli) ask the catalog rather than query them; the import contracts
in pyproject.toml hold that. Commerce and labeling join them in their own SQL (usage, invoices
and feedback per model version) and import them from here."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from modelmint.store.tables import Base


class Dataset(Base):
    """An immutable dataset version: files under ``path``, identified by their content hash."""

    __tablename__ = "datasets"
    __table_args__ = (
        UniqueConstraint("name", "version", name="uq_datasets_name_version"),
        UniqueConstraint("name", "content_hash", name="uq_datasets_name_content_hash"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)
    num_records: Mapped[int] = mapped_column(Integer)
    splits: Mapped[dict[str, Any]] = mapped_column(default=dict)
    source: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime]


class Run(Base):
    """One execution of a stage (tokenizer training, pretraining, ...) that read a dataset."""

    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(50))
    status: Mapped[str] = mapped_column(String(20))
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    output_path: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime]
    finished_at: Mapped[datetime | None]


class RunMetric(Base):
    """One logged value of a run (loss, learning rate, eval accuracy...) at a step."""

    __tablename__ = "run_metrics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    name: Mapped[str] = mapped_column(String(100))
    value: Mapped[float] = mapped_column(Float)
    logged_at: Mapped[datetime]


class ModelVersion(Base):
    __tablename__ = "model_versions"
    __table_args__ = (UniqueConstraint("name", "version", name="uq_model_versions_name_version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    version: Mapped[int] = mapped_column(Integer)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id"))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("model_versions.id"))
    kind: Mapped[str] = mapped_column(String(50))
    path: Mapped[str] = mapped_column(Text)
    num_parameters: Mapped[int] = mapped_column(BigInteger)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    # Where a version imported from outside came from (migration 0010); None for the rest.
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Evaluation(Base):
    """One evaluation of a model version: the suite, what it read (a dataset version's split
    or a file, with its content hash) and the options, which together are enough to run the
    same evaluation on another version; the metrics; and the per-example records on disk."""

    __tablename__ = "evaluations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    suite: Mapped[str] = mapped_column(String(50))
    dataset: Mapped[str | None] = mapped_column(Text)  # NAME:VERSION or a file path
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    dataset_hash: Mapped[str | None] = mapped_column(String(64))
    split: Mapped[str | None] = mapped_column(String(50))
    options: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(default=dict)
    path: Mapped[str] = mapped_column(Text)  # directory: examples, details, report
    created_at: Mapped[datetime]


class ModelAlias(Base):
    """A movable name (``demo@production``) pointing at one version of a model."""

    __tablename__ = "model_aliases"
    __table_args__ = (UniqueConstraint("name", "alias", name="uq_model_aliases_name_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    alias: Mapped[str] = mapped_column(String(100))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    updated_at: Mapped[datetime]


class UploadedFile(Base):
    """A file a tenant uploaded through the Files API (``POST /v1/files``), checked before it
    was kept: its bytes are at ``artifacts/files/<file_id>``. Deleting it removes the bytes
    and keeps the row, with ``deleted_at`` set."""

    __tablename__ = "uploaded_files"
    __table_args__ = (Index("ix_uploaded_files_tenant_id_id", "tenant_id", "id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)  # the listing's order
    file_id: Mapped[str] = mapped_column(String(64), unique=True)  # "file-..." in the API
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    filename: Mapped[str] = mapped_column(Text)
    purpose: Mapped[str] = mapped_column(String(50))
    bytes: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    line_count: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]
