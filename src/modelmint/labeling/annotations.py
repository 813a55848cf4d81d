"""Labels people give: checked against the project's kind, recorded with whether they took
the model's suggestion; suggestions from suggesters; the final label of each item
(majority) and how good the suggestions were."""

from __future__ import annotations

import json
import reprlib
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from modelmint.config.clock import Clock, utc_now
from modelmint.labeling.names import check_annotator_name, is_review
from modelmint.labeling.projects import LabelingError, project_row
from modelmint.labeling.queue import assigned_count, lock_project
from modelmint.store import Annotation, LabelAssignment, LabelItem, LabelProject, Store


@dataclass(frozen=True)
class AnnotationInfo:
    id: int
    item_id: int
    annotator: str
    value: Any
    suggestion_use: str  # accepted | overrode | none
    seconds: float | None
    replaced: bool  # an earlier label by the same annotator was replaced


@dataclass(frozen=True)
class FinalLabels:
    """Per item id: the majority label of a finished item; items with tied labels and
    unfinished items (fewer than ``overlap`` labels) are counted, not labeled."""

    labels: dict[int, Any]
    ties: list[int]
    unfinished: list[int]
    reviewed: list[int] = field(default_factory=list)  # decided by a reviewer (wins)


@dataclass(frozen=True)
class SuggestionReport:
    shown: int  # labels given with a suggestion on screen
    accepted: int
    overrode: int
    accepted_share: float | None
    overridden_share: float | None
    checked: int  # finished items that had a suggestion
    correct: int  # ... whose final label equals it
    accuracy: float | None


MAX_CORRECTION_CHARS = 100_000  # as a corrected answer given as API feedback
_SHORT = reprlib.Repr()
_SHORT.maxstring, _SHORT.maxlist, _SHORT.maxother = 60, 5, 60


def _shown(value: Any) -> str:
    """The value for an error message: a huge one (a list of thousands) is cut short."""
    return _SHORT.repr(value)


def check_value(kind: str, labels: list[str], value: Any) -> Any:
    """The value in its stored form, or a LabelingError saying what the kind takes."""
    if kind == "classification":
        if not isinstance(value, str) or value not in labels:
            raise LabelingError(f"value {_shown(value)}: a classification label is one of {labels}")
        return value
    if kind == "multilabel":
        if isinstance(value, str):
            value = [v.strip() for v in value.split(",") if v.strip()]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise LabelingError(f"value {_shown(value)}: a multilabel value is a list of {labels}")
        unknown = [v for v in value if v not in labels]
        if unknown:
            raise LabelingError(
                f"value {_shown(value)}: {_shown(unknown)} not among the labels {labels}"
            )
        return [label for label in labels if label in value]  # the labels' order, once each
    if kind == "rating":
        if isinstance(value, str) and value.strip().isdigit():
            value = int(value.strip())
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 5:
            raise LabelingError(f"value {_shown(value)}: a rating is a whole number from 1 to 5")
        return value
    if kind == "correction":
        if not isinstance(value, str) or not value.strip():
            raise LabelingError("value is empty: a correction is the corrected text")
        if len(value) > MAX_CORRECTION_CHARS:
            raise LabelingError(
                f"value is {len(value)} characters long: a correction takes at most "
                f"{MAX_CORRECTION_CHARS}; shorten it"
            )
        if "\x00" in value:
            raise LabelingError("value contains a NUL character: remove it from the correction")
        return value
    if kind == "preference":
        if not isinstance(value, str) or value.strip().upper() not in ("A", "B"):
            raise LabelingError(f"value {_shown(value)}: a preference is 'A' or 'B'")
        return value.strip().upper()
    raise LabelingError(f"kind {kind!r} is not known")


