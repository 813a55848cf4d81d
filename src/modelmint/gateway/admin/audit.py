"""``/admin/v1/audit``: who changed what, with the record before and after. A channel key
sees the entries about its own records."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from modelmint.commerce import AuditRecord, Scope
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/audit", tags=["admin: audit"], responses=ERRORS)

# exact values, as written by the services: e.g. `tenant.update`, `tenant:acme`
FILTER_PATTERN = r"^[^\x00]{1,200}$"


class AuditEntry(BaseModel):
    id: int
    actor: str
    action: str
    target: str
    before: dict[str, Any] | None
    after: dict[str, Any] | None
    created_at: datetime

    @classmethod
    def of(cls, r: AuditRecord) -> AuditEntry:
        return cls(
            id=r.id,
            actor=r.actor,
            action=r.action,
            target=r.target,
            before=r.before,
            after=r.after,
            created_at=aware(r.created_at),
        )


class AuditList(BaseModel):
    data: list[AuditEntry]


@router.get("", response_model=AuditList, summary="The audit log, newest first")
async def list_audit(
    limit: int = Query(100, ge=1, le=1000),
    action: str | None = Query(None, pattern=FILTER_PATTERN, description="e.g. tenant.update"),
    target: str | None = Query(None, pattern=FILTER_PATTERN, description="e.g. tenant:acme"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> AuditList:
    records = await call(svc.audit.list, scope, limit, action, target)
    return AuditList(data=[AuditEntry.of(r) for r in records])
