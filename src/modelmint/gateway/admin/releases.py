"""Releasing model versions (platform only): move an alias (``demo@production``) to another
version and roll it back, and split this server's traffic with a live canary.

An alias, its moves and their history are the catalog's (``Catalog.aliases``): the move is
locked and audited there, on the same path the command line, training and the quickstart
take, so the history and a rollback see every move. This module keeps the HTTP side: who may
move it, the errors as this API's, and the move applied live. A server that serves
``NAME@ALIAS`` and has the new target loaded answers with it from the next request; any
other server picks the move up at its next start.

A canary is a setting of this server only (``GatewayContext.canaries``, not stored): it
may split traffic only between versions the server has loaded, and each change is audited
(``canary.set``, ``canary.delete``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi import Path as PathParam
from fastapi.concurrency import run_in_threadpool
from pydantic import BaseModel, Field

from modelmint.catalog import AliasMove, CatalogError, ModelRef, NothingToRollBack
from modelmint.commerce import Scope
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, ErrorResponse, call, require_platform
from modelmint.gateway.admin.fields import MAX_LIMIT, NamePath
from modelmint.gateway.admin.services import AdminServices, get_services
from modelmint.gateway.context import Canary, GatewayContext, ServedModel, get_context
from modelmint.gateway.errors import APIError
from modelmint.store import write_audit

RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": ErrorResponse, "description": "Not possible on this server or right now."},
}
router = APIRouter(prefix="/admin/v1", tags=["admin: releases"], responses=RESPONSES)

_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
# what clients send as `model`: NAME, NAME:VERSION or NAME@ALIAS
SERVED_PATTERN = rf"^{_PART}(?::\d{{1,9}}|@{_PART})?$"


# -- aliases ---------------------------------------------------------------------------------
class Promote(BaseModel):
    version: int = Field(ge=1, le=MAX_LIMIT, description="The version the alias will name")


class AliasChange(BaseModel):
    name: str
    alias: str
    version: int = Field(description="The version the alias names now")
    previous: int | None = Field(description="The version it named before")
    changed: bool = Field(description="False: it already named that version (not audited)")
    live: bool = Field(description="This server answers NAME@ALIAS with it from now on")
    note: str


def _move_alias(
    svc: AdminServices, scope: Scope, name: str, alias: str, version: int | None
) -> AliasMove:
    """Points the alias at ``version`` (None: rolls it back) through the catalog's one
    locked, audited path; its errors as this API's."""
    aliases = svc.catalog.aliases
    try:
        if version is None:
            return aliases.rollback(name, alias, actor=scope.actor)
        return aliases.promote(name, alias, version, actor=scope.actor)
    except NothingToRollBack as e:
        raise APIError(409, str(e), code="nothing_to_roll_back") from None
    except CatalogError as e:  # no such model version, or no such alias to roll back
        raise APIError(404, str(e), code="not_found") from None


def _apply_live(ctx: GatewayContext, name: str, alias: str, version: int, vid: int) -> AliasChange:
    spec = f"{name}@{alias}"
    change = AliasChange(
        name=name, alias=alias, version=version, previous=None, changed=False, live=False, note=""
    )
    if not any(m.id == spec for m in ctx.models.values()):
        change.note = (
            f"This server does not serve {spec}; a server started with `--model {spec}` "
            f"answers it with {name}:{version} from its next start."
        )
        return change
    target = ctx.loaded_versions().get(vid)
    if target is None:
        change.note = (
            f"This server serves {spec} but has not loaded {name}:{version}: it keeps the "
            f"version it started with until the next start of `mint serve --model {spec}`."
        )
        return change
    ctx.point(spec, target)
    change.live = True
    change.note = f"{spec} now answers with {name}:{version} on this server."
    return change


async def _alias_route(
    svc: AdminServices,
    ctx: GatewayContext,
    scope: Scope,
    name: str,
    alias: str,
    version: int | None,
) -> AliasChange:
    require_platform(scope, f"model {name}")
    move = await call(_move_alias, svc, scope, name, alias, version)
    change = _apply_live(ctx, name, alias, move.version, move.model_version_id)
    change.previous, change.changed = move.previous, move.changed
    return change


@router.post(
    "/models/{name}/aliases/{alias}",
    response_model=AliasChange,
    summary="Point an alias at a version (promote); audited with the version before",
)
async def promote_alias(
    name: NamePath,
    alias: NamePath,
    body: Promote,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
    ctx: GatewayContext = Depends(get_context),
) -> AliasChange:
    return await _alias_route(svc, ctx, scope, name, alias, body.version)


@router.post(
    "/models/{name}/aliases/{alias}/rollback",
    response_model=AliasChange,
    summary="Put an alias back on the version it named before its latest promotion",
)
async def rollback_alias(
    name: NamePath,
    alias: NamePath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
    ctx: GatewayContext = Depends(get_context),
) -> AliasChange:
    return await _alias_route(svc, ctx, scope, name, alias, None)


