"""``/admin/v1/datasets`` and ``/admin/v1/runs`` (platform only): dataset versions with
their curation reports, and runs with their progress. A running run's page polls
``GET /admin/v1/runs/{id}?after_step=N`` for the metric points logged since step N.

Training logs each step's metrics to ``run_metrics`` with the time it was logged, not its
tokens/s or ETA (those go to the CLI's progress bar), so both are estimated here from the
logged steps' times: tokens/s only for recipes whose every step has a known size (packed
blocks: batch × accumulation × block size, on one process), ETA only when the run's length
is known (``max_steps``, or its epochs and the logged ``epoch``)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from modelmint.commerce.scope import Scope
from modelmint.config.clock import utc
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, require_platform
from modelmint.gateway.admin.fields import MAX_LIMIT, IdPath, NamePath
from modelmint.gateway.admin.model_views import ADMIN, CurvePoint, dataset_label, thin
from modelmint.gateway.admin.models import REPORT_HEADERS
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.errors import APIError
from modelmint.store import Dataset, ModelVersion, Run, RunMetric

router = APIRouter(prefix="/admin/v1", tags=["admin: data and training"], responses=ERRORS)

REPORTS = {
    "report": ("report.html", "text/html"),
    "report.json": ("report.json", "application/json"),
}


class DatasetVersion(BaseModel):
    id: int
    name: str
    version: int
    label: str
    num_records: int
    splits: dict[str, int] = Field(description="Records per split")
    source: str
    content_hash: str
    created_at: datetime
    report_html: str | None = Field(description="URL of the curation report, if stored")
    report_json: str | None


class DatasetSummary(BaseModel):
    name: str
    versions: list[DatasetVersion]


class DatasetList(BaseModel):
    data: list[DatasetSummary]


def _count(value: Any) -> int:
    if isinstance(value, int):
        return value
    if isinstance(value, dict):  # {split: {language: n}} style
        return sum(v for v in value.values() if isinstance(v, int))
    return 0


def _dataset_version(d: Dataset) -> DatasetVersion:
    base = f"{ADMIN}/datasets/{d.name}/{d.version}"
    path = Path(d.path)
    return DatasetVersion(
        id=d.id,
        name=d.name,
        version=d.version,
        label=f"{d.name}:{d.version}",
        num_records=d.num_records,
        splits={k: _count(v) for k, v in (d.splits or {}).items()},
        source=d.source or "",
        content_hash=d.content_hash,
        created_at=utc(d.created_at),
        report_html=f"{base}/report" if (path / "report.html").is_file() else None,
        report_json=f"{base}/report.json" if (path / "report.json").is_file() else None,
    )


def _datasets(svc: AdminServices) -> list[DatasetSummary]:
    with svc.store.session() as s:
        rows = list(s.scalars(select(Dataset).order_by(Dataset.name, Dataset.version)))
    grouped: dict[str, list[DatasetVersion]] = {}
    for d in rows:
        grouped.setdefault(d.name, []).append(_dataset_version(d))
    return [DatasetSummary(name=n, versions=v) for n, v in grouped.items()]


@router.get("/datasets", response_model=DatasetList, summary="Dataset versions")
async def list_datasets(
    scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> DatasetList:
    require_platform(scope, "datasets")
    return DatasetList(data=await run_in_threadpool(_datasets, svc))


def _report(svc: AdminServices, name: str, version: int, which: str) -> FileResponse:
    file, media = REPORTS[which]
    with svc.store.session() as s:
        d = s.scalar(select(Dataset).where(Dataset.name == name, Dataset.version == version))
    path = Path(d.path) / file if d else None
    if path is None or not path.is_file():
        raise APIError(404, f"no {file} for dataset {name}:{version}", code="not_found")
    return FileResponse(path, media_type=f"{media}; charset=utf-8", headers=REPORT_HEADERS)


@router.get(
    "/datasets/{name}/{version}/report",
    response_class=FileResponse,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
    summary="The dataset version's curation report (HTML)",
)
async def dataset_report(
    name: NamePath,
    version: IdPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> FileResponse:
    require_platform(scope, f"dataset {name}")
    return await run_in_threadpool(_report, svc, name, version, "report")


@router.get(
    "/datasets/{name}/{version}/report.json",
    response_class=FileResponse,
    responses={200: {"content": {"application/json": {"schema": {"type": "object"}}}}},
    summary="The dataset version's curation report (numbers)",
)
async def dataset_report_json(
    name: NamePath,
    version: IdPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> FileResponse:
    require_platform(scope, f"dataset {name}")
    return await run_in_threadpool(_report, svc, name, version, "report.json")


# -- runs ------------------------------------------------------------------------------------
class RunSummary(BaseModel):
    id: int
    kind: str
    status: str
    dataset: str | None
    model: str | None = Field(description="NAME:VERSION it made")
    step: int | None = Field(description="The last logged step")
    loss: float | None = Field(description="The last logged training loss")
    started_at: datetime
    finished_at: datetime | None
    error: str | None


class RunList(BaseModel):
    data: list[RunSummary]


class RunDetail(RunSummary):
    config: dict[str, Any] = Field(description="The recipe and base it ran with")
    metrics: dict[str, Any] = Field(description="Final metrics (set when it finished)")
    max_steps: int | None
    steps_per_s: float | None
    tokens_per_s: float | None = Field(description="Estimated; null when a step's size varies")
    eta_s: float | None
    points: dict[str, list[CurvePoint]] = Field(description="Metric -> points after after_step")


def _made(s: Session, run_ids: list[int]) -> dict[int, str]:
    rows = s.execute(
        select(ModelVersion.run_id, ModelVersion.name, ModelVersion.version).where(
            ModelVersion.run_id.in_(run_ids)
        )
    )
    return {rid: f"{n}:{v}" for rid, n, v in rows if rid is not None}


def _last_steps(s: Session, run_ids: list[int]) -> dict[int, int]:
    rows = s.execute(
        select(RunMetric.run_id, func.max(RunMetric.step))
        .where(RunMetric.run_id.in_(run_ids))
        .group_by(RunMetric.run_id)
    )
    return {rid: int(step) for rid, step in rows if step is not None}


def _last_value(s: Session, run_id: int, name: str) -> float | None:
    return s.scalar(
        select(RunMetric.value)
        .where(RunMetric.run_id == run_id, RunMetric.name == name)
        .order_by(RunMetric.step.desc(), RunMetric.id.desc())
        .limit(1)
    )


def _summary(s: Session, r: Run, made: dict[int, str], steps: dict[int, int]) -> dict[str, Any]:
    ds = s.get(Dataset, r.dataset_id) if r.dataset_id else None
    return {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "dataset": dataset_label(ds),
        "model": made.get(r.id),
        "step": steps.get(r.id),
        "loss": _last_value(s, r.id, "loss"),
        "started_at": utc(r.started_at),
        "finished_at": utc(r.finished_at) if r.finished_at else None,
        "error": r.error,
    }


def _runs(svc: AdminServices, limit: int, status: str | None) -> list[RunSummary]:
    with svc.store.session() as s:
        q = select(Run).order_by(Run.id.desc()).limit(limit)
        if status:
            q = q.where(Run.status == status)
        rows = list(s.scalars(q))
        ids = [r.id for r in rows]
        made, steps = _made(s, ids), _last_steps(s, ids)
        return [RunSummary(**_summary(s, r, made, steps)) for r in rows]


@router.get("/runs", response_model=RunList, summary="Runs, newest first")
async def list_runs(
    limit: int = Query(50, ge=1, le=1000),
    status: str | None = Query(None, pattern=r"^(running|succeeded|failed)$"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> RunList:
    require_platform(scope, "runs")
    return RunList(data=await run_in_threadpool(_runs, svc, limit, status))


def _pace(
    s: Session, r: Run, last_step: int | None
) -> tuple[int | None, float | None, float | None, float | None]:
    """(max_steps, steps/s, tokens/s, ETA s) from the recipe and the logged steps' times."""
    recipe = (r.config or {}).get("recipe") or {}
    training = recipe.get("training") or {}
    max_steps = training.get("max_steps")
    first = s.execute(
        select(RunMetric.step, RunMetric.logged_at)
        .where(RunMetric.run_id == r.id)
        .order_by(RunMetric.step, RunMetric.id)
        .limit(1)
    ).first()
    last = s.execute(
        select(RunMetric.step, RunMetric.logged_at)
        .where(RunMetric.run_id == r.id)
        .order_by(RunMetric.step.desc(), RunMetric.id.desc())
        .limit(1)
    ).first()
    epoch = _last_value(s, r.id, "epoch")
    if max_steps is None and epoch and last_step and training.get("epochs"):
        max_steps = round(last_step * float(training["epochs"]) / epoch)
    rate = None
    if first and last and last[0] > first[0]:
        seconds = (utc(last[1]) - utc(first[1])).total_seconds()
        rate = (last[0] - first[0]) / seconds if seconds > 0 else None
    tokens = None
    if rate and recipe.get("block_size"):
        per_step = (
            int(training.get("batch_size", 0))
            * int(training.get("grad_accum", 1))
            * int(recipe["block_size"])
        )
        tokens = rate * per_step or None
    eta = None
    if r.status == "running" and rate and max_steps and last_step is not None:
        eta = max(0.0, (int(max_steps) - last_step) / rate)
    return (int(max_steps) if max_steps else None), rate, tokens, eta


