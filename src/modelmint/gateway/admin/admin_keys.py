"""``/admin/v1/admin-keys``: keys for this API. Platform only: a channel key is answered
as if these routes did not exist. A key made for a channel has that channel's scope."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from pydantic import AwareDatetime, BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.accounts import AdminKeyInfo, CreatedAdminKey
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call, require_platform
from modelmint.gateway.admin.fields import Name, PrefixPath, ShortText, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/admin-keys", tags=["admin: admin keys"], responses=ERRORS)


class AdminKeyCreate(BaseModel):
    channel: Name | None = Field(None, description="A channel's key; null: a platform key")
    name: ShortText = ""
    expires_at: AwareDatetime | None = None


class NewAdminKey(BaseModel):
    key: str = Field(description="The admin key. Shown this once: store it now.")
    prefix: str
    channel: str | None

    @classmethod
    def of(cls, k: CreatedAdminKey) -> NewAdminKey:
        return cls(key=k.key, prefix=k.prefix, channel=k.channel)


class AdminKey(BaseModel):
    prefix: str
    name: str
    channel: str | None
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None

    @classmethod
    def of(cls, k: AdminKeyInfo) -> AdminKey:
        return cls(
            prefix=k.prefix,
            name=k.name,
            channel=k.channel,
            created_at=aware(k.created_at),
            expires_at=aware(k.expires_at),
            revoked_at=aware(k.revoked_at),
        )


class AdminKeyList(BaseModel):
    data: list[AdminKey]


def _create(svc: AdminServices, scope: Scope, body: AdminKeyCreate) -> CreatedAdminKey:
    # the platform acts in the channel's scope, keeping its own actor in the audit log
    target = scope if body.channel is None else svc.channels.scope_for(body.channel, scope.actor)
    return svc.admin_keys.create(target, body.name, expires_at=body.expires_at)


@router.post(
    "",
    response_model=NewAdminKey,
    status_code=status.HTTP_201_CREATED,
    summary="Create an admin key, the platform's or a channel's (shown once)",
)
async def create_admin_key(
    body: AdminKeyCreate,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> NewAdminKey:
    require_platform(scope, "admin keys")
    return NewAdminKey.of(await call(_create, svc, scope, body))


@router.get("", response_model=AdminKeyList, summary="List admin keys")
async def list_admin_keys(
    scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> AdminKeyList:
    require_platform(scope, "admin keys")
    return AdminKeyList(data=[AdminKey.of(k) for k in await call(svc.admin_keys.list, scope)])


@router.post("/{prefix}/revoke", response_model=AdminKey, summary="Revoke an admin key")
async def revoke_admin_key(
    prefix: PrefixPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> AdminKey:
    require_platform(scope, "admin keys")
    return AdminKey.of(await call(svc.admin_keys.revoke, scope, prefix))
