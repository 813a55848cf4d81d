"""web sessions signed out before they expired (console, annotator page)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-06 11:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "revoked_web_sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.String(length=64), nullable=False),
        sa.Column("page", sa.String(length=50), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_revoked_web_sessions")),
        sa.UniqueConstraint("session_id", name=op.f("uq_revoked_web_sessions_session_id")),
    )
    with op.batch_alter_table("revoked_web_sessions", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_revoked_web_sessions_expires_at"), ["expires_at"], unique=False
        )


def downgrade() -> None:
    op.drop_table("revoked_web_sessions")
