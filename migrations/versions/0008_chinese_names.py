"""Chinese names of safety parameters and defect types

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 22:40:00

The names themselves come from the shipped catalog and the seeded defect types: ``init-db`` fills in every
empty one it knows, so a database migrated here gets them at its next ``init-db``.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("safety_parameters", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_zh", sa.String(length=200), nullable=False, server_default=""))
    with op.batch_alter_table("defect_types", schema=None) as batch_op:
        batch_op.add_column(sa.Column("name_zh", sa.String(length=120), nullable=False, server_default=""))


def downgrade():
    with op.batch_alter_table("defect_types", schema=None) as batch_op:
        batch_op.drop_column("name_zh")
    with op.batch_alter_table("safety_parameters", schema=None) as batch_op:
        batch_op.drop_column("name_zh")