# -- the live canary -------------------------------------------------------------------------
class CanaryRequest(BaseModel):
    name: str = Field(
        pattern=SERVED_PATTERN,
        description="The served model to split: NAME, or the exact name clients send "
        "(e.g. demo@production)",
    )
    candidate: str = Field(
        pattern=SERVED_PATTERN, description="NAME@ALIAS or NAME:VERSION, loaded by this server"
    )
    percent: float = Field(gt=0, le=100, description="Share of the requests it answers")


class CanaryState(BaseModel):
    name: str = Field(description="The served name being split")
    model: str = Field(description="NAME:VERSION answering the rest")
    candidate: str = Field(description="NAME:VERSION answering the share")
    percent: float


class CanaryList(BaseModel):
    data: list[CanaryState]


def canary_state(ctx: GatewayContext, c: Canary) -> CanaryState:
    primary = next((m for m in ctx.models.values() if m.id == c.primary_id), None)
    return CanaryState(
        name=c.primary_id,
        model=primary.label if primary else "",
        candidate=c.candidate.label,
        percent=round(c.fraction * 100, 4),
    )


def served_primary(ctx: GatewayContext, name: str) -> ServedModel | None:
    """The served model a canary on ``name`` splits: the one clients call ``name`` (its id
    first, then any of its names), else the first serving a version of model ``name``."""
    served = list(ctx.models.values())
    return (
        next((m for m in served if m.id == name), None)
        or next((m for m in served if name in m.names), None)
        or next((m for m in served if m.model_name == name), None)
    )


def _resolve(svc: AdminServices, spec: str) -> ModelRef:
    try:
        return svc.catalog.resolve_model(spec)
    except CatalogError as e:
        raise APIError(404, str(e), param="candidate", code="not_found") from None


def _audit_canary(
    svc: AdminServices,
    scope: Scope,
    action: str,
    name: str,
    before: CanaryState | None,
    after: CanaryState | None,
) -> None:
    with svc.store.session() as s:
        write_audit(
            s,
            actor=scope.actor,
            action=action,
            target=f"canary:{name}",
            before=before.model_dump() if before else None,
            after=after.model_dump() if after else None,
            at=svc.clock(),
        )


@router.get("/canary", response_model=CanaryList, summary="This server's canary splits")
async def list_canaries(
    scope: Scope = Depends(admin_scope), ctx: GatewayContext = Depends(get_context)
) -> CanaryList:
    require_platform(scope, "canary")
    return CanaryList(data=[canary_state(ctx, c) for c in ctx.canaries if c.names])


@router.put("/canary", response_model=CanaryState, summary="Set a live canary split")
async def set_canary(
    body: CanaryRequest,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
    ctx: GatewayContext = Depends(get_context),
) -> CanaryState:
    require_platform(scope, "canary")
    primary = served_primary(ctx, body.name)
    if primary is None:
        raise APIError(
            409,
            f"This server does not serve {body.name}: start `mint serve --model {body.name}` "
            "to split its traffic.",
            param="name",
            code="model_not_served",
        )
    ref = await run_in_threadpool(_resolve, svc, body.candidate)
    loaded = ctx.loaded_versions().get(ref.id)
    if loaded is None:
        raise APIError(
            409,
            f"This server has not loaded {ref.label} ({body.candidate}): a live canary can "
            f"only use loaded versions. Start `mint serve` with `--model {body.candidate}` "
            f"(or `--canary {body.candidate}=P%`) to load it.",
            param="candidate",
            code="model_not_loaded",
        )
    if ref.id == primary.model_version_id:
        raise APIError(
            400,
            f"{body.name} is already answered by {ref.label}: pick another version.",
            param="candidate",
            code="invalid_request",
        )
    old = ctx.canary_on(primary.id)
    new = Canary(primary.names, loaded, body.percent / 100)
    before = canary_state(ctx, old) if old else None
    after = canary_state(ctx, new)
    await call(_audit_canary, svc, scope, "canary.set", primary.id, before, after)
    ctx.set_canaries([*(c for c in ctx.canaries if c is not old), new])
    return after


@router.delete(
    "/canary/{name}",
    response_model=CanaryState,
    summary="End a live canary split (returns the split that ended)",
)
async def delete_canary(
    name: Annotated[str, PathParam(pattern=SERVED_PATTERN, description="The served name")],
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
    ctx: GatewayContext = Depends(get_context),
) -> CanaryState:
    require_platform(scope, "canary")
    primary = served_primary(ctx, name)
    old = ctx.canary_on(primary.id) if primary else None
    if old is None:
        raise APIError(404, f"no canary on {name}", code="not_found")
    before = canary_state(ctx, old)
    await call(_audit_canary, svc, scope, "canary.delete", before.name, before, None)
    ctx.set_canaries([c for c in ctx.canaries if c is not old])
    return before
