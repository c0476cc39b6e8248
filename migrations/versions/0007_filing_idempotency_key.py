"""the idempotency key of a filing: a resent filing files one NC

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-08 09:00:00

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("nonconformances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("filing_key", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("filing_fingerprint", sa.String(length=64), nullable=True))
        # One NC per reporter and key; NCs filed without a key (NULL) never collide.
        batch_op.create_unique_constraint(
            batch_op.f("uq_nonconformances_reported_by_id"), ["reported_by_id", "filing_key"]
        )


def downgrade():
    with op.batch_alter_table("nonconformances", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_nonconformances_reported_by_id"), type_="unique")
        batch_op.drop_column("filing_fingerprint")
        batch_op.drop_column("filing_key")
