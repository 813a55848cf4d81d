"""``/admin/v1/tenants``: customers. A channel key creates and sees only its own tenants;
the platform may create a tenant for a channel by naming it.

Tenant names are unique per owner (the platform, or one channel), so creating a tenant
answers only whether the caller's own namespace has the name, never whether another
channel does. The platform, which sees every owner, picks a channel's tenant whose name
it shares with ``?channel=C`` (a bare name is its own tenant, or the only one so named)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.accounts import QUALIFIER, TenantRef
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import NAME_PATTERN, Limit, Name, NamePath, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/tenants", tags=["admin: tenants"], responses=ERRORS)

Billing = Literal["postpaid", "prepaid"]


class TenantCreate(BaseModel):
    name: Name
    channel: Name | None = Field(
        None, description="Platform only: create the tenant for this channel."
    )
    billing: Billing = "postpaid"
    plan: Name | None = Field(None, description="A retail price book of the owner.")
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    keep_transcripts: bool = Field(
        False, description="Keep every request's transcript (not only those with store: true)."
    )


class TenantUpdate(BaseModel):
    """Only the fields given change; null clears a limit or puts the tenant back on the
    owner's `standard` plan."""

    plan: Name | None = None
    billing: Billing | None = None
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    keep_transcripts: bool | None = Field(
        None, description="Keep every request's transcript (not only those with store: true)."
    )


class Tenant(BaseModel):
    id: int
    name: str
    channel: str | None = Field(description="null: a direct tenant of the platform")
    billing: str
    plan: str | None
    effective_plan: str
    rpm_limit: int | None
    tpm_limit: int | None
    suspended: bool
    suspended_at: datetime | None
    created_at: datetime
    keep_transcripts: bool = False

    @classmethod
    def of(cls, t: TenantRef) -> Tenant:
        return cls(
            id=t.id,
            name=t.name,
            channel=t.channel,
            billing=t.billing,
            plan=t.plan,
            effective_plan=t.effective_plan,
            rpm_limit=t.rpm_limit,
            tpm_limit=t.tpm_limit,
            suspended=t.suspended,
            suspended_at=aware(t.suspended_at),
            created_at=aware(t.created_at),
            keep_transcripts=t.keep_transcripts,
        )


class TenantList(BaseModel):
    data: list[Tenant]


@router.post(
    "", response_model=Tenant, status_code=status.HTTP_201_CREATED, summary="Create a tenant"
)
async def create_tenant(
    body: TenantCreate,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Tenant:
    ref = await call(
        svc.tenants.create,
        body.name,
        scope=scope,
        channel=body.channel,
        billing=body.billing,
        plan=body.plan,
        rpm_limit=body.rpm_limit,
        tpm_limit=body.tpm_limit,
        keep_transcripts=body.keep_transcripts,
    )
    return Tenant.of(ref)


@router.get("", response_model=TenantList, summary="List the tenants this key sees")
async def list_tenants(
    channel: str | None = Query(None, pattern=NAME_PATTERN, description="Only this channel's"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> TenantList:
    refs = await call(svc.tenants.list, scope, channel=channel)
    return TenantList(data=[Tenant.of(t) for t in refs])


OwnerQuery = Annotated[
    str | None,
    Query(
        pattern=NAME_PATTERN,
        description="The channel that owns the tenant: names are unique per owner only, so "
        "the platform picks a channel's tenant whose name it shares this way.",
    ),
]


def _named(name: str, channel: str | None) -> str:
    return name if channel is None else f"{channel}{QUALIFIER}{name}"


@router.get("/{name}", response_model=Tenant, summary="Get a tenant")
async def get_tenant(
    name: NamePath,
    channel: OwnerQuery = None,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Tenant:
    return Tenant.of(await call(svc.tenants.get, scope, _named(name, channel)))


@router.patch("/{name}", response_model=Tenant, summary="Change a tenant's plan, billing or limits")
async def update_tenant(
    name: NamePath,
    body: TenantUpdate,
    channel: OwnerQuery = None,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Tenant:
    changes: dict[str, Any] = {k: getattr(body, k) for k in body.model_fields_set}
    if changes.get("billing", "") is None:
        changes.pop("billing")  # billing cannot be cleared; null means "leave it"
    if changes.get("keep_transcripts", "") is None:
        changes.pop("keep_transcripts")  # likewise
    return Tenant.of(await call(svc.tenants.update, scope, _named(name, channel), **changes))


@router.post(
    "/{name}/suspend",
    response_model=Tenant,
    summary="Suspend a tenant: every key of it is refused from the next request",
)
async def suspend_tenant(
    name: NamePath,
    channel: OwnerQuery = None,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Tenant:
    return Tenant.of(await call(svc.tenants.suspend, scope, _named(name, channel)))


@router.post("/{name}/resume", response_model=Tenant, summary="Resume a suspended tenant")
async def resume_tenant(
    name: NamePath,
    channel: OwnerQuery = None,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Tenant:
    return Tenant.of(await call(svc.tenants.resume, scope, _named(name, channel)))
