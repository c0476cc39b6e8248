"""Incoming inspections by attributes of material lots counted in pieces (trims, labels, thread, packaging)

Revision ID: 0038
Revises: 0037
Create Date: 2026-12-04 22:39:58

Each class's ISO 2859-1 plan is stored as it was read (code letter, sample size, Ac and Re), with the defects found
and the verdict, and the NC a rejected lot raised; the AQLs are kept to the standard's series as the final
inspections' are.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0038"
down_revision = "0037"
branch_labels = None
depends_on = None

#: The AQLs of ISO 2859-1, as the standard writes them (capa.inspections.sampling.AQL_SERIES).
SERIES = (
    "'0.010', '0.015', '0.025', '0.040', '0.065', '0.10', '0.15', '0.25', '0.40', '0.65', '1.0', '1.5', '2.5', "
    "'4.0', '6.5', '10', '15', '25', '40', '65', '100', '150', '250', '400', '650', '1000'"
)


def upgrade():
    op.create_table(
        "incoming_inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("lot_id", sa.Integer(), nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=False),
        sa.Column("code_letter", sa.String(length=1), nullable=False),
        sa.Column("aql_major", sa.String(length=6), nullable=False),
        sa.Column("aql_minor", sa.String(length=6), nullable=False),
        sa.Column("major_sample", sa.Integer(), nullable=False),
        sa.Column("major_accept", sa.Integer(), nullable=False),
        sa.Column("major_reject", sa.Integer(), nullable=False),
        sa.Column("minor_sample", sa.Integer(), nullable=False),
        sa.Column("minor_accept", sa.Integer(), nullable=False),
        sa.Column("minor_reject", sa.Integer(), nullable=False),
        sa.Column("units_inspected", sa.Integer(), nullable=False),
        sa.Column("critical_found", sa.Integer(), nullable=False),
        sa.Column("major_found", sa.Integer(), nullable=False),
        sa.Column("minor_found", sa.Integer(), nullable=False),
        sa.Column("verdict", sa.String(length=10), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("inspector_id", sa.Integer(), nullable=False),
        sa.Column("inspected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(
            f"aql_major IN ({SERIES})",
            name=op.f("ck_incoming_inspections_aql_major_known"),
        ),
        sa.CheckConstraint(
            f"aql_minor IN ({SERIES})",
            name=op.f("ck_incoming_inspections_aql_minor_known"),
        ),
        sa.CheckConstraint("verdict IN ('accepted', 'rejected')", name=op.f("ck_incoming_inspections_verdict_known")),
        sa.ForeignKeyConstraint(
            ["inspector_id"], ["users.id"], name=op.f("fk_incoming_inspections_inspector_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["lot_id"], ["material_lots.id"], name=op.f("fk_incoming_inspections_lot_id_material_lots")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_incoming_inspections_nc_id_nonconformances")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incoming_inspections")),
    )
    with op.batch_alter_table("incoming_inspections", schema=None) as batch_op:
        batch_op.create_index("ix_incoming_inspections_lot_id_inspected_at", ["lot_id", "inspected_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_incoming_inspections_nc_id"), ["nc_id"], unique=False)


def downgrade():
    with op.batch_alter_table("incoming_inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_incoming_inspections_nc_id"))
        batch_op.drop_index("ix_incoming_inspections_lot_id_inspected_at")

    op.drop_table("incoming_inspections")
