"""``/admin/v1/channels``: the partners who resell. The platform creates them and chooses
the wholesale book each buys at; a channel key sees only its own channel."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Depends, status
from pydantic import BaseModel, Field

from modelmint.commerce import Scope
from modelmint.commerce.accounts import ChannelRef
from modelmint.gateway.admin.auth import admin_scope
from modelmint.gateway.admin.common import ERRORS, call
from modelmint.gateway.admin.fields import Name, NamePath, aware
from modelmint.gateway.admin.services import AdminServices, get_services

router = APIRouter(prefix="/admin/v1/channels", tags=["admin: channels"], responses=ERRORS)


class ChannelCreate(BaseModel):
    name: Name


class WholesaleBookSet(BaseModel):
    book: Name | None = Field(
        description="A platform price book; null puts the channel back on `wholesale`."
    )


class Channel(BaseModel):
    id: int
    name: str
    created_at: datetime
    wholesale_book: str | None = Field(description="null: the platform's `wholesale` book")
    effective_wholesale_book: str

    @classmethod
    def of(cls, c: ChannelRef) -> Channel:
        return cls(
            id=c.id,
            name=c.name,
            created_at=aware(c.created_at),
            wholesale_book=c.wholesale_book,
            effective_wholesale_book=c.effective_wholesale_book,
        )


class ChannelList(BaseModel):
    data: list[Channel]


@router.post(
    "",
    response_model=Channel,
    status_code=status.HTTP_201_CREATED,
    summary="Create a channel (platform only)",
)
async def create_channel(
    body: ChannelCreate,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Channel:
    return Channel.of(await call(svc.channels.create, scope, body.name))


@router.get("", response_model=ChannelList, summary="List channels (a channel: itself)")
async def list_channels(
    scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> ChannelList:
    return ChannelList(data=[Channel.of(c) for c in await call(svc.channels.list, scope)])


@router.get("/{name}", response_model=Channel, summary="Get a channel")
async def get_channel(
    name: NamePath, scope: Scope = Depends(admin_scope), svc: AdminServices = Depends(get_services)
) -> Channel:
    return Channel.of(await call(svc.channels.get, scope, name))


@router.put(
    "/{name}/wholesale-book",
    response_model=Channel,
    summary="Set the platform price book a channel buys at (platform only)",
)
async def set_wholesale_book(
    name: NamePath,
    body: WholesaleBookSet,
    scope: Scope = Depends(admin_scope),
    svc: AdminServices = Depends(get_services),
) -> Channel:
    return Channel.of(await call(svc.channels.set_wholesale_book, scope, name, body.book))
