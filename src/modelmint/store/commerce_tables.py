"""The commerce tables: who buys (channels, tenants), how they authenticate (API keys,
admin keys), what they pay (price books), what they may spend (wallets, budgets, open
reservations), what they used (the append-only usage ledger), what they were billed
(invoices, credit notes) and who changed what (the audit log).

Money is integer micro-units (1 USD = 1,000,000) in BigInteger columns; prices are
micro-units per million tokens."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from modelmint.store.tables import Base


def unique_name_per_owner(table: str, *, platform_index: str) -> tuple[UniqueConstraint, Index]:
    """``name`` unique among the rows one channel owns, and among the platform's own rows
    (channel_id NULL). SQL counts NULLs as distinct, so the constraint alone never stops two
    platform rows of one name; the partial unique index does."""
    platform_only = "channel_id IS NULL"
    return (
        UniqueConstraint("channel_id", "name", name=f"uq_{table}_channel_name"),
        Index(
            platform_index,
            "name",
            unique=True,
            sqlite_where=text(platform_only),
            postgresql_where=text(platform_only),
        ),
    )


class Channel(Base):
    """A partner that resells: it buys at its wholesale price book and owns tenants."""

    __tablename__ = "channels"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # the platform's price book this channel buys at (None: the platform's ``wholesale``
    # book); no foreign key, as price_books.channel_id points back here
    price_book_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]


class Tenant(Base):
    """A customer: owned by a channel, or by the platform directly (channel_id None).
    Names are unique per owner, so a channel cannot learn another's tenants by trying
    names (migration 0009)."""

    __tablename__ = "tenants"
    __table_args__ = unique_name_per_owner("tenants", platform_index="uq_tenants_direct_name")

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    # the retail price book (its plan tier): the platform's or its channel's own
    price_book_id: Mapped[int | None] = mapped_column(ForeignKey("price_books.id"))
    # "postpaid" (billed by invoice, limited only by budgets) or "prepaid" (wallet)
    billing: Mapped[str] = mapped_column(String(20), default="postpaid")
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    tpm_limit: Mapped[int | None] = mapped_column(Integer)
    suspended_at: Mapped[datetime | None]
    # keep every request's transcript (not only those that ask with ``store: true``)
    keep_transcripts: Mapped[bool] = mapped_column(Boolean, default=False)


class ApiKey(Base):
    """Only the visible prefix and a keyed hash of the secret are stored; the key itself is
    shown once at creation and never again."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]
    expires_at: Mapped[datetime | None]
    # model names (``demo``), labels (``demo:3``) or aliases the key may call; empty: all
    allowed_models: Mapped[list[str]] = mapped_column(JSON, default=list)
    rpm_limit: Mapped[int | None] = mapped_column(Integer)
    tpm_limit: Mapped[int | None] = mapped_column(Integer)
    # set on the new key by a rotation; the old key's expires_at is its grace end
    rotated_from_id: Mapped[int | None] = mapped_column(Integer)


class AdminKey(Base):
    """A key for ``/admin/v1`` and the console: the platform's (channel_id None) or a
    channel's, which sees only that channel's tenants. Stored like API keys."""

    __tablename__ = "admin_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    prefix: Mapped[str] = mapped_column(String(32), unique=True)
    secret_hash: Mapped[str] = mapped_column(String(64))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]


