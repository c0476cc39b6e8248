"""A supplier's approval limited to material kinds and to a re-evaluation date, disqualified suppliers, and the
concessions that let a lot of a supplier not approved for it into a CMIA batch

Revision ID: 0030
Revises: 0029
Create Date: 2026-12-04 18:20:00

Suppliers recorded before cover every kind (an empty list) and have no re-evaluation date: what they were
approved for stays as it was (``capa.masterdata.approval``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0030"
down_revision = "0029"
branch_labels = None
depends_on = None

APPROVALS = "approval IN ('approved', 'conditional', 'suspended', 'disqualified')"
APPROVALS_BEFORE = "approval IN ('approved', 'conditional', 'suspended')"


def upgrade():
    op.create_table(
        "lot_concessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("approval", sa.String(length=200), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("granted_by_id", sa.Integer(), nullable=True),
        sa.Column("granted_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["batches.id"], name=op.f("fk_lot_concessions_batch_id_batches"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["granted_by_id"], ["users.id"], name=op.f("fk_lot_concessions_granted_by_id_users")),
        sa.ForeignKeyConstraint(["lot_id"], ["material_lots.id"], name=op.f("fk_lot_concessions_lot_id_material_lots")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lot_concessions")),
        sa.UniqueConstraint("batch_id", "lot_id", name=op.f("uq_lot_concessions_batch_id")),
    )
    with op.batch_alter_table("lot_concessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_lot_concessions_lot_id"), ["lot_id"], unique=False)

    with op.batch_alter_table("suppliers", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.add_column(sa.Column("approved_kinds", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
        batch_op.add_column(sa.Column("reevaluate_on", sa.Date(), nullable=True))
        batch_op.drop_constraint(batch_op.f("ck_suppliers_approval_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_suppliers_approval_known"), sa.text(APPROVALS))


def downgrade():
    # A disqualified supplier becomes suspended: neither may supply without a concession.
    op.execute("UPDATE suppliers SET approval = 'suspended' WHERE approval = 'disqualified'")
    with op.batch_alter_table("suppliers", schema=None, reflect_kwargs={"resolve_fks": False}) as batch_op:
        batch_op.drop_constraint(batch_op.f("ck_suppliers_approval_known"), type_="check")
        batch_op.create_check_constraint(batch_op.f("ck_suppliers_approval_known"), sa.text(APPROVALS_BEFORE))
        batch_op.drop_column("reevaluate_on")
        batch_op.drop_column("approved_kinds")

    with op.batch_alter_table("lot_concessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lot_concessions_lot_id"))

    op.drop_table("lot_concessions")
