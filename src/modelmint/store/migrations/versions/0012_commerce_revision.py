"""commerce revision: one counter that database triggers bump on every change to the tables
a request's key check and quote read, so a gateway can keep what it derived from them until
any process changes one

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 03:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

WATCHED = ("tenants", "api_keys", "channels", "price_books", "prices", "budgets")
BUMP = "UPDATE commerce_revisions SET revision = revision + 1 WHERE id = 1"


def upgrade() -> None:
    revisions = op.create_table(
        "commerce_revisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("revision", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commerce_revisions")),
    )
    op.bulk_insert(revisions, [{"id": 1, "revision": 0}])
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION bump_commerce_revision() RETURNS trigger AS $$ "
            f"BEGIN {BUMP}; RETURN NULL; END $$ LANGUAGE plpgsql"
        )
        for table in WATCHED:
            op.execute(
                f"CREATE TRIGGER {table}_bump_revision AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH STATEMENT EXECUTE FUNCTION bump_commerce_revision()"
            )
        return
    for table in WATCHED:
        for event in ("INSERT", "UPDATE", "DELETE"):
            op.execute(
                f"CREATE TRIGGER {table}_bump_revision_{event.lower()} AFTER {event} "
                f"ON {table} BEGIN {BUMP}; END"
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for table in WATCHED:
            op.execute(f"DROP TRIGGER {table}_bump_revision ON {table}")
        op.execute("DROP FUNCTION bump_commerce_revision()")
    else:
        for table in WATCHED:
            for event in ("insert", "update", "delete"):
                op.execute(f"DROP TRIGGER {table}_bump_revision_{event}")
    op.drop_table("commerce_revisions")
