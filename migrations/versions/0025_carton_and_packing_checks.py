"""Carton and packing checks of final inspections: the cartons offered and opened, and the checks that failed

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-04 11:40:00

Any failed packing check rejects the lot (``capa.inspections.verdict``); inspections recorded before have none.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("inspections", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("cartons_offered", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("cartons_opened", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("packing_failed", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))


def downgrade():
    with op.batch_alter_table("inspections", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_column("packing_failed")
        batch_op.drop_column("cartons_opened")
        batch_op.drop_column("cartons_offered")
