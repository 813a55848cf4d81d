"""Checking the labels: gold items (known answers that measure annotators), agreement over
a project's annotations, and the review queue of items whose labels disagree or tie.

A reviewer resolves an item by giving its final label; it is stored as an annotation by
``review:<reviewer>`` (see ``labeling.names``), which ``final_labels`` and so
``export_labels`` take over any majority or tie. Agreement leaves reviewers out: they are
not a second opinion but the decision."""

from __future__ import annotations

import json
from collections.abc import Hashable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import select

from modelmint.catalog import Catalog
from modelmint.config.clock import Clock, utc_now
from modelmint.labeling.agreement import (
    AgreementReport,
    Disagreement,
    agreement_report,
    disagreements,
)
from modelmint.labeling.annotations import annotation_row, check_value, final_labels
from modelmint.labeling.names import REVIEW_PREFIX, is_review
from modelmint.labeling.projects import LabelingError, LabelProjects, project_row, record_value
from modelmint.store import Annotation, LabelItem, Store


@dataclass(frozen=True)
class GoldResult:
    marked: int
    skipped: int  # items the file or column had no answer for
    cleared: int = 0


@dataclass(frozen=True)
class ReviewItem:
    """An item to decide: its labels ``counts`` (label, how many; most common first),
    ``tie`` when the top labels are equally common."""

    item_id: int
    position: int
    external_id: str | None
    content: dict[str, Any]
    counts: list[tuple[Any, int]]
    majority_share: float
    tie: bool
    labels: dict[str, Any] = field(default_factory=dict)  # annotator -> label


@dataclass(frozen=True)
class Resolution:
    item_id: int
    reviewer: str
    value: Any
    replaced: bool  # the item had a reviewer's label already


def _items(s: Any, project_id: int) -> list[LabelItem]:
    return list(
        s.scalars(
            select(LabelItem).where(LabelItem.project_id == project_id).order_by(LabelItem.position)
        )
    )


