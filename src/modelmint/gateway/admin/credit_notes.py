"""``/admin/v1/credit-notes``: money taken off a tenant's or a channel's bill for a month.
A channel key credits its own tenants; channel credits are the platform's."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.ledger import CreditNoteRef
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import PERIOD_PATTERN, Name, PositiveMicros, Text, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/credit-notes", tags=["admin: credit notes"], responses=ERRORS)


class CreditNoteIssue(BaseModel):
    """For exactly one of a tenant (retail) or a channel (wholesale, platform only)."""

    period: str = Field(pattern=PERIOD_PATTERN, description="YYYY-MM")
    amount_micros: PositiveMicros = Field(description="Taken off the bill")
    reason: Text = Field(min_length=1)
    tenant: Name | None = None
    channel: Name | None = None


class CreditNote(BaseModel):
    number: str
    period: str
    tenant: str | None
    channel: str | None
    amount_micros: int
    reason: str
    actor: str
    created_at: datetime

    @classmethod
    def of(cls, n: CreditNoteRef) -> CreditNote:
        return cls(
            number=n.number,
            period=n.period,
            tenant=n.tenant,
            channel=n.channel,
            amount_micros=n.amount_micros,
            reason=n.reason,
            actor=n.actor,
            created_at=aware(n.created_at),
        )


class CreditNoteList(BaseModel):
    data: list[CreditNote]


@router.post(
    "",
    response_model=CreditNote,
    status_code=status.HTTP_201_CREATED,
    summary="Issue a credit note (appears on the period's invoice when regenerated)",
)
async def issue_credit_note(
    body: CreditNoteIssue,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> CreditNote:
    note = await call(
        svc.credit_notes.issue,
        scope,
        period=body.period,
        amount_micros=body.amount_micros,
        reason=body.reason,
        tenant=body.tenant,
        channel=body.channel,
    )
    return CreditNote.of(note)


@router.get("", response_model=CreditNoteList, summary="List credit notes")
async def list_credit_notes(
    period: str | None = Query(None, pattern=PERIOD_PATTERN, description="YYYY-MM"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> CreditNoteList:
    notes = await call(svc.credit_notes.list, scope, period)
    return CreditNoteList(data=[CreditNote.of(n) for n in notes])
