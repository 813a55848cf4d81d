"""``/admin/v1/models`` (platform only): model versions with their lineage, evaluations,
loss curves and aliases, and what this server serves. Promoting an alias and the live
canary split are in ``releases.py``."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Depends
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, require_platform
from modelmint.gateway.admin.fields import IdPath, NamePath
from modelmint.gateway.admin.model_views import (
    EVALUATION_FILES,
    AliasEvent,
    AliasState,
    EvaluationSummary,
    LineageNode,
    LossCurve,
    ServingState,
    VersionSummary,
    alias_event,
    alias_state,
    evaluation_summary,
    lineage,
    loss_curves,
    version_summary,
)
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.context import GatewayContext, get_context
from modelmint.gateway.errors import APIError

router = APIRouter(prefix="/admin/v1/models", tags=["admin: models"], responses=ERRORS)

# A stored report holds dataset text: shown with no script, no network and no framing.
REPORT_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; img-src data:; style-src 'unsafe-inline'; "
    "sandbox; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Cache-Control": "no-store",
}


def report_file(path: Path, media: str) -> FileResponse:
    """A stored report or evaluation file, answered as UTF-8 text under `REPORT_HEADERS`."""
    return FileResponse(path, media_type=f"{media}; charset=utf-8", headers=REPORT_HEADERS)


class ServedName(BaseModel):
    name: str = Field(description="What clients send as `model`")
    model: str = Field(description="NAME:VERSION answering it now")
    canary: str | None = Field(description="NAME:VERSION taking a share of it")
    canary_percent: float | None


class ServingSummary(BaseModel):
    names: list[ServedName]
    loaded: list[str] = Field(description="Every NAME:VERSION this server has loaded")


class ModelSummary(BaseModel):
    name: str
    kind: str = Field(description="The newest version's kind")
    versions: list[VersionSummary]


class ModelList(BaseModel):
    data: list[ModelSummary]
    serving: ServingSummary


class ModelDetail(BaseModel):
    name: str
    versions: list[VersionSummary]
    lineage: list[LineageNode]
    evaluations: list[EvaluationSummary] = Field(description="Every evaluation, oldest first")
    loss_curves: list[LossCurve]
    aliases: list[AliasState]
    alias_history: list[AliasEvent]
    serving: ServingSummary


def serving_summary(ctx: GatewayContext) -> ServingSummary:
    names = []
    for m in ctx.models.values():
        c = ctx.canary_on(m.id)
        names.append(
            ServedName(
                name=m.id,
                model=m.label,
                canary=c.candidate.label if c else None,
                canary_percent=round(c.fraction * 100, 4) if c else None,
            )
        )
    loaded = sorted(m.label for m in ctx.loaded_versions().values())
    return ServingSummary(names=names, loaded=loaded)


def serving_states(ctx: GatewayContext) -> dict[int, ServingState]:
    loaded = ctx.loaded_versions()
    out = {vid: ServingState(loaded=True, names=[], canary_for=[]) for vid in loaded}
    for m in ctx.models.values():
        out[m.model_version_id].names.append(m.id)
    for c in ctx.canaries:
        out[c.candidate.model_version_id].canary_for.append(c.primary_id)
    return out


def _not_served() -> ServingState:
    return ServingState(loaded=False, names=[], canary_for=[])


def _list(svc: AdminServices, states: dict[int, ServingState]) -> list[ModelSummary]:
    evaluations = svc.catalog.evaluations.list()
    t = svc.catalog.queries.model_graph()
    by_name: dict[str, list[VersionSummary]] = {}
    for node in sorted(t.versions.values(), key=lambda n: (n.model.name, n.model.version)):
        own = [e for e in evaluations if e.model_id == node.model.id]
        state = states.get(node.model.id) or _not_served()
        by_name.setdefault(node.model.name, []).append(version_summary(node, own, state))
    return [ModelSummary(name=n, kind=v[-1].kind, versions=v) for n, v in by_name.items()]


@router.get("", response_model=ModelList, summary="Models and their versions")
async def list_models(
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
    ctx: GatewayContext = Depends(get_context),
) -> ModelList:
    require_platform(scope, "models")
    data = await run_in_threadpool(_list, svc, serving_states(ctx))
    return ModelList(data=data, serving=serving_summary(ctx))


def _detail(
    svc: AdminServices, name: str, states: dict[int, ServingState], serving: ServingSummary
) -> ModelDetail:
    t = svc.catalog.queries.model_graph()
    versions = t.of_name(name)
    if not versions:
        raise APIError(404, f"no model {name}; see GET /admin/v1/models", code="not_found")
    curves = loss_curves(svc.catalog, versions)
    aliases = [alias_state(a) for a in svc.catalog.aliases.statuses(name)]
    history = [alias_event(e) for e in svc.catalog.aliases.history(name)]
    evaluations = [e for v in versions for e in svc.catalog.evaluations.list(v.model.id)]
    return ModelDetail(
        name=name,
        versions=[
            version_summary(
                v,
                [e for e in evaluations if e.model_id == v.model.id],
                states.get(v.model.id) or _not_served(),
            )
            for v in versions
        ],
        lineage=lineage(t, name),
        evaluations=[evaluation_summary(e) for e in sorted(evaluations, key=lambda e: e.id)],
        loss_curves=curves,
        aliases=aliases,
        alias_history=history,
        serving=serving,
    )


@router.get("/{name}", response_model=ModelDetail, summary="One model: lineage, evaluations…")
async def get_model(
    name: NamePath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
    ctx: GatewayContext = Depends(get_context),
) -> ModelDetail:
    require_platform(scope, f"model {name}")
    return await run_in_threadpool(_detail, svc, name, serving_states(ctx), serving_summary(ctx))


def _evaluation_file(svc: AdminServices, name: str, evaluation_id: int, file: str) -> FileResponse:
    missing = APIError(
        404, f"no file {file} for evaluation {evaluation_id} of {name}", code="not_found"
    )
    if file not in EVALUATION_FILES:
        raise missing
    try:
        record = svc.catalog.evaluations.get(evaluation_id)
    except ValueError:
        raise missing from None
    owner = record.model.rpartition(":")[0]  # the record's NAME:VERSION
    path = record.path / file
    if owner != name or not path.is_file():
        raise missing
    media = {"html": "text/html", "json": "application/json", "jsonl": "application/x-ndjson"}
    return report_file(path, media[file.rpartition(".")[2]])


@router.get(
    "/{name}/evaluations/{evaluation_id}/{file}",
    summary="A stored evaluation file: report.html, details.json or examples.jsonl",
    response_class=FileResponse,
    responses={
        200: {
            "content": {
                "text/html": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
                "application/x-ndjson": {"schema": {"type": "string"}},
            }
        }
    },
)
async def evaluation_file(
    name: NamePath,
    evaluation_id: IdPath,
    file: str,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> FileResponse:
    require_platform(scope, f"model {name}")
    return await run_in_threadpool(_evaluation_file, svc, name, evaluation_id, file)
