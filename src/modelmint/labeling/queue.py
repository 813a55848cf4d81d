"""Which item an annotator labels next. An item goes to at most ``overlap`` different
annotators and never twice to the same one; items with a suggestion come first, least
confident first (active learning: a label helps most where the model is unsure), then the
rest in dataset order."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from sqlalchemy import case, exists, func, select, true
from sqlalchemy.orm import Session

from modelmint.config.clock import Clock, utc_now
from modelmint.labeling.names import check_annotator_name
from modelmint.labeling.projects import project_row
from modelmint.store import Annotation, LabelAssignment, LabelItem, LabelProject, Store


@dataclass(frozen=True)
class ItemView:
    """An item as an annotator sees it."""

    id: int
    project: str
    position: int
    external_id: str | None
    content: dict[str, Any]
    suggestion: Any | None
    confidence: float | None
    suggestion_source: str | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "project": self.project,
            "position": self.position,
            "external_id": self.external_id,
            "content": self.content,
            "suggestion": self.suggestion,
            "confidence": self.confidence,
            "suggestion_source": self.suggestion_source,
        }


def item_view(project: LabelProject, item: LabelItem) -> ItemView:
    return ItemView(
        id=item.id,
        project=project.name,
        position=item.position,
        external_id=item.external_id,
        content=dict(item.content),
        suggestion=item.suggestion,
        confidence=item.confidence,
        suggestion_source=item.suggestion_source,
    )


def lock_project(s: Session, name: str) -> LabelProject:
    """Reads the project inside a write session, serializing everyone who assigns or
    labels its items: on PostgreSQL by locking the project's row; SQLite's
    ``BEGIN IMMEDIATE`` (Store.write_session) already holds the database's write lock."""
    row = project_row(s, name)
    if s.get_bind().dialect.name != "sqlite":
        s.refresh(row, with_for_update=True)
    return row


def assigned_count(item_id: Any) -> Any:
    """How many annotators an item has been given to (a correlated subquery)."""
    return (
        select(func.count(LabelAssignment.id))
        .where(LabelAssignment.item_id == item_id)
        .scalar_subquery()
    )


class LabelQueue:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def next_item(
        self, project: str, annotator: str, skip: Collection[int] = ()
    ) -> ItemView | None:
        """The annotator's next item, recorded as assigned to them; an item assigned to
        them and not yet labeled comes back first (a reload shows the same item). None
        when nothing is left for this annotator. Items in ``skip`` (ids the annotator
        skipped, e.g. on the web page) are passed over."""
        annotator = check_annotator_name(annotator)
        with self.store.write_session() as s:
            proj = lock_project(s, project)
            mine = exists().where(
                LabelAssignment.item_id == LabelItem.id, LabelAssignment.annotator == annotator
            )
            labeled = exists().where(
                Annotation.item_id == LabelItem.id, Annotation.annotator == annotator
            )
            not_skipped = LabelItem.id.not_in(list(skip)) if skip else true()
            pending = s.scalars(
                select(LabelItem)
                .where(LabelItem.project_id == proj.id, mine, ~labeled, not_skipped)
                .order_by(LabelItem.position)
                .limit(1)
            ).first()
            if pending is not None:
                return item_view(proj, pending)
            item = s.scalars(
                select(LabelItem)
                .where(
                    LabelItem.project_id == proj.id,
                    ~mine,
                    ~labeled,
                    not_skipped,
                    assigned_count(LabelItem.id) < proj.overlap,
                )
                .order_by(
                    case((LabelItem.suggestion_source.is_(None), 1), else_=0),
                    case((LabelItem.confidence.is_(None), 1), else_=0),
                    LabelItem.confidence,
                    LabelItem.position,
                )
                .limit(1)
            ).first()
            if item is None:
                return None
            s.add(LabelAssignment(item_id=item.id, annotator=annotator, assigned_at=self.clock()))
            s.flush()
            return item_view(proj, item)

    def release(self, project: str, annotator: str) -> int:
        """Gives back the items assigned to an annotator and not labeled (someone who
        left), so others can take them; returns how many."""
        with self.store.write_session() as s:
            proj = lock_project(s, project)
            rows = s.scalars(
                select(LabelAssignment)
                .join(LabelItem, LabelItem.id == LabelAssignment.item_id)
                .where(
                    LabelItem.project_id == proj.id,
                    LabelAssignment.annotator == annotator,
                    ~exists().where(
                        Annotation.item_id == LabelAssignment.item_id,
                        Annotation.annotator == annotator,
                    ),
                )
            ).all()
            for r in rows:
                s.delete(r)
            return len(rows)
