"""``/admin/v1/tenants/{tenant}/wallet``: a prepaid tenant's money: top-ups (paid),
credits (given, may expire), signed adjustments, and the balance after usage."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from pydantic import AwareDatetime, BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.ledger import WalletBalance, WalletEntryInfo
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import Micros, NamePath, PositiveMicros, Text, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(
    prefix="/admin/v1/tenants/{tenant}/wallet", tags=["admin: wallets"], responses=ERRORS
)


class TopUp(BaseModel):
    amount_micros: PositiveMicros
    note: Text = ""


class Credit(BaseModel):
    amount_micros: PositiveMicros
    expires_at: AwareDatetime | None = Field(None, description="The unused part then expires")
    note: Text = ""


class Adjustment(BaseModel):
    amount_micros: Micros = Field(description="Signed: a refund is negative")
    note: Text = Field(description="Why (required)")


class WalletEntry(BaseModel):
    id: int
    kind: str = Field(description="topup, credit or adjustment")
    amount_micros: int
    expires_at: datetime | None
    note: str
    actor: str
    created_at: datetime

    @classmethod
    def of(cls, e: WalletEntryInfo) -> WalletEntry:
        return cls(
            id=e.id,
            kind=e.kind,
            amount_micros=e.amount_micros,
            expires_at=aware(e.expires_at),
            note=e.note,
            actor=e.actor,
            created_at=aware(e.created_at),
        )


class LiveCredit(BaseModel):
    entry_id: int
    remaining_micros: int
    expires_at: datetime | None


class Wallet(BaseModel):
    tenant: str
    balance_micros: int = Field(description="paid + live credits, after usage")
    paid_micros: int = Field(description="May be below zero")
    credit_micros: int
    credits: list[LiveCredit]
    entries: list[WalletEntry]

    @classmethod
    def of(cls, tenant: str, b: WalletBalance, entries: list[WalletEntryInfo]) -> Wallet:
        return cls(
            tenant=tenant,
            balance_micros=b.total_micros,
            paid_micros=b.paid_micros,
            credit_micros=b.credit_micros,
            credits=[
                LiveCredit(
                    entry_id=c.entry_id,
                    remaining_micros=c.remaining_micros,
                    expires_at=aware(c.expires_at),
                )
                for c in b.credits
            ],
            entries=[WalletEntry.of(e) for e in entries],
        )


def _wallet(svc: AdminServices, scope: Scope, tenant: str) -> Wallet:
    entries = svc.wallets.entries(scope, tenant)
    return Wallet.of(tenant, svc.wallets.show(scope, tenant), entries)


@router.get("", response_model=Wallet, summary="A tenant's balance and wallet entries")
async def get_wallet(
    tenant: NamePath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Wallet:
    return await call(_wallet, svc, scope, tenant)


@router.post(
    "/topups",
    response_model=WalletEntry,
    status_code=status.HTTP_201_CREATED,
    summary="Add paid money to a prepaid tenant's wallet",
)
async def topup(
    tenant: NamePath,
    body: TopUp,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> WalletEntry:
    entry = await call(svc.wallets.topup, scope, tenant, body.amount_micros, body.note)
    return WalletEntry.of(entry)


@router.post(
    "/credits",
    response_model=WalletEntry,
    status_code=status.HTTP_201_CREATED,
    summary="Give a credit (spent before paid money; may expire)",
)
async def credit(
    tenant: NamePath,
    body: Credit,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> WalletEntry:
    entry = await call(
        svc.wallets.credit, scope, tenant, body.amount_micros, body.expires_at, body.note
    )
    return WalletEntry.of(entry)


@router.post(
    "/adjustments",
    response_model=WalletEntry,
    status_code=status.HTTP_201_CREATED,
    summary="A signed correction of paid money, with a reason",
)
async def adjust(
    tenant: NamePath,
    body: Adjustment,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> WalletEntry:
    entry = await call(svc.wallets.adjust, scope, tenant, body.amount_micros, body.note)
    return WalletEntry.of(entry)
