"""``/admin/v1/price-books``: plan tiers and their prices per model, in micro-units per
million tokens. The platform's books are its retail plans and the wholesale books
channels buy at; a channel's books are its retail plans for its own tenants."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Query, status
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.pricing import PriceBookRef, PriceRow
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import NAME_PATTERN, Name, NamePath, NonNegativeMicros, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/price-books", tags=["admin: prices"], responses=ERRORS)

PricedModel = Annotated[
    str,
    Field(
        pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}(:\d{1,9})?$",
        description="NAME (every version) or NAME:VERSION (that version; the more specific wins)",
    ),
]


# The platform manages a channel's books by naming the channel (as `mint prices --as-channel`).
ChannelQuery = Query(
    None,
    pattern=NAME_PATTERN,
    description="Platform: act on this channel's books (a channel key: its own only)",
)


def _book_scope(svc: AdminServices, scope: Scope, channel: str | None) -> Scope:
    """The scope whose books are meant: the caller's, or (for the platform) the named
    channel's, keeping the platform's actor for the audit log."""
    if channel is None:
        return scope
    if not scope.is_platform:
        svc.channels.get(scope, channel)  # its own channel, or NotFound
        return scope
    return svc.channels.scope_for(channel, scope.actor)


class PriceBookCreate(BaseModel):
    name: Name


class PriceBook(BaseModel):
    id: int
    name: str
    owner: str = Field(description="`platform` or `channel`")
    models: int = Field(description="How many models the book prices")
    created_at: datetime

    @classmethod
    def of(cls, b: PriceBookRef) -> PriceBook:
        return cls(
            id=b.id,
            name=b.name,
            owner="platform" if b.channel_id is None else "channel",
            models=b.models,
            created_at=aware(b.created_at),
        )


class PriceBookList(BaseModel):
    data: list[PriceBook]


class PriceSet(BaseModel):
    model: PricedModel
    input_micros_per_mtok: NonNegativeMicros
    output_micros_per_mtok: NonNegativeMicros


class Price(BaseModel):
    model: str
    input_micros_per_mtok: int
    output_micros_per_mtok: int
    updated_at: datetime

    @classmethod
    def of(cls, p: PriceRow) -> Price:
        return cls(
            model=p.model,
            input_micros_per_mtok=p.input_micros_per_mtok,
            output_micros_per_mtok=p.output_micros_per_mtok,
            updated_at=aware(p.updated_at),
        )


class PriceList(BaseModel):
    book: str
    data: list[Price]


@router.post(
    "",
    response_model=PriceBook,
    status_code=status.HTTP_201_CREATED,
    summary="Create a price book (a channel key: one of its own retail plans)",
)
async def create_book(
    body: PriceBookCreate,
    channel: str | None = ChannelQuery,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> PriceBook:
    def create() -> PriceBookRef:
        return svc.prices.create_book(_book_scope(svc, scope, channel), body.name)

    return PriceBook.of(await call(create))


@router.get("", response_model=PriceBookList, summary="List the price books this key owns")
async def list_books(
    channel: str | None = ChannelQuery,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> PriceBookList:
    def books() -> list[PriceBookRef]:
        return svc.prices.list_books(_book_scope(svc, scope, channel))

    return PriceBookList(data=[PriceBook.of(b) for b in await call(books)])


@router.get("/{book}/prices", response_model=PriceList, summary="List a book's prices")
async def list_prices(
    book: NamePath,
    channel: str | None = ChannelQuery,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> PriceList:
    def prices() -> list[PriceRow]:
        return svc.prices.prices(_book_scope(svc, scope, channel), book)

    rows = await call(prices)
    return PriceList(book=book, data=[Price.of(p) for p in rows])


@router.put(
    "/{book}/prices",
    response_model=Price,
    summary="Set one model's price in a book (settled requests keep their price)",
)
async def set_price(
    book: NamePath,
    body: PriceSet,
    channel: str | None = ChannelQuery,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Price:
    def set_price() -> PriceRow:
        return svc.prices.set_price(
            _book_scope(svc, scope, channel),
            book,
            body.model,
            body.input_micros_per_mtok,
            body.output_micros_per_mtok,
        )

    return Price.of(await call(set_price))
