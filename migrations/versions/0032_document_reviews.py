"""A document's last periodic review that confirmed its current revision unchanged

Revision ID: 0032
Revises: 0031
Create Date: 2026-12-04 18:45:00

Documents registered before have had no such review: their next review counts from their current revision's
effective date, as before (``capa.documents.service``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0032"
down_revision = "0031"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_on", sa.Date(), nullable=True))


def downgrade():
    with op.batch_alter_table("documents", schema=None) as batch_op:
        batch_op.drop_column("reviewed_on")
