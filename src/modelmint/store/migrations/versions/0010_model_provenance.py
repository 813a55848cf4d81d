"""model versions' provenance: where a version imported from outside came from (source path,
format, weight hashes, license, architecture, context length, chat template, end tokens,
dtype), so that what is served can be traced back to the files it was made of

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # versions trained here have none: their run and its dataset are their provenance
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("provenance", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_column("provenance")
