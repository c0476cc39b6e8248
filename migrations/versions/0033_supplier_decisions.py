"""Supplier decisions: a quality manager's approval decision with the scorecard it was taken on

Revision ID: 0033
Revises: 0032
Create Date: 2026-12-04 20:06:00

Suppliers evaluated before have no decision recorded: their approval changes stay in their history as before.
The score is stored as whole hundredths (``capa.common.types.Hundredths``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0033"
down_revision = "0032"
branch_labels = None
depends_on = None

APPROVALS = "('approved', 'conditional', 'suspended', 'disqualified')"


def upgrade():
    op.create_table(
        "supplier_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("supplier_id", sa.Integer(), nullable=False),
        sa.Column("previous_approval", sa.String(length=16), nullable=False),
        sa.Column("approval", sa.String(length=16), nullable=False),
        sa.Column("approved_kinds", sa.JSON(), server_default=sa.text("'[]'"), nullable=False),
        sa.Column("reevaluate_on", sa.Date(), nullable=True),
        sa.Column("score", sa.BigInteger(), nullable=True),
        sa.Column("grade", sa.String(length=8), nullable=True),
        sa.Column("suggested_approval", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("decided_by_id", sa.Integer(), nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(f"approval IN {APPROVALS}", name=op.f("ck_supplier_decisions_approval_known")),
        sa.CheckConstraint(
            f"previous_approval IN {APPROVALS}", name=op.f("ck_supplier_decisions_previous_approval_known")
        ),
        sa.ForeignKeyConstraint(
            ["decided_by_id"], ["users.id"], name=op.f("fk_supplier_decisions_decided_by_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"], ["suppliers.id"], name=op.f("fk_supplier_decisions_supplier_id_suppliers")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_supplier_decisions")),
    )
    with op.batch_alter_table("supplier_decisions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_supplier_decisions_supplier_id"), ["supplier_id"], unique=False)


def downgrade():
    with op.batch_alter_table("supplier_decisions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_supplier_decisions_supplier_id"))
    op.drop_table("supplier_decisions")