class PriceBook(Base):
    """A named list of prices (a plan tier such as ``standard`` or ``pro``), owned by the
    platform (channel_id None: its retail plans and the wholesale books channels buy at)
    or by a channel (that channel's retail plans for its own tenants)."""

    __tablename__ = "price_books"
    # the partial index over the platform's own books came with migration 0008
    __table_args__ = unique_name_per_owner(
        "price_books", platform_index="uq_price_books_platform_name"
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    created_at: Mapped[datetime]


class Price(Base):
    """The price of one model in one book. ``model`` is a model name (every version) or a
    label ``name:version`` (that version only; the more specific wins)."""

    __tablename__ = "prices"
    __table_args__ = (UniqueConstraint("price_book_id", "model", name="uq_prices_book_model"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    price_book_id: Mapped[int] = mapped_column(ForeignKey("price_books.id"), index=True)
    model: Mapped[str] = mapped_column(String(200))
    input_micros_per_mtok: Mapped[int] = mapped_column(BigInteger)
    output_micros_per_mtok: Mapped[int] = mapped_column(BigInteger)
    updated_at: Mapped[datetime]


class WalletEntry(Base):
    """Append-only money in or out of a prepaid tenant's wallet other than usage (usage is
    the ledger): ``topup``, ``credit`` (may expire), ``adjustment`` (signed)."""

    __tablename__ = "wallet_entries"
    __table_args__ = (
        # the running balance asks whether a credit began or ended between two instants
        Index("ix_wallet_entries_tenant_created", "tenant_id", "created_at"),
        Index("ix_wallet_entries_tenant_expires", "tenant_id", "expires_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    expires_at: Mapped[datetime | None]
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class WalletRunningBalance(Base):
    """A tenant's wallet balance kept up to date by every usage event and wallet entry, in
    their transaction, so admission reads one row instead of replaying the ledger. Derived
    state: ``commerce.wallet_balances`` re-derives it from the entries and the usage
    ledger (the source of truth) and reports any difference (``mint wallets verify``).
    ``as_of``: the latest instant applied (None: nothing yet)."""

    __tablename__ = "wallet_running_balances"

    tenant_id: Mapped[int] = mapped_column(
        ForeignKey("tenants.id"), primary_key=True, autoincrement=False
    )
    paid_micros: Mapped[int] = mapped_column(BigInteger)  # may be < 0
    used_micros: Mapped[int] = mapped_column(BigInteger)  # all retail usage applied
    as_of: Mapped[datetime | None]


class WalletCreditLot(Base):
    """What is left of one credit in a running balance; gone once spent or expired."""

    __tablename__ = "wallet_credit_lots"
    __table_args__ = (Index("ix_wallet_credit_lots_tenant_expires", "tenant_id", "expires_at"),)

    entry_id: Mapped[int] = mapped_column(
        ForeignKey("wallet_entries.id"), primary_key=True, autoincrement=False
    )
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"))
    expires_at: Mapped[datetime | None]
    remaining_micros: Mapped[int] = mapped_column(BigInteger)


class Budget(Base):
    """A spending cap on a tenant (api_key_id None) or on one of its keys, per ``period``
    (``day``, ``month`` or ``total``). Hard: requests that could pass it are refused.
    Soft: only alerts, at ``alert_percent`` and at 100%."""

    __tablename__ = "budgets"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[int | None] = mapped_column(ForeignKey("api_keys.id"))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    period: Mapped[str] = mapped_column(String(20))
    hard: Mapped[bool] = mapped_column(default=True)
    alert_percent: Mapped[int] = mapped_column(Integer, default=80)
    created_at: Mapped[datetime]
    deleted_at: Mapped[datetime | None]


class BudgetAlert(Base):
    """One alert per budget, period and threshold: raised once, however many requests
    cross it."""

    __tablename__ = "budget_alerts"
    __table_args__ = (
        UniqueConstraint("budget_id", "period_start", "percent", name="uq_budget_alerts_once"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    budget_id: Mapped[int] = mapped_column(ForeignKey("budgets.id"), index=True)
    period_start: Mapped[datetime]
    percent: Mapped[int] = mapped_column(Integer)
    spent_micros: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime]


class Reservation(Base):
    """The maximum cost of a request in flight, held from admission until it is settled
    (deleted in the same transaction that appends its usage event) or released. Rows left
    by a gateway instance that stopped heart-beating are released by the others."""

    __tablename__ = "reservations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    instance_id: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime]


class GatewayInstance(Base):
    """A running gateway process; ``heartbeat_at`` is refreshed every few seconds."""

    __tablename__ = "gateway_instances"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]


class UsageEvent(Base):
    """Append-only: one row per billed request, unique by request id so a replay is not
    billed twice. The prices and costs are fixed when the request is settled, so invoices
    are a sum over these rows and never change when a price book does."""

    __tablename__ = "usage_events"
    __table_args__ = (Index("ix_usage_events_tenant_created", "tenant_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[str] = mapped_column(String(100), unique=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), index=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_keys.id"))
    model_version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id"))
    endpoint: Mapped[str] = mapped_column(String(50))
    prompt_tokens: Mapped[int] = mapped_column(Integer)
    completion_tokens: Mapped[int] = mapped_column(Integer)
    latency_ms: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(30))
    created_at: Mapped[datetime]
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    # what the tenant pays (its retail book) and, for a channel's tenant, what the channel
    # pays the platform (its wholesale book); per million tokens and the request's total
    input_price_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    output_price_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    retail_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    wholesale_micros: Mapped[int] = mapped_column(BigInteger, default=0)


class SpendTotal(Base):
    """What the usage ledger adds up to, per tenant (``api_key_id`` 0) and per key, per UTC
    day, calendar month and in total: kept in the transaction that appends each usage
    event, so a budget check reads one row where it would sum a month of events."""

    __tablename__ = "spend_totals"

    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id"), primary_key=True)
    api_key_id: Mapped[int] = mapped_column(Integer, primary_key=True)  # 0: the whole tenant
    period: Mapped[str] = mapped_column(String(10), primary_key=True)
    period_start: Mapped[datetime] = mapped_column(primary_key=True)
    retail_micros: Mapped[int] = mapped_column(BigInteger, default=0)


class Invoice(Base):
    """A tenant's (retail) or a channel's (wholesale, with its margin) bill for a month.
    Regenerating a period rewrites identical rows and files; ``number`` is derived from
    the period and the account, never from a counter."""

    __tablename__ = "invoices"
    __table_args__ = (UniqueConstraint("number", name="uq_invoices_number"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(100))
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    subtotal_micros: Mapped[int] = mapped_column(BigInteger)
    credits_micros: Mapped[int] = mapped_column(BigInteger, default=0)
    total_micros: Mapped[int] = mapped_column(BigInteger)
    content_hash: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(Text)  # directory with the CSV and the HTML page
    generated_at: Mapped[datetime]


class CreditNote(Base):
    """An adjustment to a tenant's or channel's bill for a period (a positive amount is
    taken off); it appears on that period's invoice."""

    __tablename__ = "credit_notes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    number: Mapped[str] = mapped_column(String(100), unique=True)
    period: Mapped[str] = mapped_column(String(7))
    tenant_id: Mapped[int | None] = mapped_column(ForeignKey("tenants.id"), index=True)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    amount_micros: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime]


class AuditEntry(Base):
    """Append-only: every admin change, with who made it and the record before and after."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    actor: Mapped[str] = mapped_column(String(200))
    action: Mapped[str] = mapped_column(String(100))
    target: Mapped[str] = mapped_column(String(200))
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    channel_id: Mapped[int | None] = mapped_column(ForeignKey("channels.id"), index=True)
    created_at: Mapped[datetime]


class CommerceRevision(Base):
    """One row whose ``revision`` goes up with every change to the tables a request's key
    check and quote read (tenants, keys, channels, price books, prices, budgets): database
    triggers bump it, so a change made by any process, CLI or console, is seen. Gateways
    keep what they derived from those tables while the revision stands (`RevisionCache`)."""

    __tablename__ = "commerce_revisions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    revision: Mapped[int] = mapped_column(BigInteger, default=0)
