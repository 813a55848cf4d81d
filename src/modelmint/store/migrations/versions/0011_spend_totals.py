"""spend totals: each tenant's and key's settled spend per UTC day, calendar month and in
total, kept beside the usage ledger so a budget reads one row instead of summing a period's
events; filled from the ledger as it stands

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 03:30:00
"""

from collections import defaultdict
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _starts(at: datetime) -> dict[str, datetime]:
    at = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    return {"day": day, "month": day.replace(day=1), "total": EPOCH}


def upgrade() -> None:
    totals = op.create_table(
        "spend_totals",
        sa.Column("tenant_id", sa.Integer(), nullable=False),
        sa.Column("api_key_id", sa.Integer(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("period_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("retail_micros", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["tenant_id"], ["tenants.id"], name=op.f("fk_spend_totals_tenant_id_tenants")
        ),
        sa.PrimaryKeyConstraint(
            "tenant_id", "api_key_id", "period", "period_start", name=op.f("pk_spend_totals")
        ),
    )
    # The same rows `add_spend` would have kept, derived from the ledger (streamed).
    events = sa.table(
        "usage_events",
        sa.column("tenant_id", sa.Integer()),
        sa.column("api_key_id", sa.Integer()),
        sa.column("created_at", sa.DateTime(timezone=True)),
        sa.column("retail_micros", sa.BigInteger()),
    )
    sums: dict[tuple[int, int, str, datetime], int] = defaultdict(int)
    rows = op.get_bind().execute(
        sa.select(events.c.tenant_id, events.c.api_key_id, events.c.created_at,
                  events.c.retail_micros)
        .where(events.c.retail_micros != 0)
        .execution_options(yield_per=10_000)
    )  # fmt: skip
    for tenant_id, api_key_id, at, amount in rows:
        for period, start in _starts(at).items():
            for key in (0, api_key_id):
                sums[(tenant_id, key, period, start)] += amount
    if sums:
        op.bulk_insert(
            totals,
            [
                {
                    "tenant_id": t,
                    "api_key_id": k,
                    "period": p,
                    "period_start": s,
                    "retail_micros": v,
                }
                for (t, k, p, s), v in sums.items()
            ],
        )


def downgrade() -> None:
    op.drop_table("spend_totals")
