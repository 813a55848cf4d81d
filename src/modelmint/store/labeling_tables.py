"""The labeling and feedback tables: label projects over a dataset version, their items
(with the model's suggestion), who is assigned which item, the labels people gave; and what
API users said about answers, with the transcripts it refers to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from modelmint.store.tables import Base


class LabelProject(Base):
    """What to label and how: ``kind`` is ``classification`` (one label), ``multilabel``,
    ``rating`` (1-5), ``correction`` (edit the model's answer) or ``preference`` (A or B);
    ``labels`` the choices; each item is labeled by ``overlap`` different annotators."""

    __tablename__ = "label_projects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    dataset_id: Mapped[int | None] = mapped_column(ForeignKey("datasets.id"))
    split: Mapped[str | None] = mapped_column(String(50))
    kind: Mapped[str] = mapped_column(String(30))
    labels: Mapped[list[str]] = mapped_column(JSON, default=list)
    guidelines: Mapped[str] = mapped_column(Text, default="")
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    # which record fields an item shows (e.g. {"text": "text"} or {"a": "answer_a", ...})
    fields: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # where suggestions come from: {"source": "classifier"|"neighbors"|"zero-shot", ...}
    suggester: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime]


class LabelItem(Base):
    """One thing to label: the record's content, the model's suggestion and its
    confidence, and the gold answer when the item is a check on annotators."""

    __tablename__ = "label_items"
    __table_args__ = (
        UniqueConstraint("project_id", "position", name="uq_label_items_project_position"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    project_id: Mapped[int] = mapped_column(ForeignKey("label_projects.id"), index=True)
    position: Mapped[int] = mapped_column(Integer)  # row in the dataset split (or import order)
    external_id: Mapped[str | None] = mapped_column(String(200))  # e.g. a Label Studio task id
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    suggestion: Mapped[Any | None] = mapped_column(JSON)
    confidence: Mapped[float | None] = mapped_column(Float)
    suggestion_source: Mapped[str | None] = mapped_column(String(50))
    gold: Mapped[Any | None] = mapped_column(JSON)
    # what an imported Label Studio task carried that we do not model (task fields,
    # prediction fields, further predictions), kept so an export gives it back unchanged
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class LabelAssignment(Base):
    __tablename__ = "label_assignments"
    __table_args__ = (
        UniqueConstraint("item_id", "annotator", name="uq_label_assignments_item_annotator"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("label_items.id"), index=True)
    annotator: Mapped[str] = mapped_column(String(200), index=True)
    assigned_at: Mapped[datetime]


class Annotation(Base):
    """One annotator's label for one item. ``suggestion_use``: ``accepted`` (took the
    model's suggestion), ``overrode`` (chose something else) or ``none`` (no suggestion
    shown). A later label by the same annotator replaces the earlier one."""

    __tablename__ = "annotations"
    __table_args__ = (
        UniqueConstraint("item_id", "annotator", name="uq_annotations_item_annotator"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("label_items.id"), index=True)
    annotator: Mapped[str] = mapped_column(String(200), index=True)
    value: Mapped[Any] = mapped_column(JSON)
    suggestion_use: Mapped[str] = mapped_column(String(20), default="none")
    seconds: Mapped[float | None] = mapped_column(Float)
    # an imported Label Studio annotation's fields we do not model (ids, regions, times)
    extra: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Annotator(Base):
    """A person who labels in the browser. Signs in with a token shown once at creation;
    only its prefix and a keyed hash are stored (as API keys). ``projects`` empty: all."""

    __tablename__ = "annotators"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    language: Mapped[str] = mapped_column(String(10), default="en")
    projects: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Transcript(Base):
    """What a request asked and what it answered, kept so feedback can become training
    data. Written by the gateway for requests that ask for it (``store: true``) or whose
    tenant keeps transcripts."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    endpoint: Mapped[str] = mapped_column(String(50))
    request: Mapped[dict[str, Any]] = mapped_column(JSON)  # messages or prompt, parameters
    choices: Mapped[list[str]] = mapped_column(JSON)  # the answer text of each choice
    created_at: Mapped[datetime]


class Feedback(Base):
    """What an API user said about one answer: a rating, a corrected answer, tags. Only the
    key that made the request (or another key of its tenant) may give it. ``status`` is the
    review queue: ``new``, ``accepted`` or ``rejected``."""

    __tablename__ = "feedback"
    __table_args__ = (UniqueConstraint("request_id", "choice", name="uq_feedback_request_choice"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), index=True)
    choice: Mapped[int] = mapped_column(Integer, default=0)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"), index=True)
    rating: Mapped[int | None] = mapped_column(Integer)  # 1-5, or -1/+1 thumbs mapped to 1/5
    corrected: Mapped[str | None] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    comment: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(20), default="new")
    reviewer: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime]
    reviewed_at: Mapped[datetime | None]