def _points(s: Session, run_id: int, after_step: int) -> dict[str, list[CurvePoint]]:
    rows = s.execute(
        select(RunMetric.name, RunMetric.step, RunMetric.value)
        .where(RunMetric.run_id == run_id, RunMetric.step > after_step)
        .order_by(RunMetric.id)
    )
    found: dict[str, dict[int, float]] = {}
    for name, step, value in rows:
        found.setdefault(name, {})[step] = value  # a step logged again: the latest wins
    return {name: thin(sorted(points.items())) for name, points in sorted(found.items())}


def _run(svc: AdminServices, run_id: int, after_step: int) -> RunDetail:
    with svc.store.session() as s:
        r = s.get(Run, run_id)
        if r is None:
            raise APIError(404, f"no run {run_id}", code="not_found")
        made, steps = _made(s, [run_id]), _last_steps(s, [run_id])
        max_steps, rate, tokens, eta = _pace(s, r, steps.get(run_id))
        return RunDetail(
            **_summary(s, r, made, steps),
            config=dict(r.config or {}),
            metrics=dict(r.metrics or {}),
            max_steps=max_steps,
            steps_per_s=rate,
            tokens_per_s=tokens,
            eta_s=eta,
            points=_points(s, run_id, after_step),
        )


@router.get("/runs/{run_id}", response_model=RunDetail, summary="One run and its progress")
async def get_run(
    run_id: IdPath,
    after_step: int = Query(
        -1, ge=-1, le=MAX_LIMIT, description="Only metric points after this step (polling)"
    ),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> RunDetail:
    require_platform(scope, "runs")
    return await run_in_threadpool(_run, svc, run_id, after_step)
