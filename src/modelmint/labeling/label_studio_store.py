"""Label Studio JSON through the database: an export file becomes a new label project (its
tasks items, the first prediction the item's suggestion, each annotation an ``Annotation``),
and a project is written back as Label Studio JSON, its own annotations included.

What the pure mapping (``labeling.label_studio``) keeps aside for a lossless round trip is
stored in ``LabelItem.extra`` and ``Annotation.extra``. Numbers kept in float columns
(``score`` as ``confidence``, ``lead_time`` as ``seconds``) remember the number as written
(``3`` stays ``3``, not ``3.0``) so an unchanged project exports byte for byte as imported.

No imported annotation is a review: a user whose name is, or reads as, a reviewer's
(``review:…``, see ``labeling.names``) is refused, naming the task, so a file cannot
overrule the annotators' majority. (An export writes reviewers' decisions as such users;
importing it back therefore asks to rename them.)

One annotation per (task, user): the ``annotations`` table holds one label per item and
annotator, so a task with two annotations by the same user is refused, naming the task and
user, rather than silently keeping one of them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from modelmint.config.clock import Clock, utc_now
from modelmint.labeling.annotations import suggestion_use
from modelmint.labeling.label_studio import (
    LSAnnotation,
    LSTask,
    from_label_studio,
    to_label_studio_json,
)
from modelmint.labeling.names import REVIEW_PREFIX, is_reserved_name
from modelmint.labeling.projects import LabelingError, ProjectInfo, _check_kind, _info, project_row
from modelmint.store import Annotation, LabelAssignment, LabelItem, LabelProject, Store

SOURCE = "label-studio"  # suggestion_source of an imported prediction


@dataclass(frozen=True)
class ImportResult:
    project: ProjectInfo
    tasks: int
    annotations: int
    suggestions: int


def _same_number(stored: float | None, raw: Any) -> Any:
    """The number as the file wrote it, while the stored value is still that number."""
    if stored is not None and isinstance(raw, int | float) and float(raw) == stored:
        return raw
    return stored


def _check_annotators(tasks: list[LSTask]) -> None:
    for i, t in enumerate(tasks):
        seen: set[str] = set()
        for j, a in enumerate(t.annotations):
            if is_reserved_name(a.annotator):
                # a file could otherwise carry a "review:" decision that overrules the vote
                raise LabelingError(
                    f"task {i} (id {t.id!r}).annotations[{j}].completed_by: user "
                    f"{a.annotator!r} has a reviewer's name ({REVIEW_PREFIX}…), which an "
                    "imported annotation cannot take; rename that user in the file (the "
                    "label then counts as one annotator's) and import again, then decide "
                    "the item here with `mint label resolve`"
                )
            if a.annotator in seen:
                raise LabelingError(
                    f"task {i} (id {t.id!r}).annotations[{j}]: user {a.annotator!r} annotated "
                    "this task twice; modelmint keeps one label per user and item, so remove "
                    "or merge one of them in the file and import again"
                )
            seen.add(a.annotator)


def import_label_studio(
    store: Store,
    name: str,
    source: str | bytes | list[Any],
    *,
    kind: str,
    labels: list[str] | None = None,
    overlap: int = 1,
    guidelines: str = "",
    clock: Clock = utc_now,
) -> ImportResult:
    """Creates project ``name`` from a Label Studio JSON export (text or parsed list)."""
    name = name.strip()
    if not name or len(name) > 200:
        raise LabelingError("a project needs a name of 1 to 200 characters")
    labels = _check_kind(kind, labels, overlap)
    tasks = from_label_studio(source, kind, labels)
    if not tasks:
        raise LabelingError("the Label Studio file has no tasks; nothing to import")
    _check_annotators(tasks)
    shown = list(dict.fromkeys(k for t in tasks for k in t.content))
    now = clock()
    notes = suggestions = 0
    with store.session() as s:
        if s.scalar(select(LabelProject.id).where(LabelProject.name == name)):
            raise LabelingError(f"label project {name!r} exists; choose another name")
        proj = LabelProject(
            name=name,
            dataset_id=None,
            split=None,
            kind=kind,
            labels=labels,
            guidelines=guidelines,
            overlap=overlap,
            fields={k: k for k in shown},
            suggester={},
            created_at=now,
        )
        s.add(proj)
        s.flush()
        for position, t in enumerate(tasks):
            has_prediction = t.suggestion is not None or t.confidence is not None
            item = LabelItem(
                project_id=proj.id,
                position=position,
                external_id=None if t.id is None else str(t.id),
                content=t.content,
                suggestion=t.suggestion,
                confidence=None if t.confidence is None else float(t.confidence),
                suggestion_source=SOURCE if has_prediction else None,
                extra={
                    "id": t.id,  # a number or a string, as the file had it
                    "passthrough": t.passthrough,
                    "prediction_extra": t.prediction_extra,
                    "model_version": t.model_version,
                    "score": t.confidence,
                    "annotations_absent": t.annotations_absent,
                },
                created_at=now,
            )
            s.add(item)
            s.flush()
            suggestions += has_prediction
            for a in t.annotations:
                s.add(LabelAssignment(item_id=item.id, annotator=a.annotator, assigned_at=now))
                s.add(
                    Annotation(
                        item_id=item.id,
                        annotator=a.annotator,
                        value=a.value,
                        suggestion_use=suggestion_use(t.suggestion, a.value)
                        if a.value is not None
                        else "none",
                        seconds=None if a.seconds is None else float(a.seconds),
                        extra={"label_studio": a.extra, "lead_time": a.seconds},
                        created_at=now,
                        updated_at=now,
                    )
                )
                notes += 1
        s.flush()
        return ImportResult(_info(s, proj), len(tasks), notes, suggestions)


def project_tasks(store: Store, project: str) -> tuple[str, list[str], list[LSTask]]:
    """The project's kind, labels and items as Label Studio tasks, in item order; every
    annotation is included (a reviewer's as the user ``review:NAME``)."""
    with store.session() as s:
        proj = project_row(s, project)
        items = list(
            s.scalars(
                select(LabelItem)
                .where(LabelItem.project_id == proj.id)
                .order_by(LabelItem.position)
            )
        )
        by_item: dict[int, list[Annotation]] = {i.id: [] for i in items}
        for a in s.scalars(
            select(Annotation)
            .join(LabelItem, LabelItem.id == Annotation.item_id)
            .where(LabelItem.project_id == proj.id)
            .order_by(Annotation.id)
        ):
            by_item[a.item_id].append(a)
        tasks = [_task(item, by_item[item.id]) for item in items]
        return proj.kind, list(proj.labels), tasks


def _task(item: LabelItem, notes: list[Annotation]) -> LSTask:
    extra = dict(item.extra or {})
    imported = "passthrough" in extra
    if imported:
        task_id = extra.get("id")
        model_version = extra.get("model_version")
    else:  # made here from a dataset: the record id, the suggester as the model version
        task_id = item.external_id if item.external_id is not None else item.position
        model_version = item.suggestion_source
    return LSTask(
        id=task_id,
        content=dict(item.content),
        suggestion=item.suggestion,
        confidence=_same_number(item.confidence, extra.get("score")),
        model_version=model_version,
        annotations=[_annotation(a) for a in notes],
        passthrough=dict(extra.get("passthrough") or {}),
        prediction_extra=dict(extra.get("prediction_extra") or {}),
        annotations_absent=bool(extra.get("annotations_absent")) and not notes,
    )


def _annotation(a: Annotation) -> LSAnnotation:
    extra = dict(a.extra or {})
    return LSAnnotation(
        annotator=a.annotator,
        value=a.value,
        seconds=_same_number(a.seconds, extra.get("lead_time")),
        extra=dict(extra.get("label_studio") or {}),
    )


def export_label_studio(store: Store, project: str) -> str:
    """The project as Label Studio JSON text (keys sorted, Chinese kept readable)."""
    kind, labels, tasks = project_tasks(store, project)
    return to_label_studio_json(kind, labels, tasks)


__all__ = ["ImportResult", "export_label_studio", "import_label_studio", "project_tasks"]
