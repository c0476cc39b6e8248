"""The isolated bundle's pass through a metal detector, on the needle log

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-04 14:50:00

A broken needle whose fragment is missing isolates its bundle; the bundle's pass (the detector, clean or not,
when, by whom) is recorded later. Breaks logged before have none recorded.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("needle_breaks", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("bundle_detector", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("bundle_clean", sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column("bundle_checked_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("bundle_checked_by_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("bundle_note", sa.Text(), server_default="", nullable=False))
        batch_op.create_foreign_key(
            batch_op.f("fk_needle_breaks_bundle_checked_by_id_users"), "users", ["bundle_checked_by_id"], ["id"]
        )


def downgrade():
    with op.batch_alter_table("needle_breaks", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_needle_breaks_bundle_checked_by_id_users"), type_="foreignkey")
        batch_op.drop_column("bundle_note")
        batch_op.drop_column("bundle_checked_by_id")
        batch_op.drop_column("bundle_checked_at")
        batch_op.drop_column("bundle_clean")
        batch_op.drop_column("bundle_detector")