class Review:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    # -- gold -----------------------------------------------------------------------------
    def mark_gold(self, project: str, answers: dict[int, Any]) -> GoldResult:
        """Sets ``{item id: gold answer}`` (None clears an item's gold)."""
        with self.store.session() as s:
            proj = project_row(s, project)
            items = {i.id: i for i in _items(s, proj.id)}
            marked = cleared = 0
            for item_id, value in answers.items():
                if item_id not in items:
                    raise LabelingError(f"item {item_id} is not in project {project!r}")
                if value is None:
                    items[item_id].gold, cleared = None, cleared + 1
                    continue
                items[item_id].gold = check_value(proj.kind, list(proj.labels), value)
                marked += 1
            return GoldResult(marked, 0, cleared)

    def gold_from_file(self, project: str, path: Path) -> GoldResult:
        """Reads JSON lines ``{"position": N | "external_id": ID | "item": ID, "gold": V}``;
        a bad line is an error naming the file and line, and nothing is marked."""
        if not path.is_file():
            raise LabelingError(f"--file {path}: no such file")
        with self.store.session() as s:
            proj = project_row(s, project)
            items = _items(s, proj.id)
        by_position = {i.position: i.id for i in items}
        by_external = {i.external_id: i.id for i in items if i.external_id is not None}
        ids = {i.id for i in items}
        answers: dict[int, Any] = {}
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                row = json.loads(line)
            except json.JSONDecodeError as e:
                raise LabelingError(f"{where}: not JSON ({e.msg}); one object per line") from e
            if not isinstance(row, dict) or "gold" not in row:
                raise LabelingError(
                    f'{where}: give an object with "gold" and "position", "external_id" or "item"'
                )
            if "position" in row:
                item_id = by_position.get(row["position"])
                what = f"position {row['position']!r}"
            elif "external_id" in row:
                item_id = by_external.get(str(row["external_id"]))
                what = f"external_id {row['external_id']!r}"
            elif "item" in row:
                item_id = row["item"] if row["item"] in ids else None
                what = f"item {row['item']!r}"
            else:
                raise LabelingError(f'{where}: say which item: "position", "external_id" or "item"')
            if item_id is None:
                raise LabelingError(f"{where}: project {project!r} has no item with {what}")
            try:
                answers[item_id] = (
                    None
                    if row["gold"] is None
                    else check_value(proj.kind, proj.labels, row["gold"])
                )
            except LabelingError as e:
                raise LabelingError(f"{where}: gold {e}") from None
        if not answers:
            raise LabelingError(f"--file {path}: no gold answers in it")
        return self.mark_gold(project, answers)

    def gold_from_column(self, project: str, catalog: Catalog, column: str) -> GoldResult:
        """Copies a column of the project's dataset (``labels.KEY`` for a label) as the gold
        answer of each item; records without a value are skipped."""
        projects = LabelProjects(self.store, catalog)
        info = projects.get(project)
        ref = projects.dataset(info)
        if ref is None or info.split is None:
            raise LabelingError(
                f"project {project!r} was imported, not made from a dataset; use --file"
            )
        records = ref.read_split(info.split)
        with self.store.session() as s:
            items = _items(s, info.id)
        if records and column not in records[0] and not column.startswith("labels."):
            raise LabelingError(
                f"--column {column}: dataset {ref.label} has no column {column!r}; use a "
                "record column or labels.KEY"
            )
        answers: dict[int, Any] = {}
        skipped = 0
        for item in items:
            value = record_value(records[item.position], column)
            if value is None or value == "":
                skipped += 1
                continue
            try:
                answers[item.id] = check_value(info.kind, info.labels, value)
            except LabelingError as e:
                raise LabelingError(
                    f"--column {column}: record {item.position} of {ref.label} {info.split}: {e}"
                ) from None
        if not answers:
            raise LabelingError(f"--column {column}: no record of {ref.label} has a value in it")
        done = self.mark_gold(project, answers)
        return GoldResult(done.marked, skipped)

    def gold(self, project: str) -> dict[int, Any]:
        with self.store.session() as s:
            proj = project_row(s, project)
            return {i.id: i.gold for i in _items(s, proj.id) if i.gold is not None}

    # -- agreement ------------------------------------------------------------------------
    def rows(self, project: str) -> list[tuple[int, str, Any]]:
        """``(item id, annotator, value)`` of every annotator's label (reviewers left out)."""
        with self.store.session() as s:
            proj = project_row(s, project)
            found = s.execute(
                select(Annotation.item_id, Annotation.annotator, Annotation.value)
                .join(LabelItem, LabelItem.id == Annotation.item_id)
                .where(LabelItem.project_id == proj.id)
                .order_by(LabelItem.position, Annotation.id)
            )
            return [(i, a, v) for i, a, v in found if not is_review(a)]

    def agreement(self, project: str, threshold: float = 1.0) -> AgreementReport:
        with self.store.session() as s:
            kind = project_row(s, project).kind
        gold: dict[Hashable, Any] = {k: v for k, v in self.gold(project).items()}
        return agreement_report(kind, self.rows(project), gold, threshold)

    # -- the review queue -----------------------------------------------------------------
    def queue(self, project: str, threshold: float = 1.0) -> list[ReviewItem]:
        """Items whose labels disagree (top label's share below ``threshold``) and items
        tied for the final label, most disputed first; resolved items are left out."""
        final = final_labels(self.store, project)
        by_item: dict[int, dict[str, Any]] = {}
        for item_id, annotator, value in self.rows(project):
            if value is not None:
                by_item.setdefault(item_id, {})[annotator] = value
        found: dict[Hashable, Disagreement] = {
            d.item: d
            for d in disagreements({i: list(v.values()) for i, v in by_item.items()}, threshold)
        }
        wanted = [i for i in found if isinstance(i, int) and i not in final.reviewed]
        wanted += [i for i in final.ties if i not in found and i not in final.reviewed]
        with self.store.session() as s:
            proj = project_row(s, project)
            items = {i.id: i for i in _items(s, proj.id)}
            out: list[ReviewItem] = []
            for item_id in wanted:
                item = items[item_id]
                d = found.get(item_id)
                if d is None:  # a tie that the threshold let through: count it here
                    d = disagreements({item_id: list(by_item[item_id].values())}, 1.0)[0]
                counts = list(d.counts)
                tie = len(counts) > 1 and counts[0][1] == counts[1][1]
                out.append(
                    ReviewItem(
                        item.id,
                        item.position,
                        item.external_id,
                        dict(item.content),
                        counts,
                        d.majority_share,
                        tie,
                        dict(by_item[item_id]),
                    )
                )
        out.sort(key=lambda r: (r.majority_share, r.position))
        return out

    def resolve(self, project: str, item_id: int, reviewer: str, value: Any) -> Resolution:
        """Gives the item its final label (checked like any label); a second resolution by
        the same reviewer replaces the first, and the latest resolution wins."""
        reviewer = reviewer.strip()
        if not reviewer:
            raise LabelingError("reviewer is empty: give who reviews (--reviewer NAME)")
        name = reviewer if is_review(reviewer) else f"{REVIEW_PREFIX}{reviewer}"
        now = self.clock()
        with self.store.session() as s:
            proj = project_row(s, project)
            item = s.get(LabelItem, item_id)
            if item is None or item.project_id != proj.id:
                raise LabelingError(
                    f"item {item_id} is not in project {project!r}; see `mint label review`"
                )
            value = check_value(proj.kind, list(proj.labels), value)
            row, replaced = annotation_row(s, item.id, name, now)
            row.value, row.updated_at = value, now
            row.suggestion_use = "none"  # a decision, not a label shown a suggestion
            return Resolution(item.id, name, value, replaced)


__all__ = ["GoldResult", "Resolution", "Review", "ReviewItem"]
