"""Final inspections of batches by ISO 2859-1 sampling, with the defects found by code

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-04 01:40:00

An inspection keeps the plan it was inspected by as it was read (code letter, each class's AQL, sample size,
Ac and Re), what was found per class and by defect code (with the class the code had then), its verdict, and
the NC a rejected inspection raised (``capa.inspections.final``).
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inspections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=12), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=False),
        sa.Column("lot_size", sa.Integer(), nullable=False),
        sa.Column("level", sa.String(length=4), nullable=False),
        sa.Column("severity", sa.String(length=10), nullable=False),
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
        sa.Column("reinspection_of_id", sa.Integer(), nullable=True),
        sa.CheckConstraint("kind IN ('final')", name=op.f("ck_inspections_kind_known")),
        sa.CheckConstraint(
            "severity IN ('normal', 'tightened', 'reduced')", name=op.f("ck_inspections_severity_known")
        ),
        sa.CheckConstraint("verdict IN ('accepted', 'rejected')", name=op.f("ck_inspections_verdict_known")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_inspections_batch_id_batches")),
        sa.ForeignKeyConstraint(["inspector_id"], ["users.id"], name=op.f("fk_inspections_inspector_id_users")),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_inspections_nc_id_nonconformances")),
        sa.ForeignKeyConstraint(
            ["reinspection_of_id"], ["inspections.id"], name=op.f("fk_inspections_reinspection_of_id_inspections")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspections")),
    )
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.create_index("ix_inspections_batch_id_inspected_at", ["batch_id", "inspected_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_inspections_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "inspection_defects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("inspection_id", sa.Integer(), nullable=False),
        sa.Column("defect_code_id", sa.Integer(), nullable=False),
        sa.Column("defect_class", sa.String(length=10), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_inspection_defects_count_positive")),
        sa.CheckConstraint(
            "defect_class IN ('critical', 'major', 'minor')", name=op.f("ck_inspection_defects_defect_class_known")
        ),
        sa.ForeignKeyConstraint(
            ["defect_code_id"], ["defect_codes.id"], name=op.f("fk_inspection_defects_defect_code_id_defect_codes")
        ),
        sa.ForeignKeyConstraint(
            ["inspection_id"],
            ["inspections.id"],
            name=op.f("fk_inspection_defects_inspection_id_inspections"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inspection_defects")),
    )
    with op.batch_alter_table("inspection_defects", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inspection_defects_inspection_id"), ["inspection_id"], unique=False)


def downgrade():
    with op.batch_alter_table("inspection_defects", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspection_defects_inspection_id"))

    op.drop_table("inspection_defects")
    with op.batch_alter_table("inspections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_inspections_nc_id"))
        batch_op.drop_index("ix_inspections_batch_id_inspected_at")

    op.drop_table("inspections")
