"""``/admin/v1/labeling`` (platform only): the label projects with their progress, how
well the model suggestions do, agreement and the items waiting for review; and the API
users' feedback queue counted by status and model. Annotators work at ``/label``."""

from __future__ import annotations

import math

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field
from sqlalchemy import func, select

from modelmint.commerce import Scope
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, require_platform
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.labeling import Annotations, LabelProjects
from modelmint.labeling.feedback import STATUSES
from modelmint.labeling.review import Review
from modelmint.store import Feedback

router = APIRouter(prefix="/admin/v1/labeling", tags=["admin: labeling"], responses=ERRORS)

LABEL_PAGE = "/label"


class Suggestions(BaseModel):
    shown: int = Field(description="Labels given with a suggestion on screen")
    accepted: int
    overrode: int
    accepted_share: float | None
    checked: int = Field(description="Finished items that had a suggestion")
    accuracy: float | None = Field(description="Share of those whose final label equals it")


class ProjectSummary(BaseModel):
    name: str
    kind: str
    dataset: str | None
    split: str | None
    labels: list[str]
    overlap: int
    items: int
    finished: int = Field(description="Items with `overlap` labels")
    annotations: int
    per_annotator: dict[str, int]
    suggestions: Suggestions
    agreement_alpha: float | None = Field(description="Krippendorff's alpha; null: too few")
    to_review: int = Field(description="Items whose labels disagree or tie")


class FeedbackByModel(BaseModel):
    model: str
    counts: dict[str, int] = Field(description="status -> count")


class FeedbackQueue(BaseModel):
    counts: dict[str, int] = Field(description="status -> count (new, accepted, rejected)")
    by_model: list[FeedbackByModel]


class LabelingOverview(BaseModel):
    label_page: str = Field(description="Where annotators label")
    projects: list[ProjectSummary]
    feedback: FeedbackQueue


def _finite(x: float | None) -> float | None:
    return x if x is not None and math.isfinite(x) else None


def _projects(svc: AdminServices) -> list[ProjectSummary]:
    projects = LabelProjects(svc.store, svc.catalog, svc.clock)
    annotations, review = Annotations(svc.store, svc.clock), Review(svc.store, svc.clock)
    out = []
    for p in projects.list():
        progress = projects.progress(p.name)
        sug = annotations.suggestion_report(p.name)
        out.append(
            ProjectSummary(
                name=p.name,
                kind=p.kind,
                dataset=p.dataset,
                split=p.split,
                labels=p.labels,
                overlap=p.overlap,
                items=progress.items,
                finished=progress.finished,
                annotations=progress.labels,
                per_annotator=progress.per_annotator,
                suggestions=Suggestions(
                    shown=sug.shown,
                    accepted=sug.accepted,
                    overrode=sug.overrode,
                    accepted_share=_finite(sug.accepted_share),
                    checked=sug.checked,
                    accuracy=_finite(sug.accuracy),
                ),
                agreement_alpha=_finite(review.agreement(p.name).alpha),
                to_review=len(review.queue(p.name)),
            )
        )
    return out


def _feedback(svc: AdminServices) -> FeedbackQueue:
    with svc.store.session() as s:
        rows = s.execute(
            select(Feedback.model_version_id, Feedback.status, func.count()).group_by(
                Feedback.model_version_id, Feedback.status
            )
        ).all()
    models = svc.catalog.queries.model_labels({mid for mid, _, _ in rows})
    counts = dict.fromkeys(STATUSES, 0)
    by_model: dict[str, dict[str, int]] = {}
    for mid, status, n in sorted(rows, key=lambda r: models[r[0]]):  # by name, version
        name, version = models[mid]
        counts[status] = counts.get(status, 0) + n
        by_model.setdefault(f"{name}:{version}", dict.fromkeys(STATUSES, 0))[status] = n
    return FeedbackQueue(
        counts=counts, by_model=[FeedbackByModel(model=m, counts=c) for m, c in by_model.items()]
    )


def _overview(svc: AdminServices) -> LabelingOverview:
    return LabelingOverview(label_page=LABEL_PAGE, projects=_projects(svc), feedback=_feedback(svc))


@router.get("", response_model=LabelingOverview, summary="Label projects and feedback queues")
async def labeling_overview(
    scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> LabelingOverview:
    require_platform(scope, "labeling")
    return await run_in_threadpool(_overview, svc)
