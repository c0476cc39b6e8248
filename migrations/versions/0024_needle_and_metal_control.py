"""Needle and metal control: the needle log of each line, metal detectors' checks with their test piece, and the
garments that set a detector off

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-04 10:50:00

A missing needle fragment or a detection raises a critical safety NC (``capa.inspections.needles``); each record
counts in the shift of ``CAPA_SHIFTS`` it was made in.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "detector_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(length=40), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("test_piece", sa.String(length=60), nullable=False),
        sa.Column("detected", sa.Boolean(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("checked_by_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(["checked_by_id"], ["users.id"], name=op.f("fk_detector_checks_checked_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_detector_checks")),
    )
    with op.batch_alter_table("detector_checks", schema=None) as batch_op:
        batch_op.create_index("ix_detector_checks_detector_checked_at", ["detector", "checked_at"], unique=False)

    op.create_table(
        "metal_detections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("detector", sa.String(length=40), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("bundle", sa.String(length=40), nullable=False),
        sa.Column("garments", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("garments > 0", name=op.f("ck_metal_detections_garments_positive")),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_metal_detections_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_metal_detections_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_metal_detections_nc_id_nonconformances")
        ),
        sa.ForeignKeyConstraint(
            ["recorded_by_id"], ["users.id"], name=op.f("fk_metal_detections_recorded_by_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_metal_detections")),
    )
    with op.batch_alter_table("metal_detections", schema=None) as batch_op:
        batch_op.create_index("ix_metal_detections_detected_at", ["detected_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_metal_detections_nc_id"), ["nc_id"], unique=False)

    op.create_table(
        "needle_breaks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("broken_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("operator", sa.String(length=80), nullable=False),
        sa.Column("machine", sa.String(length=40), nullable=False),
        sa.Column("all_fragments_found", sa.Boolean(), nullable=False),
        sa.Column("bundle", sa.String(length=40), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["batch_id"], ["batches.id"], name=op.f("fk_needle_breaks_batch_id_batches")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_needle_breaks_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(["nc_id"], ["nonconformances.id"], name=op.f("fk_needle_breaks_nc_id_nonconformances")),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_needle_breaks_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_needle_breaks")),
    )
    with op.batch_alter_table("needle_breaks", schema=None) as batch_op:
        batch_op.create_index("ix_needle_breaks_line_id_broken_at", ["line_id", "broken_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_needle_breaks_nc_id"), ["nc_id"], unique=False)


def downgrade():
    with op.batch_alter_table("needle_breaks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_needle_breaks_nc_id"))
        batch_op.drop_index("ix_needle_breaks_line_id_broken_at")

    op.drop_table("needle_breaks")
    with op.batch_alter_table("metal_detections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_metal_detections_nc_id"))
        batch_op.drop_index("ix_metal_detections_detected_at")

    op.drop_table("metal_detections")
    with op.batch_alter_table("detector_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_detector_checks_detector_checked_at")

    op.drop_table("detector_checks")
