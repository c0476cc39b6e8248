"""A supplier corrective action request's containment reminded of apart from its answer

Revision ID: 0039
Revises: 0038
Create Date: 2026-12-04 23:10:00

Requests sent before have no containment reminder claimed: one still awaiting its first answer, with its
containment due within the reminder's days or past, is reminded of it at the next daily run.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0039"
down_revision = "0038"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("scar_requests", schema=None) as batch_op:
        for column in ("containment_reminded_before_at", "containment_reminded_late_at"):
            batch_op.add_column(sa.Column(column, sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("scar_requests", schema=None) as batch_op:
        batch_op.drop_column("containment_reminded_late_at")
        batch_op.drop_column("containment_reminded_before_at")
