"""``/admin/v1/keys``: tenants' API keys. The full key is in the response to create and
rotate only; it is never stored or shown again (only its prefix is)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, status
from pydantic import AwareDatetime, BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.accounts import CreatedKey, KeyInfo
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import NAME_PATTERN, Limit, Name, PrefixPath, ShortText, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/keys", tags=["admin: API keys"], responses=ERRORS)

ModelSpec = Annotated[
    str, Field(min_length=1, max_length=200, pattern=r"^[^\s,:@\x00]+(:\d+|@[A-Za-z0-9._-]+)?$")
]
MAX_GRACE_S = 365 * 24 * 3600


class KeyCreate(BaseModel):
    tenant: Name
    name: ShortText = ""
    expires_at: AwareDatetime | None = None
    allowed_models: list[ModelSpec] = Field(
        default_factory=list,
        max_length=100,
        description="NAME, NAME:VERSION or NAME@ALIAS; empty: every model",
    )
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None


class KeyUpdate(BaseModel):
    """Only the fields given change; null clears a limit or the expiry, an empty list of
    models allows every model."""

    allowed_models: list[ModelSpec] | None = Field(None, max_length=100)
    rpm_limit: Limit | None = None
    tpm_limit: Limit | None = None
    expires_at: AwareDatetime | None = None


class KeyRotate(BaseModel):
    grace_seconds: int = Field(
        24 * 3600, ge=0, le=MAX_GRACE_S, description="How long the old key keeps working"
    )
    expires_at: AwareDatetime | None = Field(None, description="The new key's expiry")


class NewKey(BaseModel):
    key: str = Field(description="The API key. Shown this once: store it now.")
    prefix: str
    tenant: str
    expires_at: datetime | None

    @classmethod
    def of(cls, k: CreatedKey) -> NewKey:
        return cls(key=k.key, prefix=k.prefix, tenant=k.tenant, expires_at=aware(k.expires_at))


class Key(BaseModel):
    prefix: str
    tenant: str
    name: str
    status: str = Field(description="active, revoked or expired")
    allowed_models: list[str]
    rpm_limit: int | None
    tpm_limit: int | None
    expires_at: datetime | None
    revoked_at: datetime | None
    rotated_from: str | None = Field(description="Prefix of the key this one replaced")
    created_at: datetime

    @classmethod
    def of(cls, k: KeyInfo) -> Key:
        return cls(
            prefix=k.prefix,
            tenant=k.tenant,
            name=k.name,
            status=k.status,
            allowed_models=list(k.allowed_models),
            rpm_limit=k.rpm_limit,
            tpm_limit=k.tpm_limit,
            expires_at=aware(k.expires_at),
            revoked_at=aware(k.revoked_at),
            rotated_from=k.rotated_from,
            created_at=aware(k.created_at),
        )


class KeyList(BaseModel):
    data: list[Key]


@router.post(
    "",
    response_model=NewKey,
    status_code=status.HTTP_201_CREATED,
    summary="Create an API key for a tenant (the key is shown once)",
)
async def create_key(
    body: KeyCreate, scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> NewKey:
    created = await call(
        svc.keys.create,
        body.tenant,
        body.name,
        scope=scope,
        expires_at=body.expires_at,
        allowed_models=body.allowed_models,
        rpm_limit=body.rpm_limit,
        tpm_limit=body.tpm_limit,
    )
    return NewKey.of(created)


@router.get("", response_model=KeyList, summary="List the API keys this admin key sees")
async def list_keys(
    tenant: str | None = Query(None, pattern=NAME_PATTERN, description="Only this tenant's"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> KeyList:
    return KeyList(data=[Key.of(k) for k in await call(svc.keys.list, scope, tenant)])


@router.get("/{prefix}", response_model=Key, summary="Get an API key by its prefix")
async def get_key(
    prefix: PrefixPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Key:
    return Key.of(await call(svc.keys.get, scope, prefix))


@router.patch("/{prefix}", response_model=Key, summary="Change a key's models, limits or expiry")
async def update_key(
    prefix: PrefixPath,
    body: KeyUpdate,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Key:
    changes: dict[str, Any] = {k: getattr(body, k) for k in body.model_fields_set}
    if "allowed_models" in changes and changes["allowed_models"] is None:
        changes["allowed_models"] = []  # null, like [], allows every model
    return Key.of(await call(svc.keys.update, scope, prefix, **changes))


@router.post(
    "/{prefix}/rotate",
    response_model=NewKey,
    status_code=status.HTTP_201_CREATED,
    summary="Rotate a key: a new key now, the old one works for a grace period",
)
async def rotate_key(
    prefix: PrefixPath,
    body: KeyRotate | None = None,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> NewKey:
    body = body or KeyRotate()
    created = await call(
        svc.keys.rotate,
        scope,
        prefix,
        timedelta(seconds=body.grace_seconds),
        expires_at=body.expires_at,
    )
    return NewKey.of(created)


@router.post(
    "/{prefix}/revoke",
    response_model=Key,
    summary="Revoke a key: refused from the next request on, by every replica",
)
async def revoke_key(
    prefix: PrefixPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Key:
    return Key.of(await call(svc.keys.revoke, scope, prefix))