def _key(value: Any) -> str:
    """Equal labels have equal keys (JSON with sorted keys and lists as given)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def suggestion_use(suggestion: Any, value: Any) -> str:
    if suggestion is None:
        return "none"
    return "accepted" if _key(suggestion) == _key(value) else "overrode"


def _item(s: Any, proj: LabelProject, item_id: int) -> LabelItem:
    item = s.get(LabelItem, item_id)
    if item is None or item.project_id != proj.id:
        raise LabelingError(
            f"item {item_id} is not in project {proj.name!r}; take one with `mint label next`"
        )
    return item


def annotation_row(
    s: Session, item_id: int, annotator: str, now: datetime
) -> tuple[Annotation, bool]:
    """The annotator's annotation of the item, added if it has none yet, and whether it had
    one (the new value replaces a label, not adds one)."""
    row = s.scalar(
        select(Annotation).where(Annotation.item_id == item_id, Annotation.annotator == annotator)
    )
    if row is not None:
        return row, True
    row = Annotation(item_id=item_id, annotator=annotator, created_at=now)
    s.add(row)
    return row, False


def final_labels(store: Store, project: str) -> FinalLabels:
    with store.session() as s:
        proj = project_row(s, project)
        values: dict[int, list[Any]] = {
            i: [] for i in s.scalars(select(LabelItem.id).where(LabelItem.project_id == proj.id))
        }
        rows = s.execute(
            select(Annotation.item_id, Annotation.annotator, Annotation.value)
            .join(LabelItem, LabelItem.id == Annotation.item_id)
            .where(LabelItem.project_id == proj.id)
            .order_by(Annotation.updated_at, Annotation.id)
        )
        reviewed: dict[int, Any] = {}
        for item_id, annotator, value in rows:
            if is_review(annotator):
                reviewed[item_id] = value  # the latest decision wins
            elif value is not None:  # None: an imported annotation without a label
                values[item_id].append(value)
        overlap = proj.overlap
    labels: dict[int, Any] = {}
    ties: list[int] = []
    unfinished: list[int] = []
    for item_id in sorted(values):
        given = values[item_id]
        if item_id in reviewed:
            labels[item_id] = reviewed[item_id]
            continue
        if len(given) < overlap:
            unfinished.append(item_id)
            continue
        counts = Counter(_key(v) for v in given).most_common()
        if len(counts) > 1 and counts[0][1] == counts[1][1]:
            ties.append(item_id)
            continue
        labels[item_id] = json.loads(counts[0][0])
    return FinalLabels(labels, ties, unfinished, sorted(reviewed))


class Annotations:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def submit(
        self,
        project: str,
        item_id: int,
        annotator: str,
        value: Any,
        seconds: float | None = None,
    ) -> AnnotationInfo:
        """Records (or replaces) this annotator's label for the item. An item already
        given to ``overlap`` other annotators takes no label from a new one."""
        annotator = check_annotator_name(annotator)
        if seconds is not None and seconds < 0:
            raise LabelingError(f"seconds {seconds} is negative: give the time spent, or none")
        now = self.clock()
        with self.store.write_session() as s:
            proj = lock_project(s, project)
            item = _item(s, proj, item_id)
            value = check_value(proj.kind, list(proj.labels), value)
            use = suggestion_use(item.suggestion, value)
            assigned = s.scalar(
                select(
                    exists().where(
                        LabelAssignment.item_id == item.id, LabelAssignment.annotator == annotator
                    )
                )
            )
            if not assigned:
                if (s.scalar(select(assigned_count(item.id))) or 0) >= proj.overlap:
                    raise LabelingError(
                        f"item {item.id} already has {proj.overlap} annotator(s) (overlap "
                        f"{proj.overlap}); take another with `mint label next`"
                    )
                s.add(LabelAssignment(item_id=item.id, annotator=annotator, assigned_at=now))
            row, replaced = annotation_row(s, item.id, annotator, now)
            row.value, row.suggestion_use, row.seconds, row.updated_at = value, use, seconds, now
            s.flush()
            return AnnotationInfo(row.id, item.id, annotator, value, use, seconds, replaced)

    def set_suggestion(
        self, item_id: int, value: Any, confidence: float | None, source: str
    ) -> None:
        """Stores a suggester's proposal for an item (checked like a label)."""
        if confidence is not None and not 0.0 <= confidence <= 1.0:
            raise LabelingError(f"confidence {confidence} is outside 0..1")
        with self.store.session() as s:
            item = s.get(LabelItem, item_id)
            if item is None:
                raise LabelingError(f"no label item {item_id}")
            proj = s.get_one(LabelProject, item.project_id)
            item.suggestion = check_value(proj.kind, list(proj.labels), value)
            item.confidence = confidence
            item.suggestion_source = source

    def for_item(self, item_id: int) -> list[AnnotationInfo]:
        with self.store.session() as s:
            rows = s.scalars(
                select(Annotation).where(Annotation.item_id == item_id).order_by(Annotation.id)
            )
            return [
                AnnotationInfo(
                    r.id, r.item_id, r.annotator, r.value, r.suggestion_use, r.seconds, False
                )
                for r in rows
            ]

    def suggestion_report(self, project: str) -> SuggestionReport:
        final = final_labels(self.store, project)
        with self.store.session() as s:
            proj = project_row(s, project)
            uses = list(
                s.scalars(
                    select(Annotation.suggestion_use)
                    .join(LabelItem, LabelItem.id == Annotation.item_id)
                    .where(LabelItem.project_id == proj.id)
                )
            )
            rows = s.execute(
                select(LabelItem.id, LabelItem.suggestion).where(
                    LabelItem.project_id == proj.id, LabelItem.suggestion_source.is_not(None)
                )
            )
            suggested: dict[int, Any] = {item_id: value for item_id, value in rows}
        accepted, overrode = uses.count("accepted"), uses.count("overrode")
        shown = accepted + overrode
        checked = [i for i in final.labels if suggested.get(i) is not None]
        correct = sum(_key(suggested[i]) == _key(final.labels[i]) for i in checked)
        return SuggestionReport(
            shown=shown,
            accepted=accepted,
            overrode=overrode,
            accepted_share=accepted / shown if shown else None,
            overridden_share=overrode / shown if shown else None,
            checked=len(checked),
            correct=correct,
            accuracy=correct / len(checked) if checked else None,
        )
