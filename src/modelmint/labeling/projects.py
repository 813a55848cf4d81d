"""Label projects: what to label (one split of a dataset version), how (the kind and its
choices) and by how many people (overlap). Creating a project makes one item per record."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.catalog import Catalog, CatalogError, DatasetRef
from modelmint.config.clock import Clock, utc_now
from modelmint.errors import UserError
from modelmint.labeling.choices import KINDS
from modelmint.store import Annotation, LabelItem, LabelProject, Store

RATING_LABELS = ["1", "2", "3", "4", "5"]
PREFERENCE_LABELS = ["A", "B"]
# Columns of a dataset split an item can show besides ``labels.KEY`` (see catalog.documents).
RECORD_COLUMNS = ("id", "text", "messages", "lang", "source")


class LabelingError(UserError, ValueError):
    """Bad input to a label project: the message names the field and what to do."""


@dataclass(frozen=True)
class ProjectInfo:
    id: int
    name: str
    dataset: str | None  # "NAME:VERSION", None for an imported project
    dataset_id: int | None
    split: str | None
    kind: str
    labels: list[str]
    fields: dict[str, Any]
    overlap: int
    guidelines: str
    suggester: dict[str, Any]
    num_items: int


@dataclass(frozen=True)
class Progress:
    project: str
    items: int
    labels: int  # annotations given
    finished: int  # items with at least ``overlap`` labels
    per_annotator: dict[str, int] = field(default_factory=dict)


def parse_dataset_spec(spec: str) -> tuple[str, int | None]:
    """``NAME`` (newest version) or ``NAME:VERSION``."""
    name, sep, version = spec.partition(":")
    if not name or (sep and not version.isdigit()):
        raise LabelingError(f"dataset {spec!r}: use NAME or NAME:VERSION (e.g. support:2)")
    return name, int(version) if sep else None


def record_value(record: dict[str, Any], source: str) -> Any:
    """A record's column, or ``labels.KEY`` for one of its labels."""
    if source.startswith("labels."):
        return (record.get("labels") or {}).get(source[len("labels.") :])
    return record.get(source)


def _available_fields(records: list[dict[str, Any]]) -> list[str]:
    keys = {k for r in records for k in (r.get("labels") or {})}
    return [*RECORD_COLUMNS, *(f"labels.{k}" for k in sorted(keys))]


def _check_kind(kind: str, labels: list[str] | None, overlap: int) -> list[str]:
    if kind not in KINDS:
        raise LabelingError(f"kind {kind!r} is not known: use one of {', '.join(KINDS)}")
    if overlap < 1:
        raise LabelingError(f"overlap must be 1 or more (got {overlap})")
    labels = [str(x).strip() for x in labels or [] if str(x).strip()]
    if kind in ("classification", "multilabel"):
        if len(labels) < 2 and kind == "classification":
            raise LabelingError(f"a {kind} project needs at least two labels (--labels a,b)")
        if not labels:
            raise LabelingError(f"a {kind} project needs labels (--labels a,b)")
        if len(set(labels)) != len(labels):
            raise LabelingError(f"labels repeat: {labels}; give each label once")
        return labels
    fixed = {"rating": RATING_LABELS, "preference": PREFERENCE_LABELS}.get(kind, [])
    if labels and labels != fixed:
        raise LabelingError(
            f"a {kind} project's choices are fixed ({fixed or 'free text'}); leave labels out"
        )
    return list(fixed)


def project_row(s: Session, name: str) -> LabelProject:
    row = s.scalar(select(LabelProject).where(LabelProject.name == name))
    if row is None:
        raise LabelingError(f"no label project {name!r}; see `mint label list`")
    return row


def _info(s: Session, row: LabelProject) -> ProjectInfo:
    """The project as stored; ``dataset`` (its label) is the catalog's to fill in."""
    n = s.scalar(select(func.count(LabelItem.id)).where(LabelItem.project_id == row.id)) or 0
    return ProjectInfo(
        id=row.id,
        name=row.name,
        dataset=None,
        dataset_id=row.dataset_id,
        split=row.split,
        kind=row.kind,
        labels=list(row.labels),
        fields=dict(row.fields),
        overlap=row.overlap,
        guidelines=row.guidelines,
        suggester=dict(row.suggester),
        num_items=n,
    )


def _with_datasets(catalog: Catalog, infos: list[ProjectInfo]) -> list[ProjectInfo]:
    """The projects with the ``NAME:VERSION`` of the dataset version each labels."""
    labels = catalog.dataset_labels({p.dataset_id for p in infos if p.dataset_id})
    return [replace(p, dataset=labels.get(p.dataset_id)) if p.dataset_id else p for p in infos]


