"""Price books: plan tiers with a price per million input and output tokens per model.

The platform owns the retail books its direct tenants are on (default ``standard``) and the
wholesale books channels buy at (default ``wholesale``); a channel owns the retail books of
its own tenants (default: its book named ``standard``). A price row names a model
(every version) or a label ``name:version`` (that version; the more specific wins). A
model without a price is free: serving never stops because nobody priced a model."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from modelmint.catalog import NAME_RE
from modelmint.commerce.audit import snapshot, utc
from modelmint.commerce.errors import CommerceError, NotFound
from modelmint.commerce.money import request_cost
from modelmint.commerce.scope import Scope
from modelmint.config.clock import Clock, utc_now
from modelmint.store import Channel, Price, PriceBook, Store, Tenant, write_audit

RETAIL_DEFAULT = "standard"
WHOLESALE_DEFAULT = "wholesale"


@dataclass(frozen=True)
class PriceBookRef:
    id: int
    name: str
    channel_id: int | None
    created_at: datetime
    models: int = 0  # how many prices the book has (filled by ``list_books``)


@dataclass(frozen=True)
class PriceRow:
    model: str
    input_micros_per_mtok: int
    output_micros_per_mtok: int
    updated_at: datetime


@dataclass(frozen=True)
class Quote:
    """What one request to one model version costs a tenant (retail) and, for a channel's
    tenant, its channel (wholesale). Prices are micro-units per million tokens."""

    retail_input: int = 0
    retail_output: int = 0
    wholesale_input: int = 0
    wholesale_output: int = 0
    channel_id: int | None = None

    def retail(self, prompt_tokens: int, completion_tokens: int) -> int:
        return request_cost(prompt_tokens, completion_tokens, self.retail_input, self.retail_output)

    def wholesale(self, prompt_tokens: int, completion_tokens: int) -> int:
        if self.channel_id is None:
            return 0
        return request_cost(
            prompt_tokens, completion_tokens, self.wholesale_input, self.wholesale_output
        )


def _price_for(s: Session, book_id: int | None, name: str, version: int) -> tuple[int, int]:
    if book_id is None:
        return 0, 0
    rows = {
        p.model: (p.input_micros_per_mtok, p.output_micros_per_mtok)
        for p in s.scalars(
            select(Price).where(
                Price.price_book_id == book_id, Price.model.in_([f"{name}:{version}", name])
            )
        )
    }
    return rows.get(f"{name}:{version}") or rows.get(name) or (0, 0)


def _book_id(s: Session, channel_id: int | None, name: str) -> int | None:
    q = select(PriceBook.id).where(PriceBook.name == name)
    q = q.where(
        PriceBook.channel_id.is_(None) if channel_id is None else PriceBook.channel_id == channel_id
    )
    return s.scalar(q)


class PriceBooks:
    def __init__(self, store: Store, clock: Clock = utc_now) -> None:
        self.store = store
        self.clock = clock

    # -- quoting (every request) -----------------------------------------------------------
    def quote(self, tenant_id: int, model_name: str, model_version: int) -> Quote:
        with self.store.session() as s:
            return self.quote_in(s, tenant_id, model_name, model_version)

    def quote_in(self, s: Session, tenant_id: int, model_name: str, model_version: int) -> Quote:
        tenant = s.get(Tenant, tenant_id)
        if tenant is None:
            raise NotFound(f"no tenant with id {tenant_id}")
        retail_book = tenant.price_book_id or _book_id(s, tenant.channel_id, RETAIL_DEFAULT)
        r_in, r_out = _price_for(s, retail_book, model_name, model_version)
        if tenant.channel_id is None:
            return Quote(r_in, r_out)
        channel = s.get(Channel, tenant.channel_id)
        assert channel is not None
        wholesale_book = channel.price_book_id or _book_id(s, None, WHOLESALE_DEFAULT)
        w_in, w_out = _price_for(s, wholesale_book, model_name, model_version)
        return Quote(r_in, r_out, w_in, w_out, tenant.channel_id)

    # -- managing books ----------------------------------------------------------------------
    def _get(self, s: Session, scope: Scope, name: str) -> PriceBook:
        q = select(PriceBook).where(PriceBook.name == name)
        q = q.where(
            PriceBook.channel_id.is_(None)
            if scope.channel_id is None
            else PriceBook.channel_id == scope.channel_id
        )
        book = s.scalar(q)
        if book is None:
            raise NotFound(
                f"no price book {name!r}; create it with `mint prices create-book {name}`"
            )
        return book

    def create_book(self, scope: Scope, name: str) -> PriceBookRef:
        if not NAME_RE.match(name):
            raise CommerceError(f"invalid price book name {name!r}: use letters, digits, . _ -")
        exists = CommerceError(
            f"price book {name!r} already exists; change its prices with "
            f"`mint prices set {name} MODEL --input USD --output USD`"
        )
        try:
            return self._create_book(scope, name, exists)
        except IntegrityError:  # the unique index settles two creations racing past the check
            raise exists from None

    def _create_book(self, scope: Scope, name: str, exists: CommerceError) -> PriceBookRef:
        with self.store.session() as s:
            if _book_id(s, scope.channel_id, name) is not None:
                raise exists
            book = PriceBook(name=name, channel_id=scope.channel_id, created_at=self.clock())
            s.add(book)
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="price_book.create",
                target=f"price_book:{name}",
                before=None,
                after=snapshot(book),
                at=self.clock(),
                channel_id=scope.channel_id,
            )
            return PriceBookRef(book.id, book.name, book.channel_id, utc(book.created_at))

    def ensure_book(self, scope: Scope, name: str) -> PriceBookRef:
        try:
            return self.get_book(scope, name)
        except NotFound:
            return self.create_book(scope, name)

    def get_book(self, scope: Scope, name: str) -> PriceBookRef:
        with self.store.session() as s:
            b = self._get(s, scope, name)
            return PriceBookRef(b.id, b.name, b.channel_id, utc(b.created_at))

    def list_books(self, scope: Scope) -> list[PriceBookRef]:
        with self.store.session() as s:
            # the platform's books first on every database (NULL sorts differently)
            q = select(PriceBook).order_by(
                PriceBook.channel_id.is_not(None), PriceBook.channel_id, PriceBook.name
            )
            if scope.channel_id is not None:
                q = q.where(PriceBook.channel_id == scope.channel_id)
            counts: dict[int, int] = {
                book_id: n
                for book_id, n in s.execute(
                    select(Price.price_book_id, func.count()).group_by(Price.price_book_id)
                )
            }
            return [
                PriceBookRef(b.id, b.name, b.channel_id, utc(b.created_at), counts.get(b.id, 0))
                for b in s.scalars(q)
            ]

    def set_price(
        self, scope: Scope, book: str, model: str, input_per_mtok: int, output_per_mtok: int
    ) -> PriceRow:
        """Sets (or changes) one model's price in a book, in micro-units per million tokens.
        Requests already settled keep the price they were billed at."""
        if input_per_mtok < 0 or output_per_mtok < 0:
            raise CommerceError("prices cannot be negative")
        name, _, version = model.partition(":")
        if not NAME_RE.match(name) or (version and not version.isdigit()):
            raise CommerceError(f"invalid model {model!r}: use NAME or NAME:VERSION")
        now = self.clock()
        with self.store.session() as s:
            b = self._get(s, scope, book)
            row = s.scalar(select(Price).where(Price.price_book_id == b.id, Price.model == model))
            before = snapshot(row) if row is not None else None
            if row is None:
                row = Price(price_book_id=b.id, model=model)
                s.add(row)
            row.input_micros_per_mtok = input_per_mtok
            row.output_micros_per_mtok = output_per_mtok
            row.updated_at = now
            s.flush()
            write_audit(
                s,
                actor=scope.actor,
                action="price.set",
                target=f"price_book:{book}/{model}",
                before=before,
                after=snapshot(row),
                at=now,
                channel_id=scope.channel_id,
            )
            return PriceRow(model, input_per_mtok, output_per_mtok, now)

    def prices(self, scope: Scope, book: str) -> list[PriceRow]:
        with self.store.session() as s:
            b = self._get(s, scope, book)
            return [
                PriceRow(
                    p.model, p.input_micros_per_mtok, p.output_micros_per_mtok, utc(p.updated_at)
                )
                for p in s.scalars(
                    select(Price).where(Price.price_book_id == b.id).order_by(Price.model)
                )
            ]
