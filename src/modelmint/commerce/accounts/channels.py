"""Channels: partners who resell. A channel buys from the platform at a wholesale price
book and owns its tenants, whom it bills at its own retail books. Only the platform
creates channels and chooses what they pay; a channel scope sees only itself."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelmint.catalog import NAME_RE
from modelmint.commerce.audit import snapshot, utc
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.pricing.prices import WHOLESALE_DEFAULT
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Channel, PriceBook, Store, write_audit


@dataclass(frozen=True)
class ChannelRef:
    id: int
    name: str
    created_at: datetime
    # the platform book the channel buys at; None: the platform's default ``wholesale``
    wholesale_book: str | None = None

    @property
    def effective_wholesale_book(self) -> str:
        return self.wholesale_book or WHOLESALE_DEFAULT


def _ref(s: Session, row: Channel) -> ChannelRef:
    book = s.get(PriceBook, row.price_book_id) if row.price_book_id is not None else None
    return ChannelRef(
        row.id, row.name, utc(row.created_at), book.name if book is not None else None
    )


def find_channel(s: Session, scope: Scope, name: str) -> Channel:
    """The channel row of that name as this scope may see it: a channel sees only itself."""
    row = s.scalar(select(Channel).where(Channel.name == name))
    if row is None or (scope.channel_id is not None and row.id != scope.channel_id):
        raise NotFound(f"no channel {name!r}; see `mint channels list`")
    return row


class Channels:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    def create(self, scope: Scope, name: str) -> ChannelRef:
        scope.require_platform("permission to create channels")
        if not NAME_RE.match(name):
            raise CommerceError(
                f"invalid channel name {name!r}: use letters, digits, '.', '_' or '-'"
            )
        now = self.clock()
        with self.store.session() as s:
            if s.scalar(select(Channel.id).where(Channel.name == name)) is not None:
                raise CommerceError(f"channel {name!r} already exists")
            row = Channel(name=name, created_at=now)
            s.add(row)
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="channel.create",
                target=f"channel:{name}",
                before=None,
                after=snapshot(row),
                at=now,
                channel_id=row.id,
            )
            return _ref(s, row)

    def get(self, scope: Scope, name: str) -> ChannelRef:
        with self.store.session() as s:
            return _ref(s, find_channel(s, scope, name))

    def get_by_id(self, scope: Scope, channel_id: int) -> ChannelRef:
        with self.store.session() as s:
            row = s.get(Channel, channel_id)
            if row is None or (scope.channel_id is not None and row.id != scope.channel_id):
                raise NotFound(f"no channel with id {channel_id}")
            return _ref(s, row)

    def list(self, scope: Scope) -> list[ChannelRef]:
        with self.store.session() as s:
            q = select(Channel).order_by(Channel.name)
            if scope.channel_id is not None:
                q = q.where(Channel.id == scope.channel_id)
            return [_ref(s, row) for row in s.scalars(q)]

    def scope_for(self, name: str, actor: str) -> Scope:
        """The scope of a channel, for the platform acting on that channel's behalf (the CLI's
        ``--as-channel C``): the audit entries keep the platform's actor."""
        with self.store.session() as s:
            row = find_channel(s, Scope(actor=actor), name)
            return Scope(channel_id=row.id, actor=actor)

    def set_wholesale_book(self, scope: Scope, channel: str, book_name: str | None) -> ChannelRef:
        """Which platform price book the channel buys at; None: back to ``wholesale``.
        Requests already settled keep the wholesale price they were billed at."""
        scope.require_platform(f"channel {channel!r}")
        with self.store.session() as s:
            row = find_channel(s, scope, channel)
            before = snapshot(row)
            if book_name is None:
                row.price_book_id = None
            else:
                book_id = s.scalar(
                    select(PriceBook.id).where(
                        PriceBook.name == book_name, PriceBook.channel_id.is_(None)
                    )
                )
                if book_id is None:
                    raise NotFound(
                        f"no platform price book {book_name!r}; create it with "
                        f"`mint prices create-book {book_name}`"
                    )
                row.price_book_id = book_id
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="channel.set_wholesale_book",
                target=f"channel:{channel}",
                before=before,
                after=snapshot(row),
                at=self.clock(),
                channel_id=row.id,
            )
            return _ref(s, row)
