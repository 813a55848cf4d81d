"""running wallet balances (one row per tenant and one per live credit, kept by every usage
event and wallet entry); platform price-book names unique (a platform book duplicated
before this is renamed ``<name>-duplicate-<id>``, the oldest keeping the name)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 11:10:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

PLATFORM_ONLY = sa.text("channel_id IS NULL")


def _rename_duplicate_platform_books() -> None:
    """Two platform books could share a name (NULL channel ids never collide in a unique
    constraint); the unique index cannot be built over them. Tenants and channels point at
    books by id, so renaming the younger ones changes no price anyone pays; lookups by
    name then find the oldest, as ``ORDER BY id`` would."""
    books = sa.table("price_books", sa.column("id"), sa.column("name"), sa.column("channel_id"))
    conn = op.get_bind()
    seen: set[str] = set()
    rows = conn.execute(
        sa.select(books.c.id, books.c.name)
        .where(books.c.channel_id.is_(None))
        .order_by(books.c.name, books.c.id)
    )
    for book_id, name in list(rows):
        if name in seen:
            conn.execute(
                sa.update(books)
                .where(books.c.id == book_id)
                .values(name=f"{name}-duplicate-{book_id}")
            )
        seen.add(name)


def upgrade() -> None:
    op.create_table(
        "wallet_running_balances",
        sa.Column("tenant_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("paid_micros", sa.BigInteger(), nullable=False),
        sa.Column("used_micros", sa.BigInteger(), nullable=False),
        sa.Column("as_of", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_wallet_running_balances_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("tenant_id", name=op.f("pk_wallet_running_balances")),
    )
    op.create_table(
        "wallet_credit_lots",
        sa.Column("entry_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("remaining_micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["entry_id"],
            ["wallet_entries.id"],
            name=op.f("fk_wallet_credit_lots_entry_id_wallet_entries"),
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_wallet_credit_lots_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("entry_id", name=op.f("pk_wallet_credit_lots")),
    )
    op.create_index(
        "ix_wallet_credit_lots_tenant_expires",
        "wallet_credit_lots",
        ["tenant_id", "expires_at"],
        unique=False,
    )
    op.create_index(
        "ix_wallet_entries_tenant_created", "wallet_entries", ["tenant_id", "created_at"]
    )
    op.create_index(
        "ix_wallet_entries_tenant_expires", "wallet_entries", ["tenant_id", "expires_at"]
    )
    _rename_duplicate_platform_books()
    op.create_index(
        "uq_price_books_platform_name",
        "price_books",
        ["name"],
        unique=True,
        sqlite_where=PLATFORM_ONLY,
        postgresql_where=PLATFORM_ONLY,
    )


def downgrade() -> None:
    op.drop_index("uq_price_books_platform_name", table_name="price_books")
    op.drop_index("ix_wallet_entries_tenant_expires", table_name="wallet_entries")
    op.drop_index("ix_wallet_entries_tenant_created", table_name="wallet_entries")
    op.drop_index("ix_wallet_credit_lots_tenant_expires", table_name="wallet_credit_lots")
    op.drop_table("wallet_credit_lots")
    op.drop_table("wallet_running_balances")
