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
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from modelmint.catalog import CatalogError, DatasetRef, RunProgress, RunTimeline
from modelmint.commerce import Scope
from modelmint.config.clock import utc
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, require_platform
from modelmint.gateway.admin.fields import MAX_LIMIT, IdPath, NamePath
from modelmint.gateway.admin.model_views import ADMIN, CurvePoint, thin
from modelmint.gateway.admin.models import report_file
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.errors import APIError

router = APIRouter(prefix="/admin/v1", tags=["admin: data and training"], responses=ERRORS)

# the last segment of a report's URL -> the file stored with the dataset version, its type
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


def _dataset_version(d: DatasetRef) -> DatasetVersion:
    base = f"{ADMIN}/datasets/{d.name}/{d.version}"
    path = d.path
    return DatasetVersion(
        id=d.id,
        name=d.name,
        version=d.version,
        label=f"{d.name}:{d.version}",
        num_records=d.num_records,
        splits={k: _count(v) for k, v in (d.splits or {}).items()},
        source=d.source,
        content_hash=d.content_hash,
        created_at=d.created_at,
        report_html=f"{base}/report" if (path / "report.html").is_file() else None,
        report_json=f"{base}/report.json" if (path / "report.json").is_file() else None,
    )


def _datasets(svc: AdminServices) -> list[DatasetSummary]:
    grouped: dict[str, list[DatasetVersion]] = {}
    for d in svc.catalog.list_datasets():
        grouped.setdefault(d.name, []).append(_dataset_version(d))
    return [DatasetSummary(name=n, versions=v) for n, v in grouped.items()]


@router.get("/datasets", response_model=DatasetList, summary="Dataset versions")
async def list_datasets(
    scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> DatasetList:
    require_platform(scope, "datasets")
    return DatasetList(data=await run_in_threadpool(_datasets, svc))


def _report(svc: AdminServices, name: str, version: int, which: str) -> FileResponse:
    file, media = REPORTS.get(which, (which, ""))
    missing = APIError(404, f"no {file} for dataset {name}:{version}", code="not_found")
    if which not in REPORTS:
        raise missing
    try:
        path = svc.catalog.get_dataset(name, version).path / file
    except CatalogError:
        raise missing from None
    if not path.is_file():
        raise missing
    return report_file(path, media)


@router.get(
    "/datasets/{name}/{version}/{which}",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            }
        }
    },
    summary="The dataset version's curation report: report (HTML) or report.json (numbers)",
)
async def dataset_report(
    name: NamePath,
    version: IdPath,
    which: Annotated[str, PathParam(description="`report` (HTML) or `report.json`")],
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> FileResponse:
    require_platform(scope, f"dataset {name}")
    return await run_in_threadpool(_report, svc, name, version, which)


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


def _summary(p: RunProgress) -> dict[str, Any]:
    r = p.run
    return {
        "id": r.id,
        "kind": r.kind,
        "status": r.status,
        "dataset": p.dataset,
        "model": p.model,
        "step": p.last_step,
        "loss": p.loss,
        "started_at": utc(r.started_at),
        "finished_at": utc(r.finished_at) if r.finished_at else None,
        "error": r.error,
    }


def _runs(svc: AdminServices, limit: int, status: str | None) -> list[RunSummary]:
    return [RunSummary(**_summary(p)) for p in svc.catalog.queries.runs(limit, status)]


@router.get("/runs", response_model=RunList, summary="Runs, newest first")
async def list_runs(
    limit: int = Query(50, ge=1, le=1000),
    status: str | None = Query(None, pattern=r"^(running|succeeded|failed)$"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> RunList:
    require_platform(scope, "runs")
    return RunList(data=await run_in_threadpool(_runs, svc, limit, status))


def _pace(t: RunTimeline) -> tuple[int | None, float | None, float | None, float | None]:
    """(max_steps, steps/s, tokens/s, ETA s) from the recipe and the logged steps' times."""
    r, last_step, first, last = t.progress.run, t.progress.last_step, t.first, t.last
    recipe = (r.config or {}).get("recipe") or {}
    training = recipe.get("training") or {}
    max_steps = training.get("max_steps")
    epoch = t.epoch
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


def _run(svc: AdminServices, run_id: int, after_step: int) -> RunDetail:
    try:
        t = svc.catalog.queries.run_timeline(run_id, after_step)
    except CatalogError:
        raise APIError(404, f"no run {run_id}", code="not_found") from None
    max_steps, rate, tokens, eta = _pace(t)
    return RunDetail(
        **_summary(t.progress),
        config=dict(t.progress.run.config),
        metrics=dict(t.progress.run.metrics),
        max_steps=max_steps,
        steps_per_s=rate,
        tokens_per_s=tokens,
        eta_s=eta,
        points={name: thin(points) for name, points in sorted(t.points.items())},
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
