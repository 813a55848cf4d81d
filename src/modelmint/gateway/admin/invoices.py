"""``/admin/v1/invoices``: monthly invoices (a tenant's retail bill, a channel's wholesale
bill with its margin), generated from the ledger and credit notes, and their printable
CSV and HTML. A channel key generates and sees its tenants' invoices and its own."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Response
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.ledger import InvoiceDocument, InvoiceRef, render_csv, render_html
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import PERIOD_PATTERN, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/invoices", tags=["admin: invoices"], responses=ERRORS)

NUMBER_PATTERN = r"^INV-\d{6}-[TC]\d{1,10}$"
NumberPath = Annotated[str, Path(pattern=NUMBER_PATTERN, description="e.g. INV-202603-T1")]


class InvoiceGenerate(BaseModel):
    period: str = Field(pattern=PERIOD_PATTERN, description="YYYY-MM (UTC)")


class Invoice(BaseModel):
    number: str
    period: str
    kind: str = Field(description="retail (a tenant's bill) or wholesale (a channel's)")
    bill_to: str
    subtotal_micros: int
    credits_micros: int
    total_micros: int
    content_hash: str
    generated_at: datetime

    @classmethod
    def of(cls, r: InvoiceRef) -> Invoice:
        return cls(
            number=r.number,
            period=r.period,
            kind=r.kind,
            bill_to=r.bill_to,
            subtotal_micros=r.subtotal_micros,
            credits_micros=r.credits_micros,
            total_micros=r.total_micros,
            content_hash=r.content_hash,
            generated_at=aware(r.generated_at),
        )


class InvoiceLine(BaseModel):
    kind: str = Field(description="usage or credit")
    item: str
    requests: int
    input_tokens: int
    output_tokens: int
    input_price_micros: int | None = Field(description="Per million tokens")
    output_price_micros: int | None
    amount_micros: int


class TenantMargin(BaseModel):
    tenant: str
    requests: int
    retail_micros: int
    credits_micros: int
    wholesale_micros: int
    margin_micros: int


class InvoiceDetail(Invoice):
    issuer: str
    lines: list[InvoiceLine]
    tenants: list[TenantMargin] = Field(description="On a channel's invoice: per tenant")

    @classmethod
    def of_doc(cls, r: InvoiceRef, doc: InvoiceDocument) -> InvoiceDetail:
        return cls(
            **Invoice.of(r).model_dump(),
            issuer=doc.issuer,
            lines=[InvoiceLine(**line.__dict__) for line in doc.lines],
            tenants=[
                TenantMargin(**t.__dict__, margin_micros=t.margin_micros) for t in doc.tenants
            ],
        )


class InvoiceList(BaseModel):
    data: list[Invoice]


@router.post(
    "/generate",
    response_model=InvoiceList,
    summary="Generate (or regenerate, identically) the invoices of a month",
)
async def generate_invoices(
    body: InvoiceGenerate,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> InvoiceList:
    refs = await call(svc.invoices.generate, body.period, scope)
    return InvoiceList(data=[Invoice.of(r) for r in refs])


@router.get("", response_model=InvoiceList, summary="List invoices")
async def list_invoices(
    period: str | None = Query(None, pattern=PERIOD_PATTERN, description="YYYY-MM"),
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> InvoiceList:
    refs = await call(svc.invoices.list, scope, period)
    return InvoiceList(data=[Invoice.of(r) for r in refs])


async def _show(
    svc: AdminServices, scope: Scope, number: str
) -> tuple[InvoiceRef, InvoiceDocument]:
    return await call(svc.invoices.show, scope, number)


@router.get("/{number}", response_model=InvoiceDetail, summary="An invoice with its lines")
async def get_invoice(
    number: NumberPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> InvoiceDetail:
    ref, doc = await _show(svc, scope, number)
    return InvoiceDetail.of_doc(ref, doc)


@router.get(
    "/{number}/csv",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="Download an invoice as CSV",
)
async def invoice_csv(
    number: NumberPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Response:
    ref, doc = await _show(svc, scope, number)
    # rendered from the stored invoice: the same bytes as the file generation wrote
    return Response(
        render_csv(doc),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{ref.number}.csv"'},
    )


@router.get(
    "/{number}/html",
    response_class=Response,
    responses={200: {"content": {"text/html": {"schema": {"type": "string"}}}}},
    summary="An invoice as a printable HTML page",
)
async def invoice_html(
    number: NumberPath,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Response:
    _ref, doc = await _show(svc, scope, number)
    return Response(render_html(doc), media_type="text/html; charset=utf-8")
