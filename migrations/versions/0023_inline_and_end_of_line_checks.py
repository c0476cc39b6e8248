"""Inline and end-of-line checks of lines (DHU), lines' own alert levels, and the NCs raised for shifts over them

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-04 10:16:41

A check counts units, defective units and defects by code on a line at a stage, placed in a shift of
``CAPA_SHIFTS`` (``capa.inspections.dhu``); a shift over the line's alert level may raise one NC per stage.
"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "line_alert_levels",
        sa.Column("line_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("alert_level", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("alert_level > 0", name=op.f("ck_line_alert_levels_alert_level_positive")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_line_alert_levels_line_id_production_lines")
        ),
        sa.PrimaryKeyConstraint("line_id", name=op.f("pk_line_alert_levels")),
    )
    op.create_table(
        "line_checks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("line_id", sa.Integer(), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("bundle", sa.String(length=40), nullable=False),
        sa.Column("operation", sa.String(length=80), nullable=False),
        sa.Column("units_checked", sa.Integer(), nullable=False),
        sa.Column("defective_units", sa.Integer(), nullable=False),
        sa.Column("defects", sa.Integer(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by_id", sa.Integer(), nullable=False),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("filing_key", sa.String(length=64), nullable=True),
        sa.Column("filing_fingerprint", sa.String(length=64), nullable=True),
        sa.CheckConstraint("stage IN ('inline', 'end_of_line')", name=op.f("ck_line_checks_stage_known")),
        sa.CheckConstraint(
            "defective_units BETWEEN 0 AND units_checked", name=op.f("ck_line_checks_defective_within_units")
        ),
        sa.CheckConstraint("defects >= defective_units", name=op.f("ck_line_checks_defects_cover_defective")),
        sa.CheckConstraint("units_checked > 0", name=op.f("ck_line_checks_units_checked_positive")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_line_checks_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(["recorded_by_id"], ["users.id"], name=op.f("fk_line_checks_recorded_by_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_checks")),
        sa.UniqueConstraint("recorded_by_id", "filing_key", name=op.f("uq_line_checks_recorded_by_id")),
    )
    with op.batch_alter_table("line_checks", schema=None) as batch_op:
        batch_op.create_index("ix_line_checks_checked_at", ["checked_at"], unique=False)
        batch_op.create_index("ix_line_checks_line_id_shift_day", ["line_id", "shift_day", "shift"], unique=False)

    op.create_table(
        "line_check_defects",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("check_id", sa.Integer(), nullable=False),
        sa.Column("defect_code_id", sa.Integer(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint("count > 0", name=op.f("ck_line_check_defects_count_positive")),
        sa.ForeignKeyConstraint(
            ["check_id"],
            ["line_checks.id"],
            name=op.f("fk_line_check_defects_check_id_line_checks"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["defect_code_id"], ["defect_codes.id"], name=op.f("fk_line_check_defects_defect_code_id_defect_codes")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_line_check_defects")),
        sa.UniqueConstraint("check_id", "defect_code_id", name=op.f("uq_line_check_defects_check_id")),
    )
    op.create_table(
        "shift_alert_ncs",
        sa.Column("line_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("shift_day", sa.Date(), nullable=False),
        sa.Column("shift", sa.String(length=20), nullable=False),
        sa.Column("stage", sa.String(length=12), nullable=False),
        sa.Column("nc_id", sa.Integer(), nullable=False),
        sa.CheckConstraint("stage IN ('inline', 'end_of_line')", name=op.f("ck_shift_alert_ncs_stage_known")),
        sa.ForeignKeyConstraint(
            ["line_id"], ["production_lines.id"], name=op.f("fk_shift_alert_ncs_line_id_production_lines")
        ),
        sa.ForeignKeyConstraint(
            ["nc_id"], ["nonconformances.id"], name=op.f("fk_shift_alert_ncs_nc_id_nonconformances")
        ),
        sa.PrimaryKeyConstraint("line_id", "shift_day", "shift", "stage", name=op.f("pk_shift_alert_ncs")),
        sa.UniqueConstraint("nc_id", name=op.f("uq_shift_alert_ncs_nc_id")),
    )


def downgrade():
    op.drop_table("shift_alert_ncs")
    op.drop_table("line_check_defects")
    with op.batch_alter_table("line_checks", schema=None) as batch_op:
        batch_op.drop_index("ix_line_checks_line_id_shift_day")
        batch_op.drop_index("ix_line_checks_checked_at")

    op.drop_table("line_checks")
    op.drop_table("line_alert_levels")
