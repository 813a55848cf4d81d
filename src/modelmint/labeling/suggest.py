"""Model-assisted labeling, the part every suggester shares: which items get a suggestion
(the unfinished ones), writing them in batches through ``Annotations.set_suggestion``,
remembering the suggester's settings on the project (so ``--refresh`` re-runs it), and a
``SuggestResult`` with counts and how confident the suggestions were.

A suggester (``suggest_classifier``, ``suggest_neighbours``, ``suggest_zero_shot``) is
prepared once over all the project's items, then asked for batches of unfinished items;
it answers a ``Proposal`` per item (``value`` None: no suggestion for that item)."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select

from modelmint.labeling.annotations import Annotations, final_labels
from modelmint.labeling.projects import LabelingError, ProjectInfo, project_row
from modelmint.observability import ProgressEvent, ProgressFn, no_progress
from modelmint.store import LabelItem, LabelProject, Store

HISTOGRAM_BINS = 10  # confidence 0-0.1, 0.1-0.2, ... 0.9-1.0
SOURCE_WIDTH = 50  # LabelItem.suggestion_source is String(50)


class SuggestError(LabelingError):
    """A suggester cannot run: the message names what is wrong and what to do."""


@dataclass(frozen=True)
class SuggestItem:
    """One item as a suggester sees it: its content, the text made from it, and what is
    known of its label (gold, or the final label once finished)."""

    id: int
    position: int
    content: dict[str, Any]
    text: str
    gold: Any | None
    final: Any | None  # the majority label of a finished item
    finished: bool


@dataclass(frozen=True)
class Proposal:
    item_id: int
    value: Any | None  # None: no suggestion (the model's answer could not be read)
    confidence: float | None
    answer: str | None = None  # what a served model said, kept for unparseable answers
    error: str | None = None  # why the model could not answer (e.g. the item is too long)


class Suggester(Protocol):
    source: str  # short name stored with each suggestion, e.g. "classifier:intent:3"
    batch_size: int

    def config(self) -> dict[str, Any]:
        """What to store on the project so a re-run builds the same suggester (no secrets)."""
        ...

    def prepare(self, project: ProjectInfo, items: Sequence[SuggestItem]) -> None:
        """Called once with every item of the project (e.g. to embed them all)."""
        ...

    def suggest(self, batch: Sequence[SuggestItem]) -> list[Proposal]: ...


@dataclass(frozen=True)
class SuggestResult:
    project: str
    source: str
    considered: int  # unfinished items asked about
    suggested: int  # ... that got a suggestion
    unparseable: int  # ... whose model answer could not be read as a label
    failed: int  # ... the model could not answer (too long for its context)
    cleared: int  # old suggestions removed because the new run had none for the item
    histogram: list[int]  # suggestions per confidence bin of width 1/HISTOGRAM_BINS
    no_confidence: int  # suggestions without a confidence (server gave no logprobs)
    mean_confidence: float | None
    by_value: dict[str, int]  # how often each suggested value came up
    seconds: float
    examples: list[str] = field(default_factory=list)  # a few unparseable answers, errors

    def histogram_rows(self) -> list[tuple[str, int]]:
        width = 1 / HISTOGRAM_BINS
        return [(f"{i * width:.1f}-{(i + 1) * width:.1f}", n) for i, n in enumerate(self.histogram)]


def item_text(content: dict[str, Any]) -> str:
    """What a model reads of an item: its fields' text, one per line (a dialogue as
    ``role: content`` lines); with several fields each line is led by the field name."""
    parts: list[str] = []
    for name, value in content.items():
        if value is None:
            continue
        if isinstance(value, list) and all(isinstance(m, dict) for m in value):
            text = "\n".join(f"{m.get('role', '')}: {m.get('content', '')}" for m in value)
        else:
            text = str(value)
        parts.append(text if len(content) == 1 else f"{name}: {text}")
    return "\n".join(parts)


def load_items(store: Store, project: str) -> list[SuggestItem]:
    final = final_labels(store, project)
    with store.session() as s:
        proj = project_row(s, project)
        rows = s.scalars(
            select(LabelItem).where(LabelItem.project_id == proj.id).order_by(LabelItem.position)
        ).all()
        return [
            SuggestItem(
                id=r.id,
                position=r.position,
                content=dict(r.content),
                text=item_text(dict(r.content)),
                gold=r.gold,
                final=final.labels.get(r.id),
                finished=r.id not in final.unfinished,
            )
            for r in rows
        ]


def save_config(store: Store, project: str, config: dict[str, Any]) -> None:
    with store.session() as s:
        project_row(s, project).suggester = dict(config)


def _clear(store: Store, item_ids: Sequence[int]) -> int:
    if not item_ids:
        return 0
    n = 0
    with store.session() as s:
        rows = s.scalars(select(LabelItem).where(LabelItem.id.in_(list(item_ids))))
        for row in rows:
            if row.suggestion_source is not None:
                row.suggestion, row.confidence, row.suggestion_source = None, None, None
                n += 1
    return n


def _bin(confidence: float) -> int:
    return min(HISTOGRAM_BINS - 1, int(confidence * HISTOGRAM_BINS))


def run_suggester(
    store: Store,
    project: ProjectInfo,
    suggester: Suggester,
    *,
    progress: ProgressFn = no_progress,
) -> SuggestResult:
    """Suggests a label for every unfinished item of the project (replacing an earlier
    suggestion; finished items keep theirs, it is what suggestion accuracy is measured
    on) and records the suggester's settings on the project."""
    if project.kind == "correction":
        raise SuggestError(
            f"project {project.name!r} is a correction project: suggesters propose labels, "
            "not corrected text; label it by hand"
        )
    start = time.perf_counter()
    items = load_items(store, project.name)
    suggester.prepare(project, items)
    save_config(store, project.name, suggester.config())
    todo = [i for i in items if not i.finished]
    notes = Annotations(store)
    source = suggester.source[:SOURCE_WIDTH]
    histogram = [0] * HISTOGRAM_BINS
    by_value: Counter[str] = Counter()
    suggested = unparseable = failed = no_confidence = 0
    confidences: list[float] = []
    examples: list[str] = []
    missing: list[int] = []
    progress(ProgressEvent("suggest", 0, len(todo)))
    for lo in range(0, len(todo), max(1, suggester.batch_size)):
        batch = todo[lo : lo + max(1, suggester.batch_size)]
        for p in suggester.suggest(batch):
            if p.value is None:
                missing.append(p.item_id)
                if p.error is not None:
                    failed += 1
                    if len(examples) < 5:
                        examples.append(f"item {p.item_id}: {p.error}")
                elif p.answer is not None:
                    unparseable += 1
                    if len(examples) < 5:
                        examples.append(p.answer)
                continue
            notes.set_suggestion(p.item_id, p.value, p.confidence, source)
            suggested += 1
            by_value[", ".join(p.value) if isinstance(p.value, list) else str(p.value)] += 1
            if p.confidence is None:
                no_confidence += 1
            else:
                histogram[_bin(p.confidence)] += 1
                confidences.append(p.confidence)
        progress(ProgressEvent("suggest", min(len(todo), lo + len(batch)), len(todo)))
    cleared = _clear(store, missing)
    return SuggestResult(
        project=project.name,
        source=source,
        considered=len(todo),
        suggested=suggested,
        unparseable=unparseable,
        failed=failed,
        cleared=cleared,
        histogram=histogram,
        no_confidence=no_confidence,
        mean_confidence=sum(confidences) / len(confidences) if confidences else None,
        by_value=dict(by_value.most_common()),
        seconds=time.perf_counter() - start,
        examples=examples,
    )


def stored_config(store: Store, project: str) -> dict[str, Any]:
    """The suggester settings of the project's last run ({} when none)."""
    with store.session() as s:
        row: LabelProject = project_row(s, project)
        return dict(row.suggester or {})


__all__ = [
    "HISTOGRAM_BINS",
    "Proposal",
    "SuggestError",
    "SuggestItem",
    "SuggestResult",
    "Suggester",
    "item_text",
    "load_items",
    "run_suggester",
    "stored_config",
]
