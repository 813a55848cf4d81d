"""``/admin/v1/budgets``: spending caps on a tenant or one of its keys, per day, month or
in total. Hard budgets refuse requests that could pass them; soft ones alert."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Depends, Query, Response, status
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.admission import AlertInfo, BudgetInfo
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import (
    NAME_PATTERN,
    IdPath,
    Name,
    NonNegativeMicros,
    aware,
)
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1", tags=["admin: budgets"], responses=ERRORS)


class BudgetSet(BaseModel):
    """Creates the budget, or changes the live one of the same tenant (or key) and period."""

    tenant: Name
    key_prefix: str | None = Field(
        None, pattern=r"^[A-Za-z0-9]{1,32}$", description="A key's budget; null: the tenant's"
    )
    amount_micros: NonNegativeMicros
    period: Literal["day", "month", "total"] = "month"
    hard: bool = True
    alert_percent: int = Field(80, ge=1, le=100)


class Budget(BaseModel):
    id: int
    tenant: str
    key_prefix: str | None
    amount_micros: int
    period: str
    hard: bool
    alert_percent: int
    spent_micros: int = Field(description="Settled in the current period")
    held_micros: int = Field(description="Reserved by requests in flight")
    created_at: datetime

    @classmethod
    def of(cls, b: BudgetInfo) -> Budget:
        return cls(
            id=b.id,
            tenant=b.tenant,
            key_prefix=b.key_prefix,
            amount_micros=b.amount_micros,
            period=b.period,
            hard=b.hard,
            alert_percent=b.alert_percent,
            spent_micros=b.spent_micros,
            held_micros=b.held_micros,
            created_at=aware(b.created_at),
        )


class BudgetList(BaseModel):
    data: list[Budget]


class BudgetAlert(BaseModel):
    id: int
    budget_id: int
    tenant: str
    key_prefix: str | None
    period_start: datetime
    percent: int
    spent_micros: int
    amount_micros: int
    created_at: datetime

    @classmethod
    def of(cls, a: AlertInfo) -> BudgetAlert:
        return cls(
            id=a.id,
            budget_id=a.budget_id,
            tenant=a.tenant,
            key_prefix=a.key_prefix,
            period_start=aware(a.period_start),
            percent=a.percent,
            spent_micros=a.spent_micros,
            amount_micros=a.amount_micros,
            created_at=aware(a.created_at),
        )


class BudgetAlertList(BaseModel):
    data: list[BudgetAlert]


@router.put("/budgets", response_model=Budget, summary="Set a tenant's or a key's budget")
async def set_budget(
    body: BudgetSet, scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> Budget:
    info = await call(
        svc.budgets.set,
        scope,
        body.tenant,
        body.amount_micros,
        body.period,
        hard=body.hard,
        alert_percent=body.alert_percent,
        key_prefix=body.key_prefix,
    )
    return Budget.of(info)


@router.get("/budgets", response_model=BudgetList, summary="List live budgets")
async def list_budgets(
    tenant: str | None = Query(None, pattern=NAME_PATTERN, description="Only this tenant's"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> BudgetList:
    return BudgetList(data=[Budget.of(b) for b in await call(svc.budgets.list, scope, tenant)])


@router.delete(
    "/budgets/{budget_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    summary="Delete a budget (kept for the audit log and its alerts)",
)
async def delete_budget(
    budget_id: IdPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Response:
    await call(svc.budgets.delete, scope, budget_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/budget-alerts", response_model=BudgetAlertList, summary="Budget alerts, newest first")
async def list_alerts(
    tenant: str | None = Query(None, pattern=NAME_PATTERN),
    limit: int = Query(100, ge=1, le=1000),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> BudgetAlertList:
    alerts = await call(svc.budgets.alerts, scope, tenant, limit)
    return BudgetAlertList(data=[BudgetAlert.of(a) for a in alerts])