class LabelProjects:
    def __init__(self, store: Store, catalog: Catalog, clock: Clock = utc_now) -> None:
        self.store = store
        self.catalog = catalog
        self.clock = clock

    def create(
        self,
        name: str,
        dataset: str,
        *,
        split: str = "train",
        kind: str = "classification",
        labels: list[str] | None = None,
        fields: dict[str, str] | None = None,
        overlap: int = 1,
        guidelines: str = "",
    ) -> ProjectInfo:
        """Creates the project and one item per record of ``split``; ``fields`` maps what
        the item shows to record fields (default ``{"text": "text"}``)."""
        name = name.strip()
        if not name or len(name) > 200:
            raise LabelingError("a project needs a name of 1 to 200 characters")
        labels = _check_kind(kind, labels, overlap)
        ds_name, version = parse_dataset_spec(dataset)
        try:
            ref = self.catalog.get_dataset(ds_name, version)
        except CatalogError as e:
            raise LabelingError(str(e)) from None
        if split not in ref.splits:
            raise LabelingError(
                f"dataset {ref.label} has no split {split!r}; "
                f"available: {', '.join(sorted(ref.splits))}"
            )
        records = ref.read_split(split)
        fields = dict(fields or {"text": "text"})
        if not fields:
            raise LabelingError("fields is empty: map at least one item field, e.g. text=text")
        available = _available_fields(records)
        for shown, source in fields.items():
            if source not in available:
                raise LabelingError(
                    f"field {shown}={source}: dataset {ref.label} has no field {source!r}; "
                    f"available: {', '.join(available)}"
                )
        now = self.clock()
        with self.store.session() as s:
            if s.scalar(select(LabelProject.id).where(LabelProject.name == name)):
                raise LabelingError(f"label project {name!r} exists; choose another name")
            row = LabelProject(
                name=name,
                dataset_id=ref.id,
                split=split,
                kind=kind,
                labels=labels,
                guidelines=guidelines,
                overlap=overlap,
                fields=fields,
                suggester={},
                created_at=now,
            )
            s.add(row)
            s.flush()
            s.add_all(
                LabelItem(
                    project_id=row.id,
                    position=i,
                    external_id=str(r.get("id")) if r.get("id") is not None else None,
                    content={k: record_value(r, src) for k, src in fields.items()},
                    created_at=now,
                )
                for i, r in enumerate(records)
            )
            s.flush()
            return replace(_info(s, row), dataset=ref.label)

    def get(self, name: str) -> ProjectInfo:
        with self.store.session() as s:
            info = _info(s, project_row(s, name))
        return _with_datasets(self.catalog, [info])[0]

    def list(self) -> list[ProjectInfo]:
        with self.store.session() as s:
            rows = s.scalars(select(LabelProject).order_by(LabelProject.name))
            infos = [_info(s, r) for r in rows]
        return _with_datasets(self.catalog, infos)

    def dataset(self, project: ProjectInfo) -> DatasetRef | None:
        """The dataset version the project labels (None for an imported project)."""
        if project.dataset_id is None:
            return None
        return self.catalog.dataset_by_id(project.dataset_id)

    def progress(self, name: str) -> Progress:
        with self.store.session() as s:
            row = project_row(s, name)
            items = (
                s.scalar(select(func.count(LabelItem.id)).where(LabelItem.project_id == row.id))
                or 0
            )
            per_item = (
                select(Annotation.item_id, func.count(Annotation.id).label("n"))
                .join(LabelItem, LabelItem.id == Annotation.item_id)
                .where(LabelItem.project_id == row.id)
                .group_by(Annotation.item_id)
                .subquery()
            )
            labels = s.scalar(select(func.coalesce(func.sum(per_item.c.n), 0))) or 0
            finished = (
                s.scalar(
                    select(func.count()).select_from(per_item).where(per_item.c.n >= row.overlap)
                )
                or 0
            )
            by_annotator = s.execute(
                select(Annotation.annotator, func.count(Annotation.id))
                .join(LabelItem, LabelItem.id == Annotation.item_id)
                .where(LabelItem.project_id == row.id)
                .group_by(Annotation.annotator)
                .order_by(Annotation.annotator)
            )
            return Progress(
                project=row.name,
                items=items,
                labels=int(labels),
                finished=finished,
                per_annotator={a: int(n) for a, n in by_annotator},
            )


__all__ = [
    "KINDS",
    "LabelProjects",
    "LabelingError",
    "Progress",
    "ProjectInfo",
    "parse_dataset_spec",
    "project_row",
    "record_value",
]
