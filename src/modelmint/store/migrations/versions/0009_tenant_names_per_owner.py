"""tenant names unique per owner (the platform, or one channel) instead of platform-wide,
so creating a tenant tells a channel nothing about other channels' tenants

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 11:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

DIRECT_ONLY = sa.text("channel_id IS NULL")


def upgrade() -> None:
    # names were unique platform-wide until now: the new constraints hold for every row
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tenants_name", type_="unique")
        batch_op.create_unique_constraint("uq_tenants_channel_name", ["channel_id", "name"])
    op.create_index(
        "uq_tenants_direct_name",
        "tenants",
        ["name"],
        unique=True,
        sqlite_where=DIRECT_ONLY,
        postgresql_where=DIRECT_ONLY,
    )


def downgrade() -> None:
    # fails, as it must, once two owners have a tenant of the same name
    op.drop_index("uq_tenants_direct_name", table_name="tenants")
    with op.batch_alter_table("tenants", schema=None) as batch_op:
        batch_op.drop_constraint("uq_tenants_channel_name", type_="unique")
        batch_op.create_unique_constraint("uq_tenants_name", ["name"])
