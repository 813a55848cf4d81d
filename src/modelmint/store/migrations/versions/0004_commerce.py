"""commerce: channels, admin keys, price books, wallets, budgets, reservations, invoices,
credit notes, the audit log; tenants, keys and usage events gain their commerce columns
(existing rows: postpaid tenants, keys for every model, usage priced at zero)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 22:35:31.622258
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("price_book_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channels")),
        sa.UniqueConstraint("name", name=op.f("uq_channels_name")),
    )
    op.create_table(
        "gateway_instances",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_gateway_instances")),
    )
    op.create_table(
        "admin_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("secret_hash", sa.String(length=64), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_admin_keys_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_admin_keys")),
        sa.UniqueConstraint("prefix", name=op.f("uq_admin_keys_prefix")),
    )
    with op.batch_alter_table("admin_keys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_admin_keys_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("action", sa.String(length=100), nullable=False),
        sa.Column("target", sa.String(length=200), nullable=False),
        sa.Column("before", sa.JSON(), nullable=True),
        sa.Column("after", sa.JSON(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_audit_log_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "price_books",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_price_books_channel_id_channels")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_price_books")),
        sa.UniqueConstraint("channel_id", "name", name="uq_price_books_channel_name"),
    )
    with op.batch_alter_table("price_books", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_price_books_channel_id"), ["channel_id"], unique=False)

    op.create_table(
        "prices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("price_book_id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("input_micros_per_mtok", sa.BigInteger(), nullable=False),
        sa.Column("output_micros_per_mtok", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["price_book_id"], ["price_books.id"], name=op.f("fk_prices_price_book_id_price_books")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_prices")),
        sa.UniqueConstraint("price_book_id", "model", name="uq_prices_book_model"),
    )
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_prices_price_book_id"), ["price_book_id"], unique=False
        )

    op.create_table(
        "credit_notes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_credit_notes_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_credit_notes_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_credit_notes")),
        sa.UniqueConstraint("number", name=op.f("uq_credit_notes_number")),
    )
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_notes_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_credit_notes_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "invoices",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("number", sa.String(length=100), nullable=False),
        sa.Column("period", sa.String(length=7), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=True),
        sa.Column("channel_id", sa.Integer(), nullable=True),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("subtotal_micros", sa.BigInteger(), nullable=False),
        sa.Column("credits_micros", sa.BigInteger(), nullable=False),
        sa.Column("total_micros", sa.BigInteger(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("generated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["channel_id"], ["channels.id"], name=op.f("fk_invoices_channel_id_channels")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_invoices_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_invoices")),
        sa.UniqueConstraint("number", name="uq_invoices_number"),
    )
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_invoices_channel_id"), ["channel_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_invoices_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "wallet_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("actor", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_wallet_entries_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_wallet_entries")),
    )
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_wallet_entries_tenant_id"), ["tenant_id"], unique=False
        )

    op.create_table(
        "budgets",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=True),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=20), nullable=False),
        sa.Column("hard", sa.Boolean(), nullable=False),
        sa.Column("alert_percent", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_budgets_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_budgets_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
    )
    with op.batch_alter_table("budgets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budgets_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "reservations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("amount_micros", sa.BigInteger(), nullable=False),
        sa.Column("instance_id", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["api_key_id"], ["api_keys.id"], name=op.f("fk_reservations_api_key_id_api_keys")
        ),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_reservations_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reservations")),
        sa.UniqueConstraint("request_id", name=op.f("uq_reservations_request_id")),
    )
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_reservations_instance_id"), ["instance_id"], unique=False
        )
        batch_op.create_index(batch_op.f("ix_reservations_tenant_id"), ["tenant_id"], unique=False)

    op.create_table(
        "budget_alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("budget_id", sa.Integer(), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("percent", sa.Integer(), nullable=False),
        sa.Column("spent_micros", sa.BigInteger(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"], ["budgets.id"], name=op.f("fk_budget_alerts_budget_id_budgets")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budget_alerts")),
        sa.UniqueConstraint("budget_id", "period_start", "percent", name="uq_budget_alerts_once"),
    )
    with op.batch_alter_table("budget_alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_budget_alerts_budget_id"), ["budget_id"], unique=False)

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("allowed_models", sa.JSON(), nullable=False, server_default="[]")
        )
        batch_op.add_column(sa.Column("rpm_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tpm_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("rotated_from_id", sa.Integer(), nullable=True))

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("price_book_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("billing", sa.String(length=20), nullable=False, server_default="postpaid")
        )
        batch_op.add_column(sa.Column("rpm_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("tpm_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("suspended_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(batch_op.f("ix_tenants_channel_id"), ["channel_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_tenants_price_book_id_price_books"),
            "price_books",
            ["price_book_id"],
            ["id"],
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_tenants_channel_id_channels"), "channels", ["channel_id"], ["id"]
        )

    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.add_column(sa.Column("channel_id", sa.Integer(), nullable=True))
        batch_op.add_column(
            sa.Column("input_price_micros", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("output_price_micros", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("retail_micros", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("wholesale_micros", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.create_index(
            batch_op.f("ix_usage_events_channel_id"), ["channel_id"], unique=False
        )
        batch_op.create_index(
            "ix_usage_events_tenant_created", ["tenant_id", "created_at"], unique=False
        )
        batch_op.create_foreign_key(
            batch_op.f("fk_usage_events_channel_id_channels"), "channels", ["channel_id"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_usage_events_channel_id_channels"), type_="foreignkey"
        )
        batch_op.drop_index("ix_usage_events_tenant_created")
        batch_op.drop_index(batch_op.f("ix_usage_events_channel_id"))
        batch_op.drop_column("wholesale_micros")
        batch_op.drop_column("retail_micros")
        batch_op.drop_column("output_price_micros")
        batch_op.drop_column("input_price_micros")
        batch_op.drop_column("channel_id")

    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tenants_channel_id_channels"), type_="foreignkey")
        batch_op.drop_constraint(
            batch_op.f("fk_tenants_price_book_id_price_books"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_tenants_channel_id"))
        batch_op.drop_column("suspended_at")
        batch_op.drop_column("tpm_limit")
        batch_op.drop_column("rpm_limit")
        batch_op.drop_column("billing")
        batch_op.drop_column("price_book_id")
        batch_op.drop_column("channel_id")

    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_column("rotated_from_id")
        batch_op.drop_column("tpm_limit")
        batch_op.drop_column("rpm_limit")
        batch_op.drop_column("allowed_models")
        batch_op.drop_column("expires_at")

    with op.batch_alter_table("budget_alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budget_alerts_budget_id"))

    op.drop_table("budget_alerts")
    with op.batch_alter_table("reservations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_reservations_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_reservations_instance_id"))

    op.drop_table("reservations")
    with op.batch_alter_table("budgets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_budgets_tenant_id"))

    op.drop_table("budgets")
    with op.batch_alter_table("wallet_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_wallet_entries_tenant_id"))

    op.drop_table("wallet_entries")
    with op.batch_alter_table("invoices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_invoices_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_invoices_channel_id"))

    op.drop_table("invoices")
    with op.batch_alter_table("credit_notes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_notes_tenant_id"))
        batch_op.drop_index(batch_op.f("ix_credit_notes_channel_id"))

    op.drop_table("credit_notes")
    with op.batch_alter_table("prices", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_prices_price_book_id"))

    op.drop_table("prices")
    with op.batch_alter_table("price_books", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_price_books_channel_id"))

    op.drop_table("price_books")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_channel_id"))

    op.drop_table("audit_log")
    with op.batch_alter_table("admin_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_admin_keys_channel_id"))

    op.drop_table("admin_keys")
    op.drop_table("gateway_instances")
    op.drop_table("channels")
