"""A supplier's approval limited to safety parameters: the codes it covers, on the supplier and on each decision

Revision ID: 0037
Revises: 0036
Create Date: 2026-12-04 22:40:00

Suppliers and decisions recorded before keep an empty list: their approval covers every parameter, as it did.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0037"
down_revision = "0036"
branch_labels = None
depends_on = None


def upgrade():
    for table in ("suppliers", "supplier_decisions"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(
                sa.Column("approved_parameters", sa.JSON(), server_default=sa.text("'[]'"), nullable=False)
            )


def downgrade():
    for table in ("supplier_decisions", "suppliers"):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column("approved_parameters")
